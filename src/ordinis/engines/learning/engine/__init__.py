"""The engine layer: the LearningEngine facade, the wiring, and the services that cross parts.

``LearningEngine`` loads on first use, so a process that needs one engine module (the
store-read helper unpickling ``engine.forward_holdout``) does not import the whole engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ordinis.engines.learning.engine.facade import LearningEngine


def __getattr__(name: str) -> Any:
    if name != "LearningEngine":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = import_module("ordinis.engines.learning.engine.facade").LearningEngine
    globals()[name] = value
    return value


__all__ = ["LearningEngine"]
