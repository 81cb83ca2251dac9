"""Event retention: delete events older than ``event_retention_days``, on a clock-driven schedule.

The cutoff comes from the engine's Clock, so a replay on a SimulatedClock purges exactly as
production would at that simulated time.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ordinis.engines.learning.core.clock import Clock, ScheduledTask, Scheduler
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics


def retention_cutoff(clock: Clock, retention_days: int) -> datetime:
    """The oldest timestamp kept: ``clock.now() - retention_days``."""
    if retention_days < 1:
        raise ValueError(f"retention_days={retention_days}: must be >= 1")
    return clock.now() - timedelta(days=retention_days)


def purge_expired(store: EventStore, clock: Clock, retention_days: int) -> int:
    """Delete events with timestamp < clock.now() - retention_days; returns how many."""
    return store.purge_events_before(retention_cutoff(clock, retention_days))


@dataclass
class RetentionJob:
    """Runs ``purge_expired`` every ``interval_seconds`` of clock time on a Scheduler.

    On a simulated clock the purge runs inline when the scheduler fires (deterministic);
    on the system clock it runs in a worker thread so the event loop is not blocked, when
    a loop is running. Errors are kept in ``errors`` and counted; the next run tries again.
    """

    store: EventStore
    clock: Clock
    retention_days: int
    interval_seconds: float
    metrics: LearningMetrics | None = None
    purged_total: int = 0
    runs: int = 0
    last_run: datetime | None = None
    last_cutoff: datetime | None = None
    errors: list[BaseException] = field(default_factory=list)
    _task: ScheduledTask | None = None
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    def run_once(self) -> int:
        """Purge now (synchronously); returns how many events were deleted."""
        cutoff = retention_cutoff(self.clock, self.retention_days)
        try:
            deleted = self.store.purge_events_before(cutoff)
        except Exception as exc:
            self.errors.append(exc)
            if self.metrics is not None:
                self.metrics.event_store_errors_total.labels("purge_events").inc()
            raise
        self.runs += 1
        self.purged_total += deleted
        self.last_run = self.clock.now()
        self.last_cutoff = cutoff
        if self.metrics is not None and deleted:
            self.metrics.events_purged_total.inc(deleted)
        return deleted

    def schedule(self, scheduler: Scheduler, first_delay: float | None = None) -> ScheduledTask:
        """Register on ``scheduler`` (every ``interval_seconds``); returns the task handle."""
        self._task = scheduler.every(
            self.interval_seconds, self._fire, name="event-retention", first_delay=first_delay
        )
        return self._task

    def cancel(self) -> None:
        """Stop the schedule (a purge already running finishes)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _fire(self) -> None:
        loop = None
        if not self.clock.simulated:
            with contextlib.suppress(RuntimeError):
                loop = asyncio.get_running_loop()
        if loop is None:
            self.run_once()
            return
        task = loop.create_task(self._run_in_thread(), name="event-retention-purge")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _run_in_thread(self) -> None:
        with contextlib.suppress(Exception):  # recorded in self.errors by run_once
            await asyncio.to_thread(self.run_once)


def schedule_retention(
    scheduler: Scheduler,
    store: EventStore,
    clock: Clock,
    retention_days: int,
    interval_seconds: float,
    metrics: LearningMetrics | None = None,
) -> RetentionJob:
    """Create a RetentionJob and schedule it; the engine calls this with its config values."""
    job = RetentionJob(store, clock, retention_days, interval_seconds, metrics)
    job.schedule(scheduler)
    return job
