"""The loop's event log: each LoopEvent is audited and handed to the facade's subscribers."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ordinis.engines.learning.feedback.improvement_loop import LoopEvent
from ordinis.engines.learning.governance.audit import AuditLog

log = logging.getLogger(__name__)

LoopListener = Callable[[LoopEvent], None]


class LoopEventLog:
    """Audits every LoopEvent and fans it out; a failing subscriber never stops the loop."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self._listeners: list[LoopListener] = []

    def subscribe(self, listener: LoopListener) -> Callable[[], None]:
        """Add a listener; returns the call that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def publish(self, event: LoopEvent) -> None:
        self.audit.append(
            "loop",
            f"loop.{event.step.value}",
            event.model_name,
            "allow",
            event.message[:500],
            {"trigger_id": event.trigger_id or "", "outcome": event.outcome},
        )
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("loop event subscriber %r failed", listener)
