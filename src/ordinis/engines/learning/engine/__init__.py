"""The engine layer: the LearningEngine facade, the wiring, and the services that cross parts.

Names load on first use (PEP 562), so a process that needs one engine module (the store-read
helper unpickling ``engine.forward_holdout``, the CLI's in-process reads through
``engine.reader``) does not import the facade and its parts.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ordinis.engines.learning.engine.facade import LearningEngine
    from ordinis.engines.learning.engine.reader import EngineReader

_LAZY: dict[str, str] = {
    "LearningEngine": "ordinis.engines.learning.engine.facade",
    "EngineReader": "ordinis.engines.learning.engine.reader",
}


def __getattr__(name: str) -> Any:
    """Load a public name on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["EngineReader", "LearningEngine"]
