"""The engine layer: the LearningEngine facade, the wiring, and the services that cross parts.

Names load on first use (PEP 562), so a process that needs one engine module (the store-read
helper unpickling ``engine.forward_holdout``, the CLI's in-process reads through
``engine.reader``) does not import the facade and its parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

if TYPE_CHECKING:
    from ordinis.engines.learning.engine.facade import LearningEngine
    from ordinis.engines.learning.engine.reader import EngineReader

_LAZY: dict[str, str] = {
    "LearningEngine": "ordinis.engines.learning.engine.facade",
    "EngineReader": "ordinis.engines.learning.engine.reader",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = ["EngineReader", "LearningEngine"]
