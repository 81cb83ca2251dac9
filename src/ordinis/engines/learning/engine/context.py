"""EngineContext: the small set of shared things every part is built from (not the engine)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ordinis.engines.learning.core.clock import Clock, Scheduler
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.observability.metrics import LearningMetrics

# Starts a coroutine as a background task of the engine (None when handed over from a thread).
Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[Any] | None"]


@dataclass(frozen=True, slots=True)
class EngineContext:
    """Config, clock, metrics, scheduler, and how to run background work tied to the engine."""

    config: LearningEngineConfig
    clock: Clock
    metrics: LearningMetrics
    scheduler: Scheduler
    spawn: Spawn
    is_running: Callable[[], bool]
    # Raises unless this engine may write the registry (read-only openers and followers on a
    # shared store may not); the registry calls it before every write.
    registry_guard: Callable[[], None] = lambda: None
    # True while this engine may act on the loop (the SQLite owner, or the elected leader).
    leads: Callable[[], bool] = lambda: True
