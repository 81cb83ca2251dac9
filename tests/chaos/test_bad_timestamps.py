"""Finding 3: out-of-range timestamps refused at the call; a bad stored row never kills reads."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from chaos_events import event, pg_schema_url
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.errors import InvalidEventError
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.factory import open_store
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import (
    MAX_TS_US,
    MIN_TS_US,
    EventQuery,
    EventStore,
    from_us,
    to_us,
)

EAST = timezone(timedelta(hours=5))
WEST = timezone(timedelta(hours=-5))
OUT_OF_RANGE = [
    datetime(9999, 12, 31, 23, 0, tzinfo=WEST),  # UTC year 10000
    datetime(1, 1, 1, 2, 0, tzinfo=EAST),  # UTC year 0
    datetime.max.replace(tzinfo=timezone(timedelta(hours=-1))),
]


@pytest.mark.parametrize("ts", OUT_OF_RANGE, ids=["year-10000-utc", "year-0-utc", "max-minus-1h"])
def test_a_timestamp_outside_the_utc_range_is_refused_naming_the_field(ts: datetime) -> None:
    with pytest.raises(InvalidEventError) as err:
        encode_event(event(timestamp=ts), 64 * 1024)
    problems = err.value.problems
    assert [p.field for p in problems] == ["timestamp"]
    assert "outside the representable UTC range" in str(err.value)


@pytest.mark.parametrize(
    "ts",
    [
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, 2, 0, tzinfo=WEST),  # UTC 07:00 of year 1
        datetime(9999, 12, 31, 20, 0, tzinfo=EAST),  # UTC 15:00 of 9999-12-31
    ],
)
def test_the_edges_of_the_range_are_accepted_and_read_back(ts: datetime) -> None:
    row = encode_event(event(timestamp=ts), 64 * 1024)
    assert from_us(row[4]) == ts


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.integers(min_value=-23 * 60, max_value=23 * 60),
)
def test_every_accepted_timestamp_reads_back_as_the_same_instant(
    naive: datetime, offset_minutes: int
) -> None:
    ts = naive.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    try:
        row = encode_event(event(timestamp=ts), 64 * 1024)
    except InvalidEventError as exc:
        assert [p.field for p in exc.problems] == ["timestamp"]
        assert not MIN_TS_US <= to_us(ts) <= MAX_TS_US  # refused only when out of range
        return
    assert MIN_TS_US <= row[4] <= MAX_TS_US
    assert from_us(row[4]) == ts


def _poison_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO events (event_id, event_type, source_engine, symbol, ts_us, payload, "
        "labels, outcome) VALUES ('bad-ts', 'signal_generated', 'x', 'AAPL', ?, '{}', '{}', NULL)",
        (MAX_TS_US + 3_600_000_000,),
    )
    conn.execute(
        "INSERT INTO events (event_id, event_type, source_engine, symbol, ts_us, payload, "
        "labels, outcome) VALUES ('bad-json', 'signal_generated', 'x', 'AAPL', 5, '{nope', '{}', "
        "NULL)"
    )
    conn.commit()
    conn.close()


def _check_reads_survive(store: EventStore, bad_ids: set[str]) -> None:
    good = store.query_events(EventQuery(limit=None))
    assert {e.event_id for e in good} == {"good-1", "good-2"}
    assert set(store.bad_rows) == bad_ids  # type: ignore[attr-defined]
    for event_id in bad_ids:
        assert event_id in store.bad_rows[event_id]  # type: ignore[attr-defined]
    stats = store.event_stats()
    assert stats.total == 2 + len(bad_ids)
    assert stats.last_timestamp is not None and stats.last_timestamp.year == 2020
    assert store.count_events() == 2 + len(bad_ids)


def test_a_bad_sqlite_row_is_skipped_naming_its_id_and_reads_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.db"
    store = SQLiteEventStore(f"sqlite:///{path}")
    store.open()
    store.append_events([encode_event(event(1, event_id="good-1"), 65536),
                         encode_event(event(2, event_id="good-2"), 65536)])
    _poison_sqlite(path)
    _check_reads_survive(store, {"bad-ts", "bad-json"})
    assert "'bad-ts' cannot be read" in caplog.text
    store.close()
    reopened = SQLiteEventStore(f"sqlite:///{path}")  # across restarts too
    reopened.open()
    _check_reads_survive(reopened, {"bad-ts", "bad-json"})
    reopened.close()


@pytest.mark.postgres
def test_a_bad_postgresql_row_is_skipped_naming_its_id(pg_url: str) -> None:
    store = open_store(pg_schema_url(pg_url))
    try:
        store.append_events([encode_event(event(1, event_id="good-1"), 65536),
                             encode_event(event(2, event_id="good-2"), 65536)])
        conn = store._c  # type: ignore[attr-defined]  # write what an old writer could have
        conn.execute(
            "INSERT INTO events (event_id, event_type, source_engine, symbol, ts_us, payload, "
            "labels, outcome) VALUES ('bad-ts', 'signal_generated', 'x', 'AAPL', %s, '{}', "
            "'{}', NULL)",
            (MAX_TS_US + 3_600_000_000,),
        )
        _check_reads_survive(store, {"bad-ts"})
    finally:
        store.drop_schema()  # type: ignore[attr-defined]
        store.close()
