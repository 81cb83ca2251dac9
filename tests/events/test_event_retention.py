"""Retention: events older than clock.now() - retention_days are purged, on the clock's schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from event_helpers import T0, make_event

from ordinis.engines.learning.core.clock import Scheduler, SimulatedClock
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.retention import (
    purge_expired,
    retention_cutoff,
    schedule_retention,
)
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventQuery
from ordinis.engines.learning.observability.metrics import LearningMetrics


def _store_days(store: SQLiteEventStore, days: list[int]) -> None:
    store.append_events(
        [encode_event(make_event(timestamp=T0 + timedelta(days=d)), 65536) for d in days]
    )


def _days_left(store: SQLiteEventStore) -> list[int]:
    return [(e.timestamp - T0).days for e in store.query_events(EventQuery(limit=None))]


def test_purge_expired_uses_the_clock(sqlite_store: SQLiteEventStore) -> None:
    _store_days(sqlite_store, [0, 1, 2, 3, 10])
    clock = SimulatedClock(T0 + timedelta(days=12))
    assert retention_cutoff(clock, 10) == T0 + timedelta(days=2)
    # event time: the newest event (day 10) anchors the cutoff, not the clock (day 12)
    assert purge_expired(sqlite_store, clock, retention_days=8) == 2
    assert _days_left(sqlite_store) == [2, 3, 10]
    with pytest.raises(ValueError, match="retention_days"):
        purge_expired(sqlite_store, clock, retention_days=0)


def test_scheduled_retention_runs_every_interval_of_simulated_time(
    sqlite_store: SQLiteEventStore,
) -> None:
    clock = SimulatedClock(T0)
    scheduler = Scheduler(clock)
    metrics = LearningMetrics()
    _store_days(sqlite_store, [0, 1, 2, 3, 4])
    job = schedule_retention(scheduler, sqlite_store, clock, retention_days=2,
                             interval_seconds=3600, metrics=metrics)
    clock.advance(timedelta(days=3, minutes=30))  # one run: cutoff = day 1.02
    assert job.runs == 1
    assert _days_left(sqlite_store) == [2, 3, 4]
    clock.advance(timedelta(minutes=30))  # not due yet
    assert job.runs == 1
    clock.advance(timedelta(hours=24))  # due again: clock day 4.06, newest event day 4
    assert job.runs == 2
    assert _days_left(sqlite_store) == [2, 3, 4]  # cutoff = newest event - 2 days = day 2
    clock.advance(timedelta(days=1))  # the clock moves on, event time does not: kept
    assert job.runs == 3 and _days_left(sqlite_store) == [2, 3, 4]
    assert job.purged_total == 2
    assert metrics.sample("learning_events_purged_total") == 2
    job.cancel()
    clock.advance(timedelta(days=30))
    assert job.runs == 3 and _days_left(sqlite_store) == [2, 3, 4]


def test_a_failing_purge_is_recorded_and_retried(sqlite_store: SQLiteEventStore) -> None:
    clock = SimulatedClock(T0)
    scheduler = Scheduler(clock)
    _store_days(sqlite_store, [0, 3])
    job = schedule_retention(scheduler, sqlite_store, clock, 1, 60)
    sqlite_store.close()
    clock.advance(timedelta(days=2))
    assert len(job.errors) == 1 and job.runs == 0
    assert scheduler.errors and scheduler.errors[0][0] == "event-retention"
    sqlite_store.open()
    clock.advance(61)
    assert job.runs == 1 and _days_left(sqlite_store) == [3]
