"""What the FeedbackCollector needs from the event pipeline: write an event, query events.

The engine passes its ``EventPipeline``; any object with these two methods works.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ordinis.engines.learning.core.models import LearningEvent
from ordinis.engines.learning.events.store import EventQuery


@runtime_checkable
class EventSink(Protocol):
    """Where feedback events go and where they are read back from."""

    async def record_async(self, event: LearningEvent, timeout: float | None = None) -> str:
        """Accept ``event`` (waiting at most ``timeout`` s for buffer space); returns its id."""
        ...

    def query(self, q: EventQuery) -> list[LearningEvent]:
        """Stored events matching ``q``."""
        ...
