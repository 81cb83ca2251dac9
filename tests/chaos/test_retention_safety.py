"""Retention works on event time, keeps training windows and records its policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.errors import ConfigError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.retention import ensure_policy, purge_expired
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventQuery

HISTORY_START = datetime(1990, 1, 1, tzinfo=UTC)


def _history(store: SQLiteEventStore, years: int = 33) -> None:
    rows = []
    for d in range(0, years * 365, 7):  # weekly bars 1990..2022
        ev = LearningEvent(event_type=EventType.SIGNAL_GENERATED, source_engine="replay",
                           symbol="SPY", timestamp=HISTORY_START + timedelta(days=d),
                           payload={"d": d})
        rows.append(encode_event(ev, 65536))
    store.append_events(rows)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteEventStore:
    s = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    s.open()
    return s


def test_a_replayed_history_survives_a_system_clock_years_later(store: SQLiteEventStore) -> None:
    _history(store)
    total = store.count_events()
    newest = store.query_events(EventQuery(limit=1, descending=True))[0].timestamp
    clock_2026 = SimulatedClock(datetime(2026, 11, 30, tzinfo=UTC))  # stands in for wall time
    deleted = purge_expired(store, clock_2026, retention_days=90)
    # by wall clock all of it would go; by event time only what is 90 days older than the
    # newest event does, and the newest 90 days of history stay
    assert 0 < deleted < total
    kept = store.query_events(EventQuery(limit=None))
    assert kept[0].timestamp >= newest - timedelta(days=90)
    assert kept[-1].timestamp == newest


def test_training_windows_of_registered_versions_are_never_purged(
    store: SQLiteEventStore,
) -> None:
    _history(store)
    window = (datetime(1995, 1, 1, tzinfo=UTC), datetime(2001, 1, 1, tzinfo=UTC))
    in_window = store.count_events(EventQuery(start=window[0], end=window[1], limit=None))
    assert in_window > 300
    clock = SimulatedClock(datetime(2023, 1, 1, tzinfo=UTC))
    purge_expired(store, clock, retention_days=90, protected=[window])
    assert store.count_events(EventQuery(start=window[0], end=window[1], limit=None)) == in_window
    assert store.count_events(EventQuery(end=window[0], limit=None)) == 0  # older: purged


def test_the_policy_is_recorded_and_changing_it_needs_the_flag(store: SQLiteEventStore) -> None:
    now = datetime(2020, 1, 1, tzinfo=UTC)
    policy, previous = ensure_policy(store, 36500, allow_change=False, now=now)
    assert policy.retention_days == 36500 and previous is None
    assert ensure_policy(store, 36500, allow_change=False, now=now)[1] is None
    with pytest.raises(ConfigError) as info:
        ensure_policy(store, 90, allow_change=False, now=now)
    text = str(info.value)
    assert "event_retention_days=90" in text and "36500" in text
    assert "retention_policy_change" in text
    policy, previous = ensure_policy(store, 90, allow_change=True, now=now)
    assert policy.retention_days == 90 and previous is not None
    assert previous.retention_days == 36500


async def test_an_engine_refuses_a_different_retention_without_the_flag(tmp_path: Path) -> None:
    from ownership_helpers import engine_config

    from ordinis.engines.learning import LearningEngine, SimulatedClock

    data_dir = tmp_path / "learning"
    clock = SimulatedClock(datetime(2023, 1, 1, tzinfo=UTC))
    async with LearningEngine(engine_config(data_dir, event_retention_days=36500), clock=clock):
        pass
    default = LearningEngine(engine_config(data_dir, event_retention_days=90), clock=clock)
    with pytest.raises(ConfigError, match="retention_policy_change"):
        await default.initialize()
    changed = engine_config(data_dir, event_retention_days=90, retention_policy_change=True)
    async with LearningEngine(changed, clock=clock) as engine:
        records = [r for r in engine.audit_records() if r.action == "retention.policy"]
        assert records and records[-1].details == {"from_days": 36500, "to_days": 90}
