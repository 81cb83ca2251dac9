"""Clock, scheduler and ids: schedules run on simulated time with no sleep; ids sort by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordinis.engines.learning.core.clock import Scheduler, SimulatedClock
from ordinis.engines.learning.core.ids import id_timestamp_ms, new_id, new_ids


def test_simulated_clock_refuses_naive_and_backwards() -> None:
    clock = SimulatedClock(datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2020, 1, 2))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(datetime(2019, 1, 1, tzinfo=UTC))


def test_periodic_and_one_shot_tasks_fire_on_advance() -> None:
    clock = SimulatedClock(datetime(2020, 1, 1, tzinfo=UTC))
    sched = Scheduler(clock)
    ticks: list[datetime] = []
    once: list[datetime] = []
    sched.every(3600, lambda: ticks.append(clock.now()), name="hourly")
    sched.call_later(6 * 3600, lambda: once.append(clock.now()), name="cooldown")
    for _ in range(10):
        clock.advance(timedelta(hours=1))
    assert len(ticks) == 10
    assert len(once) == 1 and once[0] == datetime(2020, 1, 1, 6, tzinfo=UTC)


def test_a_long_jump_runs_a_periodic_task_once_not_per_missed_slot() -> None:
    clock = SimulatedClock(datetime(2020, 1, 1, tzinfo=UTC))
    sched = Scheduler(clock)
    ticks: list[int] = []
    sched.every(60, lambda: ticks.append(1))
    clock.advance(timedelta(days=7))
    assert ticks == [1]


def test_callback_errors_are_kept_and_do_not_stop_others() -> None:
    clock = SimulatedClock()
    sched = Scheduler(clock)
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("x")

    sched.call_later(1, boom, name="boom")
    sched.call_later(1, lambda: ran.append("ok"), name="ok")
    clock.advance(2)
    assert ran == ["ok"]
    assert [name for name, _ in sched.errors] == ["boom"]


def test_cancelled_tasks_do_not_fire() -> None:
    clock = SimulatedClock()
    sched = Scheduler(clock)
    ran: list[int] = []
    handle = sched.every(10, lambda: ran.append(1))
    handle.cancel()
    clock.advance(100)
    assert ran == [] and len(sched) == 0


@given(st.integers(min_value=2, max_value=2000))
def test_ids_are_unique_and_time_ordered(n: int) -> None:
    ids = [new_id() for _ in range(n)]
    assert len(set(ids)) == n
    assert ids == sorted(ids)
    assert all(len(i) == 36 and i[14] == "7" for i in ids)  # version nibble of UUIDv7
    assert id_timestamp_ms(ids[-1]) >= id_timestamp_ms(ids[0])


def test_batch_ids_are_unique_ordered_and_interleave_with_single_ids() -> None:
    ids = [new_id(), *new_ids(5000), new_id(), *new_ids(3), new_id()]
    assert len(set(ids)) == len(ids) == 5006
    assert ids == sorted(ids)  # UUIDv7: a later id sorts after an earlier one
    assert all(len(i) == 36 and i[14] == "7" and i[19] in "89ab" for i in ids)
    assert abs(id_timestamp_ms(ids[1]) - id_timestamp_ms(ids[0])) < 60_000
    assert new_ids(0) == []


def test_a_forked_child_never_repeats_its_parents_random_bits() -> None:
    """The random pool is emptied in a forked child: its next ids share no random bits."""
    import os

    new_id()  # the parent's pool is filled and partly used
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.write(write, ",".join(new_id() for _ in range(4)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode().split(",")
    os.close(read)
    mine = [new_id() for _ in range(4)]
    assert len(child) == 4
    # the last 16 hex digits hold the random bits (and the variant)
    assert not {c[-12:] for c in child} & {m[-12:] for m in mine}


def _reference_ids(ms: int, seq: int, n: int, rand: bytes) -> list[str]:
    """The per-id construction of ``new_id`` (a 128-bit integer each), for ``new_ids``."""
    out = []
    for k in range(n):
        seq += 1
        if seq > 0xFFF:
            ms, seq = ms + 1, 0
        r = int.from_bytes(rand[8 * k : 8 * k + 8], "big") & 0x3FFFFFFFFFFFFFFF
        h = f"{(ms << 80) | (0x7 << 76) | (seq << 64) | (0x2 << 62) | r:032x}"
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


@given(n=st.integers(1, 9000), seq=st.integers(-1, 0xFFF), seed=st.integers(0, 2**32))
def test_batch_ids_equal_the_per_id_construction(n: int, seq: int, seed: int) -> None:
    """new_ids builds ids from hex slices; they equal new_id's integer layout bit for bit,
    across millisecond borrows (the 12-bit sequence running out), and parse as UUIDv7."""
    import random
    import uuid
    from unittest import mock

    from ordinis.engines.learning.core import ids as ids_mod

    rand = random.Random(seed).randbytes(8 * n)
    ms = 1_767_000_000_000
    with mock.patch.object(ids_mod, "_last_ms", ms), \
            mock.patch.object(ids_mod, "_counter", seq), \
            mock.patch.object(ids_mod.os, "urandom", lambda k: rand[:k]), \
            mock.patch.object(ids_mod.time, "time_ns", lambda: (ms - 5) * 1_000_000):
        got = new_ids(n)
        end = (ids_mod._last_ms, ids_mod._counter)
    want = _reference_ids(ms, seq, n, rand)
    assert got == want
    last = uuid.UUID(want[-1])
    assert last.version == 7 and last.variant == uuid.RFC_4122
    assert end == (ms + (seq + n) // 4096, (seq + n) % 4096)  # new_id continues after them
