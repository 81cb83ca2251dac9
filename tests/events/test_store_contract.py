"""The EventStore contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from contextlib import closing
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from event_helpers import T0, make_event, raw_execute
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.models import AuditRecord, EventType, StoredRecord
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.factory import open_store
from ordinis.engines.learning.events.store import (
    ROW_EVENT_ID,
    AuditConflictError,
    EventQuery,
    EventStore,
)


def _rows(events: list) -> list:
    return [encode_event(e, 64 * 1024) for e in events]


def test_append_is_idempotent_by_event_id(store: EventStore) -> None:
    events = [make_event(i) for i in range(50)]
    assert store.append_events(_rows(events)) == 50
    # the same batch again, and a batch that mixes old and new ids
    assert store.append_events(_rows(events)) == 0
    more = [make_event(100 + i) for i in range(5)]
    assert store.append_events(_rows(events[:10] + more)) == 5
    assert store.count_events() == 55
    # a duplicate inside one batch is stored once
    dup = make_event(200)
    assert store.append_events(_rows([dup, dup])) == 1
    assert store.count_events() == 56
    assert store.append_events([]) == 0


def test_large_batch_crossing_statement_chunks(store: EventStore) -> None:
    rows = _rows([make_event(i) for i in range(4523)])  # 4000 + 500 + 20 + 3 in SQLite
    assert store.append_events(rows[:4100]) == 4100
    assert store.append_events(rows) == 423  # overlapping replay: only the new ones
    assert store.count_events() == 4523
    ids = [e.event_id for e in store.query_events(EventQuery(limit=None))]
    assert ids == [r[ROW_EVENT_ID] for r in rows]


def test_events_round_trip_exactly(store: EventStore) -> None:
    ev = make_event(
        3,
        timestamp=T0 + timedelta(microseconds=123_457),
        payload={"nested": {"a": [1, 2.5, None, True, "x"]}, "unicode": "é€", "big": 2**62},
        labels={"model": "m1", "strategy": "mom"},
        outcome=None,
        symbol=None,
    )
    store.append_events(_rows([ev]))
    (got,) = store.query_events(EventQuery())
    assert got.event_id == ev.event_id
    assert got.event_type is EventType.SIGNAL_GENERATED
    assert got.timestamp == ev.timestamp  # microsecond exact
    assert got.payload == ev.payload
    assert got.labels == ev.labels
    assert got.outcome is None
    assert got.symbol is None
    assert got.source_engine == "signal_engine"


def test_text_with_copy_special_characters_round_trips_on_both_paths(store: EventStore) -> None:
    # Tabs, newlines, backslashes, non-ASCII and long values in every text column: stored as
    # sent by the first write (PostgreSQL: COPY binary straight into events) and by a replay
    # that meets a stored id (the staging table + ON CONFLICT path).
    odd = "tab\there\nline\\back\rcr é€ 😀"
    events = [
        make_event(
            i,
            event_id=f"id\t{i}\\{odd}",
            source_engine=f"src\n{odd}",
            symbol=None if i % 3 == 0 else f"S\\{odd}",
            payload={"text": odd * (i + 1), "long": "x" * (3000 * (i % 2)), "f": 1.5e-300},
            labels={"k\tey": odd},
            outcome=None if i % 2 else -0.0,
        )
        for i in range(6)
    ]
    assert store.append_events(_rows(events[:2])) == 2
    assert store.append_events(_rows(events)) == 4  # meets stored ids: the idempotent path
    got = {e.event_id: e for e in store.query_events(EventQuery(limit=None))}
    assert len(got) == 6
    for ev in events:
        back = got[ev.event_id]
        assert (back.source_engine, back.symbol, back.payload, back.labels, back.outcome) == (
            ev.source_engine, ev.symbol, ev.payload, ev.labels, ev.outcome
        )
        assert back.timestamp == ev.timestamp


def test_queries_by_each_filter(store: EventStore) -> None:
    events = []
    for i in range(40):
        events.append(
            make_event(
                i,
                event_type=EventType.SIGNAL_GENERATED if i % 2 else EventType.ORDER_FILLED,
                symbol="AAPL" if i % 4 < 2 else "MSFT",
                source_engine="signal_engine" if i < 20 else "execution_engine",
            )
        )
    store.append_events(_rows(events))

    def ids(q: EventQuery) -> list[str]:
        return [e.event_id for e in store.query_events(q)]

    all_ids = [e.event_id for e in events]  # timestamps increase with i
    assert ids(EventQuery(limit=None)) == all_ids
    assert ids(EventQuery(event_type=EventType.ORDER_FILLED, limit=None)) == all_ids[0::2]
    assert ids(
        EventQuery(event_types=(EventType.ORDER_FILLED, EventType.SIGNAL_GENERATED), limit=None)
    ) == all_ids
    assert ids(EventQuery(symbol="MSFT", limit=None)) == [
        e.event_id for e in events if e.symbol == "MSFT"
    ]
    assert ids(EventQuery(source_engine="execution_engine", limit=None)) == all_ids[20:]
    # start inclusive, end exclusive
    assert ids(
        EventQuery(start=T0 + timedelta(seconds=5), end=T0 + timedelta(seconds=9), limit=None)
    ) == all_ids[5:9]
    assert ids(EventQuery(limit=3)) == all_ids[:3]
    assert ids(EventQuery(limit=3, descending=True)) == all_ids[::-1][:3]
    combined = EventQuery(
        event_type=EventType.SIGNAL_GENERATED, symbol="AAPL", source_engine="signal_engine",
        start=T0, end=T0 + timedelta(seconds=20), limit=None,
    )
    expected = [
        e.event_id for e in events[:20]
        if e.event_type is EventType.SIGNAL_GENERATED and e.symbol == "AAPL"
    ]
    assert ids(combined) == expected
    assert store.count_events(combined) == len(expected)
    assert store.count_events() == 40
    assert store.count_events(EventQuery(symbol="NOPE")) == 0


def test_event_stats(store: EventStore) -> None:
    empty = store.event_stats()
    assert empty.total == 0 and empty.first_timestamp is None and empty.last_timestamp is None
    events = [make_event(i, event_type=EventType.TRADE_OUTCOME) for i in range(3)]
    events += [make_event(10 + i, source_engine="risk_engine") for i in range(2)]
    store.append_events(_rows(events))
    stats = store.event_stats()
    assert stats.total == 5
    assert stats.by_type == {"trade_outcome": 3, "signal_generated": 2}
    assert stats.by_source == {"signal_engine": 3, "risk_engine": 2}
    assert stats.first_timestamp == T0
    assert stats.last_timestamp == T0 + timedelta(seconds=11)


def test_purge_events_before(store: EventStore) -> None:
    store.append_events(_rows([make_event(i) for i in range(10)]))
    cutoff = T0 + timedelta(seconds=4)
    assert store.purge_events_before(cutoff) == 4
    remaining = store.query_events(EventQuery(limit=None))
    assert remaining[0].timestamp == cutoff  # the cutoff itself is kept
    assert len(remaining) == 6
    assert store.purge_events_before(cutoff) == 0


def test_records_upsert_list_delete(store: EventStore) -> None:
    t1, t2, t3 = T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    store.put_record(StoredRecord("job", "j1", {"status": "pending"}, t1, t1, tag="modelA"))
    store.put_record(StoredRecord("job", "j2", {"status": "running"}, t2, t2, tag="modelB"))
    store.put_record(StoredRecord("job", "j3", {"status": "failed"}, t3, t3, tag="modelA"))
    store.put_record(StoredRecord("alert", "a1", {"x": 1}, t1, t1))
    # upsert keeps created_at, replaces body, tag and updated_at
    store.put_record(
        StoredRecord("job", "j1", {"status": "done", "n": [1, 2]}, t3, t3, tag="modelC")
    )
    got = store.get_record("job", "j1")
    assert got is not None
    assert got.body == {"status": "done", "n": [1, 2]}
    assert got.tag == "modelC"
    assert got.created_at == t1 and got.updated_at == t3
    assert store.get_record("job", "missing") is None
    assert store.get_record("alert", "j1") is None  # keys are per kind

    assert [r.key for r in store.list_records("job")] == ["j1", "j2", "j3"]
    assert [r.key for r in store.list_records("job", tag="modelA")] == ["j3"]
    assert [r.key for r in store.list_records("job", start=t2)] == ["j2", "j3"]
    assert [r.key for r in store.list_records("job", end=t2)] == ["j1"]
    assert [r.key for r in store.list_records("job", limit=2)] == ["j1", "j2"]
    assert store.delete_record("job", "j2") is True
    assert store.delete_record("job", "j2") is False
    assert [r.key for r in store.list_records("job")] == ["j1", "j3"]
    assert [r.key for r in store.list_records("alert")] == ["a1"]


def _audit(seq: int) -> AuditRecord:
    return AuditRecord(
        sequence=seq, timestamp=T0 + timedelta(seconds=seq), actor="engine",
        action="model.promote", target="m:1", decision="allow", reason="gates passed",
        details={"z": 1, "a": [0.1, "x"]}, prev_hash=f"h{seq - 1}", record_hash=f"h{seq}",
    )


def test_audit_is_append_only(store: EventStore) -> None:
    assert store.last_audit() is None
    for seq in range(1, 4):
        store.append_audit(_audit(seq))
    assert [a.sequence for a in store.list_audit()] == [1, 2, 3]
    assert [a.sequence for a in store.list_audit(start_sequence=2)] == [2, 3]
    assert [a.sequence for a in store.list_audit(limit=2)] == [1, 2]
    last = store.last_audit()
    assert last is not None and last == _audit(3)

    with pytest.raises(AuditConflictError, match="sequence 2"):
        store.append_audit(_audit(2))
    with pytest.raises(Exception, match="append-only"):
        raw_execute(store, "UPDATE audit_log SET decision='deny' WHERE seq=1")
    with pytest.raises(Exception, match="append-only"):
        raw_execute(store, "DELETE FROM audit_log WHERE seq=1")
    assert [a.decision for a in store.list_audit()] == ["allow"] * 3


def test_migrations_rerun_safely_on_reopen(store: EventStore) -> None:
    store.append_events(_rows([make_event(i) for i in range(3)]))
    version = store.schema_version  # type: ignore[attr-defined]
    assert version >= 1
    store.close()
    store.open()
    store.open()  # idempotent
    assert store.schema_version == version  # type: ignore[attr-defined]
    assert store.count_events() == 3
    store.append_events(_rows([make_event(10)]))
    assert store.count_events() == 4


def test_closed_store_says_so(store: EventStore) -> None:
    store.close()
    with pytest.raises(RuntimeError, match="not open"):
        store.count_events()
    store.open()
    assert store.count_events() == 0


def test_open_store_by_url(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x' / 'events.db'}?synchronous=full")
    try:
        assert store.count_events() == 0
        assert store.synchronous == "FULL"  # type: ignore[attr-defined]
    finally:
        store.close()
    with pytest.raises(ValueError, match="unsupported scheme"):
        open_store("mysql://nope")
    with pytest.raises(ValueError, match="synchronous"):
        open_store(f"sqlite:///{tmp_path / 'y.db'}?journal=off")


def test_sqlite_wal_is_checkpointed_in_the_background(tmp_path: Path) -> None:
    from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore

    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.open()
    store.append_events(_rows([make_event(i) for i in range(2000)]))
    wal = tmp_path / "events.db-wal"
    assert wal.exists() and wal.stat().st_size > 0
    store.close()  # the checkpointer copies everything and truncates the WAL
    assert not wal.exists() or wal.stat().st_size == 0
    reopened = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    reopened.open()
    assert reopened.count_events() == 2000
    reopened.close()


def test_sqlite_checkpoints_coalesce_to_one_per_interval(tmp_path: Path) -> None:
    """Many small commits (a host's breaker state every bar) ask for a checkpoint each; the
    background thread runs at most one per interval, and still copies every commit."""
    from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore

    path = tmp_path / "events.db"
    store = SQLiteEventStore(f"sqlite:///{path}", checkpoint_interval=0.3)
    store.open()
    try:
        before = store.checkpoints
        started = time.monotonic()
        for i in range(200):  # 200 commits, each asking for a checkpoint
            store.append_events(_rows([make_event(i)]))
        burst = time.monotonic() - started
        time.sleep(0.8)  # more than two intervals after the burst
        ran = store.checkpoints - before
        assert 1 <= ran <= 2 + int(burst / 0.3)
        # every commit reached the database file itself: a copy of the file without its
        # WAL holds all 200 events
        copy = tmp_path / "copy.db"
        shutil.copyfile(path, copy)
        with closing(sqlite3.connect(copy)) as conn:
            assert conn.execute("SELECT count(*) FROM events").fetchone() == (200,)
    finally:
        store.close()


def test_sqlite_checkpoint_interval_is_validated(tmp_path: Path) -> None:
    from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore

    with pytest.raises(ValueError, match=r"checkpoint_interval=-1.*>= 0"):
        SQLiteEventStore(f"sqlite:///{tmp_path / 'e.db'}", checkpoint_interval=-1)


@pytest.mark.parametrize("size", [1, 2, 3, 127, 129, 2047, 2049, 3999, 4000, 4001, 8001])
def test_every_batch_size_stores_each_event_once(store: EventStore, size: int) -> None:
    # SQLite pads a statement with copies of the batch's last row up to a prepared size;
    # the copies must never show up as rows nor in the count of new rows.
    rows = _rows([make_event(i) for i in range(size)])
    assert store.append_events(rows) == size
    assert store.count_events() == size
    # a replay whose last row (the one padding is made of) is new, and one where it is old
    extra = _rows([make_event(size + 1)])
    assert store.append_events(rows[size // 2 :] + extra) == 1
    assert store.append_events(extra + rows[: size // 2 + 1]) == 0
    assert store.count_events() == size + 1
    ids = [e.event_id for e in store.query_events(EventQuery(limit=None))]
    assert len(ids) == len(set(ids)) == size + 1


@settings(max_examples=30, deadline=None)
@given(
    cuts=st.lists(st.integers(0, 700), min_size=1, max_size=6),
    replays=st.lists(st.tuples(st.integers(0, 700), st.integers(0, 700)), max_size=3),
)
def test_sqlite_any_split_and_replay_stores_the_stream_once(
    cuts: list[int], replays: list[tuple[int, int]]
) -> None:
    from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore

    rows = _rows([make_event(i) for i in range(700)])
    bounds = sorted({0, 700, *cuts})
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteEventStore(f"sqlite:///{tmp}/events.db")
        store.open()
        try:
            new = sum(store.append_events(rows[a:b]) for a, b in pairwise(bounds))
            for a, b in replays:  # retries of any slice add nothing
                assert store.append_events(rows[min(a, b) : max(a, b)]) == 0
            assert new == 700
            stored = [e.event_id for e in store.query_events(EventQuery(limit=None))]
            assert stored == [r[ROW_EVENT_ID] for r in rows]
        finally:
            store.close()


def test_insert_record_is_atomic_insert_if_absent(store: EventStore) -> None:
    rec = StoredRecord(kind="claim", key="m:v1", body={"owner": "a"}, created_at=T0,
                       updated_at=T0, tag="m")
    assert store.insert_record(rec) is True
    other = StoredRecord(kind="claim", key="m:v1", body={"owner": "b"}, created_at=T0,
                         updated_at=T0, tag="m")
    assert store.insert_record(other) is False  # the first claim stands
    got = store.get_record("claim", "m:v1")
    assert got is not None and got.body == {"owner": "a"}


def test_a_read_only_opener_reads_beside_the_writer_and_writes_nothing(
    store: EventStore,
) -> None:
    from ordinis.engines.learning.core.errors import ReadOnlyError

    store.append_events(_rows([make_event(i) for i in range(3)]))
    reader = open_store(store.url, read_only=True)
    try:
        assert reader.count_events() == 3
        rec = StoredRecord(kind="k", key="x", body={}, created_at=T0, updated_at=T0)
        with pytest.raises(ReadOnlyError, match="read-only"):
            reader.put_record(rec)
        with pytest.raises(ReadOnlyError):
            reader.append_events(_rows([make_event(9)]))
        with pytest.raises(ReadOnlyError):
            reader.insert_record(rec)
        store.append_events(_rows([make_event(5)]))  # the writer goes on
        assert reader.count_events() == 4
    finally:
        reader.close()
    assert store.get_record("k", "x") is None
