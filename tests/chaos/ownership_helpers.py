"""Helpers of the ownership chaos tests: the registry test helpers, and engines on a data dir."""

from __future__ import annotations

import sys
from pathlib import Path

_REGISTRY_TESTS = str(Path(__file__).resolve().parent.parent / "registry")
if _REGISTRY_TESTS not in sys.path:  # reuse make_env / small_model of the registry tests
    sys.path.append(_REGISTRY_TESTS)

from registry_helpers import Env, make_env, small_model  # noqa: E402

__all__ = ["Env", "make_env", "small_model"]
