"""EventPipeline: group commit, retries without loss or duplicates, backpressure, validation."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest
from event_helpers import T0, FlakyStore, make_event

from ordinis.engines.learning.core.clock import SimulatedClock, SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import BufferFullError, InvalidEventError, StoreError
from ordinis.engines.learning.core.models import EventType
from ordinis.engines.learning.events.pipeline import EventPipeline
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventQuery, EventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics


def _pipeline(
    store: EventStore, config: LearningEngineConfig, **kwargs: object
) -> tuple[EventPipeline, LearningMetrics]:
    metrics = LearningMetrics()
    return EventPipeline(store, config, SystemClock(), metrics, **kwargs), metrics  # type: ignore[arg-type]


def _stored_ids(store: EventStore) -> list[str]:
    return [e.event_id for e in store.query_events(EventQuery(limit=None))]


async def test_group_commit_one_transaction_serves_all_waiters(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    flaky = FlakyStore(sqlite_store)
    pipeline, metrics = _pipeline(flaky, fast_config)  # type: ignore[arg-type]
    await pipeline.start()
    events = [make_event(i) for i in range(200)]
    ids = await asyncio.gather(*(pipeline.record_durable(e) for e in events))
    assert ids == [e.event_id for e in events]
    # The writer thread starts on the first waiter's event at once; everything recorded
    # while that transaction runs rides the next one: a couple of transactions, not 200.
    assert flaky.append_calls <= 3
    assert sqlite_store.count_events() == 200
    stats = pipeline.stats()
    assert stats.batches == flaky.append_calls and stats.committed == 200
    assert stats.buffered == 0
    await pipeline.stop()
    assert metrics.sample(
        "learning_events_total",
        {"event_type": "signal_generated", "source_engine": "signal_engine", "status": "stored"},
    ) == 200
    assert metrics.sample(
        "learning_event_processing_duration_seconds_count", {"event_type": "signal_generated"}
    ) == stats.batches  # each batch carries one event type: one observation each
    assert metrics.sample("learning_event_buffer_size", {"engine": "learning"}) == 0


async def test_durable_record_is_committed_when_it_returns(
    store: EventStore, fast_config: LearningEngineConfig
) -> None:
    pipeline, _ = _pipeline(store, fast_config)
    await pipeline.start()
    ev = make_event(1)
    assert await pipeline.record_durable(ev) == ev.event_id
    assert _stored_ids(store) == [ev.event_id]
    await pipeline.stop()


async def test_flush_commits_what_was_buffered_and_returns_the_count(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    pipeline, _ = _pipeline(sqlite_store, fast_config)
    assert await pipeline.flush() == 0
    for i in range(30):
        pipeline.record(make_event(i))
    assert sqlite_store.count_events() == 0  # buffered only
    assert await pipeline.flush() == 30  # works without start() too
    assert sqlite_store.count_events() == 30
    await pipeline.start()
    for i in range(30, 50):
        pipeline.record(make_event(i))
    assert await pipeline.flush() == 20
    assert sqlite_store.count_events() == 50
    await pipeline.stop()


async def test_batch_size_triggers_a_flush_without_waiting_for_the_interval(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    pipeline, _ = _pipeline(sqlite_store, fast_config)  # interval 30 s, batch 500
    await pipeline.start()
    for i in range(500):
        pipeline.record(make_event(i))
    for _ in range(1000):  # the flusher runs as soon as the loop is free
        if sqlite_store.count_events() == 500:
            break
        await asyncio.sleep(0.005)
    assert sqlite_store.count_events() == 500
    await pipeline.stop()


async def test_store_failures_are_retried_without_loss_or_duplicates(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    flaky = FlakyStore(sqlite_store)
    pipeline, metrics = _pipeline(flaky, fast_config)  # type: ignore[arg-type]
    await pipeline.start()
    events = [make_event(i) for i in range(300)]
    for e in events[:100]:
        pipeline.record(e)
    flaky.fail_before = 2  # two writes fail outright
    flaky.fail_after = 1  # then one commits but its acknowledgement is lost
    durable = asyncio.create_task(pipeline.record_durable(events[100]))
    for e in events[101:]:
        pipeline.record(e)
    # the durable task has not run yet: 299 events are buffered as of this call
    assert await pipeline.flush() == 299
    assert await durable == events[100].event_id
    stored = _stored_ids(sqlite_store)
    assert sorted(stored) == sorted(e.event_id for e in events)
    assert len(stored) == len(set(stored)) == 300
    stats = pipeline.stats()
    assert stats.flush_failures == 3 and stats.retries >= 3
    assert stats.duplicates >= 1  # the batch whose acknowledgement was lost, replayed
    assert stats.last_error is None  # recovered
    assert metrics.sample(
        "learning_event_store_errors_total", {"operation": "append_events"}
    ) == 3
    await pipeline.stop()


async def test_stop_while_store_is_down_keeps_events_and_fails_waiters(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    flaky = FlakyStore(sqlite_store)
    pipeline, _ = _pipeline(flaky, fast_config, stop_retries=2)  # type: ignore[arg-type]
    await pipeline.start()
    flaky.down = True
    waiter = asyncio.create_task(pipeline.record_durable(make_event(0)))
    for i in range(1, 10):
        pipeline.record(make_event(i))
    await asyncio.sleep(0.02)  # let the flusher fail a few times
    assert pipeline.stats().last_error is not None
    with pytest.raises(StoreError, match="10 event"):
        await pipeline.stop()
    with pytest.raises(StoreError, match="NOT committed"):
        await waiter
    assert pipeline.stats().buffered == 10  # nothing lost
    assert sqlite_store.count_events() == 0
    flaky.down = False
    assert await pipeline.flush() == 10
    assert sqlite_store.count_events() == 10


async def test_flush_without_flusher_raises_when_store_down_and_keeps_events(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    flaky = FlakyStore(sqlite_store)
    pipeline, _ = _pipeline(flaky, fast_config)  # type: ignore[arg-type]
    pipeline.record(make_event(0))
    flaky.down = True
    with pytest.raises(StoreError, match="stay buffered"):
        await pipeline.flush()
    flaky.down = False
    assert await pipeline.flush() == 1
    assert sqlite_store.count_events() == 1


async def test_full_buffer_sync_refuses_async_waits_nothing_dropped(
    sqlite_store: SQLiteEventStore, tmp_path: Path
) -> None:
    config = LearningEngineConfig(
        data_dir=tmp_path, max_events_memory=10, flush_batch_size=10,
        flush_interval_seconds=30.0,
    )
    pipeline, metrics = _pipeline(sqlite_store, config)
    accepted = [pipeline.record(make_event(i)) for i in range(10)]
    refused = make_event(10)
    with pytest.raises(BufferFullError, match="max_events_memory=10"):
        pipeline.record(refused)
    assert pipeline.stats().refused_full == 1
    # the async path waits for space (the flusher frees it) instead of raising
    await pipeline.start()
    more = [make_event(100 + i) for i in range(25)]
    for e in more:
        accepted.append(await pipeline.record_async(e))
    assert pipeline.stats().waits >= 1
    await pipeline.stop()
    stored = set(_stored_ids(sqlite_store))
    assert stored == set(accepted)
    assert refused.event_id not in stored
    assert metrics.sample(
        "learning_events_total",
        {"event_type": "signal_generated", "source_engine": "signal_engine",
         "status": "refused_full"},
    ) == 1
    assert metrics.sample("learning_event_buffer_waits_total") >= 1


async def test_bad_events_fail_at_the_call_and_the_stream_stores_fine(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    from datetime import datetime

    pipeline, metrics = _pipeline(sqlite_store, fast_config)
    await pipeline.start()
    bad = [
        ("event_type", make_event(event_type="not_a_type")),
        ("outcome", make_event(outcome=float("nan"))),
        ("timestamp", make_event(timestamp=datetime(2020, 1, 2))),
        ("payload.obj", make_event(payload={"obj": object()})),
        ("payload", make_event(payload={"blob": "x" * (70 * 1024)})),
    ]
    good = []
    for i, (field, event) in enumerate(bad):
        good.append(pipeline.record(make_event(i)))
        with pytest.raises(InvalidEventError) as err:
            pipeline.record(event)
        assert err.value.problems[0].field == field
        good.append(await pipeline.record_async(make_event(100 + i)))
    with pytest.raises(InvalidEventError):
        await pipeline.record_durable(make_event(outcome=float("inf")))
    await pipeline.flush()
    assert set(_stored_ids(sqlite_store)) == set(good)
    assert pipeline.stats().rejected_invalid == 6
    await pipeline.stop()
    rejected = metrics.sample(
        "learning_events_total",
        {"event_type": "signal_generated", "source_engine": "signal_engine", "status": "rejected"},
    )
    invalid_type = metrics.sample(
        "learning_events_total",
        {"event_type": "invalid", "source_engine": "signal_engine", "status": "rejected"},
    )
    assert (rejected, invalid_type) == (5, 1)


async def test_disabled_types_are_counted_not_stored(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    pipeline, metrics = _pipeline(
        sqlite_store, fast_config, disabled_types=frozenset({EventType.MODEL_PREDICTION})
    )
    off = make_event(1, event_type=EventType.MODEL_PREDICTION)
    on = make_event(2)
    assert pipeline.record(off) == off.event_id
    assert await pipeline.record_durable(make_event(3, event_type="model_prediction"))
    assert pipeline.record(on) == on.event_id
    await pipeline.flush()
    assert _stored_ids(sqlite_store) == [on.event_id]
    assert pipeline.stats().disabled_skipped == 2
    assert metrics.sample(
        "learning_events_total",
        {"event_type": "model_prediction", "source_engine": "signal_engine",
         "status": "disabled"},
    ) == 2


async def test_clean_stop_flushes_everything(
    store: EventStore, fast_config: LearningEngineConfig
) -> None:
    pipeline, _ = _pipeline(store, fast_config)
    await pipeline.start()
    events = [make_event(i) for i in range(1234)]  # more than one batch
    for e in events:
        await pipeline.record_async(e)
    await pipeline.stop()
    assert pipeline.stats().buffered == 0
    assert not pipeline.running
    assert store.count_events() == 1234


async def test_records_from_other_threads_are_stored(
    sqlite_store: SQLiteEventStore, tmp_path: Path
) -> None:
    config = LearningEngineConfig(
        data_dir=tmp_path, max_events_memory=5000, flush_batch_size=100,
        flush_interval_seconds=30.0,
    )
    pipeline, _ = _pipeline(sqlite_store, config)
    await pipeline.start()
    events = [make_event(i) for i in range(1200)]

    def produce(chunk: list) -> None:
        for e in chunk:
            pipeline.record(e)  # crosses flush_batch_size from a foreign thread

    await asyncio.gather(*(asyncio.to_thread(produce, events[k::4]) for k in range(4)))
    await pipeline.flush()
    assert sorted(_stored_ids(sqlite_store)) == sorted(e.event_id for e in events)
    await pipeline.stop()


async def test_query_can_include_buffered_events(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    pipeline, _ = _pipeline(sqlite_store, fast_config)
    committed = make_event(1, symbol="MSFT")
    await pipeline.record_durable(committed)
    buffered = [make_event(2, symbol="MSFT"), make_event(0, symbol="AAPL")]
    for e in buffered:
        pipeline.record(e)
    pipeline.record(committed)  # a buffered duplicate of a committed id appears once
    q = EventQuery(symbol="MSFT", limit=None)
    assert [e.event_id for e in pipeline.query(q)] == [committed.event_id]
    merged = pipeline.query(q, include_buffered=True)
    assert [e.event_id for e in merged] == [committed.event_id, buffered[0].event_id]
    everything = pipeline.query(EventQuery(limit=2), include_buffered=True)
    assert [e.event_id for e in everything] == [buffered[1].event_id, committed.event_id]
    window = pipeline.query(
        EventQuery(start=T0 + timedelta(seconds=2), limit=None), include_buffered=True
    )
    assert [e.event_id for e in window] == [buffered[0].event_id]


async def test_lag_is_measured_on_the_engine_clock(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    clock = SimulatedClock(T0)
    metrics = LearningMetrics()
    pipeline = EventPipeline(sqlite_store, fast_config, clock, metrics)
    pipeline.record(make_event(0))
    clock.advance(42)
    pipeline.record(make_event(1))
    assert pipeline.stats().oldest_buffered_age_seconds == 42
    assert await pipeline.flush() == 2
    assert pipeline.stats().oldest_buffered_age_seconds == 0
    assert metrics.sample("learning_event_flush_lag_seconds") == 0


async def test_commits_are_cut_to_the_store_statement_size(
    sqlite_store: SQLiteEventStore, tmp_path: Path
) -> None:
    # SQLite writes up to max_batch_rows in one statement (one transaction, one GIL
    # hand-over); a larger buffer is committed in several such batches, in order.
    flaky = FlakyStore(sqlite_store)
    config = LearningEngineConfig(
        data_dir=tmp_path, max_events_memory=10_000, flush_batch_size=10_000,
        flush_interval_seconds=30.0,
    )
    pipeline, _ = _pipeline(flaky, config)  # type: ignore[arg-type]
    events = [make_event(i) for i in range(9_001)]
    for ev in events:
        pipeline.record(ev)
    await pipeline.start()
    assert await pipeline.flush() == 9_001
    await pipeline.stop()
    assert flaky.committed_batches == [4000, 4000, 1001]
    assert _stored_ids(sqlite_store) == [e.event_id for e in events]


def _json_event(i: int, event_type: str = "signal_generated") -> dict[str, object]:
    return {"event_type": event_type, "source_engine": "api", "symbol": "SPY",
            "timestamp": (T0 + timedelta(seconds=i)).isoformat(), "payload": {"i": i},
            "event_id": f"json-{i}"}


async def test_a_returned_flush_has_pushed_the_counts_recorded_before_it(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    """The writer pushes the outcome counts before it wakes the flush's waiter, so a slow
    metrics push cannot leave a just-flushed disabled event uncounted (a flaky read once)."""
    pipeline, metrics = _pipeline(
        sqlite_store, fast_config, disabled_types=frozenset({EventType.MODEL_PREDICTION})
    )
    push = pipeline._publish

    def slow_push() -> None:
        time.sleep(0.05)  # the writer thread descheduled right after the commit
        push()

    pipeline._publish = slow_push  # type: ignore[method-assign]
    await pipeline.start()
    await pipeline.record_json([_json_event(0, "model_prediction"), _json_event(1)], T0)
    await pipeline.flush()
    assert metrics.sample(
        "learning_events_total",
        {"event_type": "model_prediction", "source_engine": "api", "status": "disabled"},
    ) == 1
    await pipeline.stop()


async def test_json_batch_larger_than_the_buffer_waits_for_space_and_stores_all(
    sqlite_store: SQLiteEventStore, tmp_path: Path
) -> None:
    """The batch goes into the buffer at once while it fits; the rest awaits space (the
    writer drains), in order, and a durable flush then holds every event exactly once."""
    config = LearningEngineConfig(
        data_dir=tmp_path, max_events_memory=10, flush_batch_size=10,
        flush_interval_seconds=30.0,
    )
    pipeline, _ = _pipeline(sqlite_store, config)
    await pipeline.start()
    ids = await pipeline.record_json([_json_event(i) for i in range(35)], T0)
    await pipeline.flush()
    assert ids == [f"json-{i}" for i in range(35)]
    assert sorted(_stored_ids(sqlite_store)) == sorted(ids)
    assert pipeline.stats().waits >= 1
    await pipeline.stop()


async def test_json_batch_skips_disabled_types_and_counts_them(
    sqlite_store: SQLiteEventStore, fast_config: LearningEngineConfig
) -> None:
    pipeline, metrics = _pipeline(
        sqlite_store, fast_config, disabled_types=frozenset({EventType.MODEL_PREDICTION})
    )
    await pipeline.start()
    batch = [_json_event(0), _json_event(1, "model_prediction"), _json_event(2)]
    assert await pipeline.record_json(batch, T0) == ["json-0", "json-1", "json-2"]
    await pipeline.flush()
    assert sorted(_stored_ids(sqlite_store)) == ["json-0", "json-2"]
    assert pipeline.stats().disabled_skipped == 1
    assert metrics.sample(
        "learning_events_total",
        {"event_type": "model_prediction", "source_engine": "api", "status": "disabled"},
    ) == 1
    await pipeline.stop()
