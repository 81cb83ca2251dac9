"""The audit log: a hash chain that survives restarts and concurrent writers, and exposes edits."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.models import AuditRecord
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import AuditConflictError
from ordinis.engines.learning.governance import GENESIS_HASH, AuditLog
from ordinis.engines.learning.observability.metrics import LearningMetrics


@pytest.fixture
def store(data_dir: Path) -> Iterator[SQLiteEventStore]:
    s = SQLiteEventStore(f"sqlite:///{data_dir / 'events.db'}")
    s.open()
    yield s
    s.close()


def fill(log: AuditLog, clock: SimulatedClock, n: int) -> None:
    for i in range(n):
        clock.advance(timedelta(microseconds=123_457))  # odd sub-second times on purpose
        log.append("alice", "model.promote" if i % 2 else "model.register", f"m:v{i}", "allow",
                   f"reason {i}", {"i": i, "tags": ("a", "b"), "at": clock.now()})


def test_chain_links_and_verifies(store: SQLiteEventStore, sim_clock: SimulatedClock) -> None:
    metrics = LearningMetrics()
    log = AuditLog(store, sim_clock, metrics)
    fill(log, sim_clock, 5)
    records = log.records()
    assert [r.sequence for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.record_hash for a, b in itertools.pairwise(records))
    assert records[0].details["tags"] == ["a", "b"]  # canonical JSON form
    check = log.verify()
    assert check.ok and check.checked == 5 and check.first_bad_sequence is None
    assert metrics.sample("audit_records_total", {"action": "model.promote"}) == 2.0


def test_restart_continues_the_chain(data_dir: Path, sim_clock: SimulatedClock) -> None:
    url = f"sqlite:///{data_dir / 'events.db'}"
    first = SQLiteEventStore(url)
    first.open()
    fill(AuditLog(first, sim_clock), sim_clock, 3)
    first.close()
    second = SQLiteEventStore(url)
    second.open()
    log = AuditLog(second, sim_clock)
    rec = log.append("bob", "model.rollback", "m:v1", "allow", "drift", {})
    assert rec.sequence == 4
    assert log.verify().ok
    second.close()


def test_an_edited_record_is_found(store: SQLiteEventStore, sim_clock: SimulatedClock) -> None:
    log = AuditLog(store, sim_clock)
    fill(log, sim_clock, 6)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._c.execute("UPDATE audit_log SET reason='x' WHERE seq=3")
    # An attacker with file access drops the trigger and edits record 3.
    store._c.execute("DROP TRIGGER audit_no_update")
    store._c.execute("UPDATE audit_log SET reason='nothing to see' WHERE seq=3")
    check = log.verify()
    assert not check.ok and check.first_bad_sequence == 3 and check.checked == 3
    assert "modified" in check.problem


def test_rehashed_edit_breaks_the_next_link(
    store: SQLiteEventStore, sim_clock: SimulatedClock
) -> None:
    from ordinis.engines.learning.governance import record_hash

    log = AuditLog(store, sim_clock)
    fill(log, sim_clock, 4)
    r = log.records()[1]
    forged = record_hash(r.sequence, r.timestamp, "mallory", r.action, r.target, r.decision,
                         r.reason, r.details, r.prev_hash)
    store._c.execute("DROP TRIGGER audit_no_update")
    store._c.execute("UPDATE audit_log SET actor='mallory', record_hash=? WHERE seq=2", (forged,))
    check = log.verify()
    assert not check.ok and check.first_bad_sequence == 3 and "does not chain" in check.problem


def test_deleted_records_are_found(store: SQLiteEventStore, sim_clock: SimulatedClock) -> None:
    log = AuditLog(store, sim_clock)
    fill(log, sim_clock, 5)
    store._c.execute("DROP TRIGGER audit_no_delete")
    store._c.execute("DELETE FROM audit_log WHERE seq=2")
    check = log.verify()
    assert not check.ok and check.first_bad_sequence == 3 and "missing" in check.problem
    store._c.execute("DELETE FROM audit_log WHERE seq>=3")  # truncating the tail
    check = log.verify()
    assert not check.ok and "missing" in check.problem


def test_two_writers_on_one_store_keep_one_chain(
    store: SQLiteEventStore, sim_clock: SimulatedClock
) -> None:
    a, b = AuditLog(store, sim_clock), AuditLog(store, sim_clock)
    a.append("a", "x", "t", "allow", "", {})
    b.append("b", "x", "t", "allow", "", {})  # b's head is read fresh: seq 2
    a.append("a", "x", "t", "allow", "", {})  # a's cached head is stale: conflict, re-read, seq 3
    assert [r.sequence for r in a.records()] == [1, 2, 3]
    assert a.verify().ok

    def write(log: AuditLog, who: str) -> None:
        for i in range(25):
            log.append(who, "x", f"t{i}", "allow", "", {"i": i})

    threads = [threading.Thread(target=write, args=(log, n)) for n, log in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(a.records()) == 53 and a.verify().ok


def test_a_writer_that_keeps_losing_gives_up_with_a_clear_error(
    store: SQLiteEventStore, sim_clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
) -> None:
    """Another writer (another process's store on the same file) wins every race: after the
    retries the append fails, naming the record, and the chain holds only what was committed."""
    log = AuditLog(store, sim_clock)
    log.append("a", "x", "t0", "allow", "", {})
    other_store = SQLiteEventStore(f"sqlite:///{data_dir / 'events.db'}")
    other_store.open()
    other = AuditLog(other_store, sim_clock)
    real_append = store.append_audit
    attempts = 0

    def lose_the_race(record: AuditRecord) -> None:
        nonlocal attempts
        attempts += 1
        other.append("b", "y", f"won{attempts}", "allow", "", {})  # takes the sequence first
        real_append(record)  # now a duplicate sequence: the store refuses it

    monkeypatch.setattr(store, "append_audit", lose_the_race)
    with pytest.raises(AuditConflictError, match="for x on t1: 20 sequence conflicts in a row"):
        log.append("a", "x", "t1", "allow", "", {})
    monkeypatch.undo()
    assert attempts == 20
    assert [r.target for r in log.records()] == ["t0", *(f"won{i}" for i in range(1, 21))]
    assert log.verify().ok
    log.append("a", "x", "t1", "allow", "", {})  # the race over, the record goes in
    assert log.records()[-1].sequence == 22 and log.verify().ok
    other_store.close()


def test_records_filters(store: SQLiteEventStore, sim_clock: SimulatedClock) -> None:
    log = AuditLog(store, sim_clock)
    fill(log, sim_clock, 6)
    promotes = log.records(action="model.promote")
    assert [r.sequence for r in promotes] == [2, 4, 6]
    assert [r.sequence for r in log.records(action="model.promote", limit=2)] == [2, 4]
    assert [r.target for r in log.records(target="m:v3")] == ["m:v3"]
    assert [r.sequence for r in log.records(start_sequence=5)] == [5, 6]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(details=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
       micros=st.integers(0, 10**12))
def test_any_details_and_time_round_trip_and_verify(
    store: SQLiteEventStore, details: dict[str, object], micros: int
) -> None:
    clock = SimulatedClock(datetime(2001, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros))
    log = AuditLog(store, clock)
    rec = log.append("p", "model.register", "m:v", "allow", "r", details)
    stored = log.records(start_sequence=rec.sequence)[0]
    assert stored.record_hash == rec.record_hash and stored.details == rec.details
    assert log.verify().ok
