"""Finding 6: every trading-path call has a bounded wait; records are all-or-nothing, retries
idempotent (a record id), and a breaker save that fails never raises after the event is in."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from chaos_events import SwitchableStore, event, quick_config

from ordinis.engines.learning.collectors.feedback import FeedbackCollector
from ordinis.engines.learning.core.clock import SystemClock
from ordinis.engines.learning.core.errors import CallTimeoutError
from ordinis.engines.learning.events.pipeline import EventPipeline
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventQuery
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.safety.manager import CircuitBreakerManager


@dataclass
class Rig:
    inner: SQLiteEventStore
    store: SwitchableStore
    pipeline: EventPipeline
    breakers: CircuitBreakerManager
    collector: FeedbackCollector


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """Pipeline, breakers and collector over a store that can be failed, with a small buffer."""
    inner = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    inner.open()
    store = SwitchableStore(inner)
    config = quick_config(tmp_path, max_events_memory=50, flush_batch_size=10,
                          max_block_seconds=0.05, gate_timeout_seconds=0.2)
    clock, metrics = SystemClock(), LearningMetrics()
    pipeline = EventPipeline(store, config, clock, metrics)  # type: ignore[arg-type]
    breakers = CircuitBreakerManager(store, clock, metrics, config)  # type: ignore[arg-type]
    breakers.load()
    collector = FeedbackCollector(pipeline, breakers, clock, metrics, call_timeout=0.5)
    await pipeline.start()
    yield Rig(inner, store, pipeline, breakers, collector)
    store.down = False
    store.records_down = False
    store.stall.set()
    await pipeline.stop()
    inner.close()


async def _fill(rig: Rig) -> None:
    """Store down, buffer at capacity behind a failing in-flight batch."""
    rig.store.down = True
    rig.pipeline.record(event(0))
    for _ in range(500):
        if rig.pipeline.stats().in_flight:
            break
        await asyncio.sleep(0.01)
    for i in range(1, 51):
        rig.pipeline.record(event(i))


def _trades(rig: Rig) -> list[str]:
    q = EventQuery(symbol="MSFT", limit=None)
    return [e.event_id for e in rig.inner.query_events(q)]


async def test_trade_outcome_with_store_down_and_buffer_full_times_out_then_retries_once(
    rig: Rig,
) -> None:
    await _fill(rig)
    started = time.monotonic()
    with pytest.raises(CallTimeoutError, match="NOT recorded") as err:
        await rig.collector.record_trade_outcome("MSFT", pnl=-10.0, timeout=0.3)
    assert time.monotonic() - started < 5.0  # bounded (was: no answer within 10 s)
    record_id = err.value.record_id
    assert record_id
    assert rig.breakers.loss_state.consecutive_losses == 1  # the breaker saw it once
    rig.store.down = False  # the store recovers; the host retries with the same id
    record = await rig.collector.record_trade_outcome(
        "MSFT", pnl=-10.0, record_id=record_id, timeout=5.0
    )
    assert record.record_id == record_id
    await rig.collector.record_trade_outcome("MSFT", pnl=-10.0, record_id=record_id)
    await rig.pipeline.flush(timeout=5.0)
    assert _trades(rig) == [record_id]  # stored once
    assert rig.breakers.loss_state.consecutive_losses == 1  # and counted once


async def test_a_breaker_save_that_fails_does_not_raise_after_the_event_is_recorded(
    rig: Rig,
) -> None:
    rig.store.records_down = True  # breaker state cannot be saved; events can
    record = await rig.collector.record_trade_outcome("MSFT", pnl=-1.0)  # no StoreError
    assert rig.collector.breaker_errors  # logged and kept, retried on the next save
    rig.store.records_down = False
    again = await rig.collector.record_trade_outcome("MSFT", pnl=-1.0, record_id=record.record_id)
    await rig.pipeline.flush(timeout=5.0)
    assert _trades(rig) == [record.record_id]
    assert again.record_id == record.record_id
    assert rig.breakers.loss_state.consecutive_losses == 1


async def test_flush_and_durable_record_time_out_keeping_the_events(rig: Rig) -> None:
    rig.store.down = True
    rig.pipeline.record(event(1, event_id="kept-1"))
    with pytest.raises(CallTimeoutError, match="stay buffered"):
        await rig.pipeline.flush(timeout=0.2)
    with pytest.raises(CallTimeoutError, match="stay buffered"):
        await rig.pipeline.record_durable(event(2, event_id="kept-2"), timeout=0.2)
    assert rig.pipeline.stats().buffered == 2
    rig.store.down = False
    await rig.pipeline.flush(timeout=5.0)
    ids = {e.event_id for e in rig.inner.query_events(EventQuery(limit=None))}
    assert ids == {"kept-1", "kept-2"}


async def test_flush_times_out_while_the_store_hangs(rig: Rig) -> None:
    rig.store.stall.clear()  # a write that never answers (a hung server)
    rig.pipeline.record(event(1))
    with pytest.raises(CallTimeoutError):
        await rig.pipeline.flush(timeout=0.2)
    rig.store.stall.set()
    await rig.pipeline.flush(timeout=5.0)
    assert rig.inner.count_events() == 1


async def test_the_gates_answer_within_their_timeout_while_the_breakers_are_busy(
    rig: Rig,
) -> None:
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:  # another call holds the breakers (saving to a slow store)
        with rig.breakers._lock:
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        started = time.monotonic()
        with pytest.raises(CallTimeoutError, match="should_allow_signals"):
            rig.breakers.should_allow_signals()
        with pytest.raises(CallTimeoutError, match="should_allow_execution"):
            rig.breakers.should_allow_execution(timeout=0.1)
        assert time.monotonic() - started < 5.0
    finally:
        release.set()
        thread.join()
    assert rig.breakers.should_allow_signals() == (True, "all circuit breakers closed")
