"""Durability: a durable record survives SIGKILL; random failures never lose or duplicate."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from event_helpers import FlakyStore, make_event
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.clock import SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import BufferFullError, InvalidEventError, StoreError
from ordinis.engines.learning.events.pipeline import EventPipeline
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventQuery
from ordinis.engines.learning.observability.metrics import LearningMetrics

_CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from ordinis.engines.learning.core.clock import SystemClock
    from ordinis.engines.learning.core.config import LearningEngineConfig
    from ordinis.engines.learning.core.models import EventType, LearningEvent
    from ordinis.engines.learning.events.pipeline import EventPipeline
    from ordinis.engines.learning.events.factory import open_store
    from ordinis.engines.learning.observability.metrics import LearningMetrics

    async def main() -> None:
        store = open_store("sqlite:///" + sys.argv[1])
        config = LearningEngineConfig(data_dir=sys.argv[2], flush_interval_seconds=3600)
        pipeline = EventPipeline(store, config, SystemClock(), LearningMetrics())
        await pipeline.start()
        event = LearningEvent(EventType.TRADE_OUTCOME, "execution_engine", "AAPL",
                              payload={"pnl": 12.5}, outcome=0.012)
        await pipeline.record_durable(event)
        print("DURABLE", event.event_id, flush=True)
        time.sleep(120)  # blocks the loop: nothing else can flush before the kill

    asyncio.run(main())
    """
)


def test_durable_event_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db), str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("DURABLE "), proc.stderr.read() if proc.stderr else line
        event_id = line.split()[1]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    store = SQLiteEventStore(f"sqlite:///{db}")
    store.open()
    try:
        events = store.query_events(EventQuery(limit=None))
        assert [e.event_id for e in events] == [event_id]
        assert events[0].payload == {"pnl": 12.5} and events[0].outcome == 0.012
    finally:
        store.close()


_ops = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.integers(1, 5)),
        st.tuples(st.just("duplicate"), st.integers(0, 1000)),
        st.tuples(st.just("bad"), st.just(0)),
        st.tuples(st.just("flush"), st.just(0)),
        st.tuples(st.just("fail_before"), st.integers(1, 3)),
        st.tuples(st.just("fail_after"), st.integers(1, 2)),
        st.tuples(st.just("durable"), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops=_ops, capacity=st.integers(3, 12))
def test_random_interleavings_store_exactly_the_accepted_events(
    ops: list[tuple[str, int]], capacity: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    asyncio.run(_interleave(ops, capacity, tmp_path_factory.mktemp("h")))


async def _interleave(ops: list[tuple[str, int]], capacity: int, tmp: Path) -> None:
    inner = SQLiteEventStore("sqlite:///:memory:")
    inner.open()
    store = FlakyStore(inner)
    config = LearningEngineConfig(
        data_dir=tmp, max_events_memory=capacity, flush_batch_size=capacity,
        flush_retry_initial_seconds=0.001, flush_retry_max_seconds=0.002,
    )
    pipeline = EventPipeline(store, config, SystemClock(), LearningMetrics())  # type: ignore[arg-type]
    accepted: list[str] = []
    counter = 0
    for op, arg in ops:
        if op == "record":
            for _ in range(arg):
                event = make_event(counter)
                counter += 1
                with contextlib.suppress(BufferFullError):  # refused: never stored
                    accepted.append(pipeline.record(event))
        elif op == "duplicate" and accepted:
            again = make_event(0, event_id=accepted[arg % len(accepted)])
            with contextlib.suppress(BufferFullError):
                pipeline.record(again)
        elif op == "bad":
            with contextlib.suppress(InvalidEventError):
                pipeline.record(make_event(outcome=float("nan")))
        elif op == "flush":
            with contextlib.suppress(StoreError):  # kept in memory, retried by the next flush
                await pipeline.flush()
        elif op == "fail_before":
            store.fail_before += arg
        elif op == "fail_after":
            store.fail_after += arg
        elif op == "durable":
            event = make_event(counter)
            counter += 1
            try:
                await pipeline.record_durable(event)
                accepted.append(event.event_id)
            except StoreError:
                accepted.append(event.event_id)  # buffered; committed by a later flush
            except BufferFullError:
                pass  # full and the store refused: not recorded
    store.fail_before = store.fail_after = 0
    await pipeline.flush()
    stored = [e.event_id for e in inner.query_events(EventQuery(limit=None))]
    assert len(stored) == len(set(stored))
    assert set(stored) == set(accepted)
    assert pipeline.stats().buffered == 0
    inner.close()
