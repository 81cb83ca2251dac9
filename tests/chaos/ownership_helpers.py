"""Helpers of the ownership chaos tests: the registry test helpers, and engines on a data dir."""

from __future__ import annotations

import sys
from pathlib import Path

_REGISTRY_TESTS = str(Path(__file__).resolve().parent.parent / "registry")
if _REGISTRY_TESTS not in sys.path:  # reuse make_env / small_model of the registry tests
    sys.path.append(_REGISTRY_TESTS)

from registry_helpers import Env, make_env, small_model  # noqa: E402

__all__ = ["Env", "make_env", "small_model"]


def engine_config(data_dir: Path, **values: object) -> object:
    """A small engine config for ownership tests (governance off, no drift schedules)."""
    from ordinis.engines.learning.core.config import LearningEngineConfig

    base: dict[str, object] = {
        "data_dir": data_dir,
        "enable_governance": False,
        "enable_drift_detection": False,
        "event_retention_days": 36500,
        "max_concurrent_jobs": 1,
    }
    base.update(values)
    return LearningEngineConfig.create(**base)


SLEEP_TRAINER = "ordinis.engines.learning.training.testing_trainers:SleepTrainer"
