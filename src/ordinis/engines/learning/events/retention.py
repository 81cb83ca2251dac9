"""Event retention: delete events older than ``event_retention_days``, on a clock-driven schedule.

Retention works on event time against the engine's Clock: the cutoff is ``retention_days``
before the newest stored event or the clock's now, whichever is earlier, so opening a
replayed store (history from 1990) on the system clock does not wipe it. It never deletes an
event inside a registered version's training window (``protected`` windows pull the cutoff
back), and the policy is recorded in the store: changing it needs an explicit flag.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ordinis.engines.learning.core.clock import Clock, ScheduledTask, Scheduler
from ordinis.engines.learning.core.errors import ConfigError, FieldProblem
from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.events.store import EventQuery, EventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics

Window = tuple[datetime, datetime]
"""A [start, end] training window whose events retention must keep."""

POLICY_KIND = "retention_policy"
POLICY_KEY = "events"


def retention_cutoff(
    clock: Clock,
    retention_days: int,
    newest: datetime | None = None,
    protected: Sequence[Window] = (),
) -> datetime:
    """The oldest timestamp kept: ``min(clock.now(), newest event) - retention_days``, pulled
    back to the start of any protected window that would otherwise lose events."""
    if retention_days < 1:
        raise ValueError(f"retention_days={retention_days}: must be >= 1")
    anchor = clock.now() if newest is None else min(clock.now(), newest)
    cutoff = anchor - timedelta(days=retention_days)
    for start, _end in protected:
        if start < cutoff:
            cutoff = start
    return cutoff


def newest_event_time(store: EventStore) -> datetime | None:
    """The timestamp of the newest stored event (None when the store has none)."""
    rows = store.query_events(EventQuery(limit=1, descending=True))
    return rows[0].timestamp if rows else None


def purge_expired(
    store: EventStore,
    clock: Clock,
    retention_days: int,
    protected: Sequence[Window] = (),
) -> int:
    """Delete events older than ``retention_cutoff`` (event time, protected windows kept)."""
    cutoff = retention_cutoff(clock, retention_days, newest_event_time(store), protected)
    return store.purge_events_before(cutoff)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The retention policy a store records: events kept for ``retention_days`` of event time."""

    retention_days: int
    anchor: str = "event_time"


def ensure_policy(
    store: EventStore, retention_days: int, allow_change: bool, now: datetime
) -> tuple[RetentionPolicy, RetentionPolicy | None]:
    """Record the policy on first open; refuse a different one unless ``allow_change``.

    Returns (the policy in force, the previous one when it was changed).
    """
    wanted = RetentionPolicy(retention_days)
    rec = store.get_record(POLICY_KIND, POLICY_KEY)
    previous = None if rec is None else RetentionPolicy(
        int(rec.body.get("retention_days", 0)), str(rec.body.get("anchor", "event_time"))
    )
    if previous == wanted:
        return wanted, None
    if previous is not None and not allow_change:
        raise ConfigError(
            f"store {store.url}",
            [FieldProblem(
                "event_retention_days", retention_days,
                f"the store records a retention policy of {previous.retention_days} days; "
                f"use event_retention_days={previous.retention_days} (a config file's "
                f"`event_retention_days: {previous.retention_days}`, or the environment's "
                f"ORDINIS_LEARNING_EVENT_RETENTION_DAYS={previous.retention_days}), or set "
                f"retention_policy_change: true (ORDINIS_LEARNING_RETENTION_POLICY_CHANGE=true) to "
                f"change it on purpose (audited)",
            )],
        )
    store.put_record(StoredRecord(
        kind=POLICY_KIND, key=POLICY_KEY,
        body={"retention_days": retention_days, "anchor": wanted.anchor},
        created_at=now, updated_at=now,
    ))
    return wanted, previous


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
    protected: Callable[[], Sequence[Window]] = tuple
    purged_total: int = 0
    runs: int = 0
    last_run: datetime | None = None
    last_cutoff: datetime | None = None
    errors: list[BaseException] = field(default_factory=list)
    last_error: str | None = None  # the last run's error; None once a run succeeds
    _task: ScheduledTask | None = None
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    def run_once(self) -> int:
        """Purge now (synchronously); returns how many events were deleted."""
        try:
            cutoff = retention_cutoff(
                self.clock, self.retention_days, newest_event_time(self.store), self.protected()
            )
            deleted = self.store.purge_events_before(cutoff)
        except Exception as exc:
            self.errors.append(exc)
            self.last_error = f"{type(exc).__name__}: {exc}"
            if self.metrics is not None:
                self.metrics.event_store_errors_total.labels("purge_events").inc()
            raise
        self.runs += 1
        self.last_error = None
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
    protected: Callable[[], Sequence[Window]] = tuple,
) -> RetentionJob:
    """Create a RetentionJob and schedule it; the engine calls this with its config values."""
    job = RetentionJob(store, clock, retention_days, interval_seconds, metrics, protected)
    job.schedule(scheduler)
    return job
