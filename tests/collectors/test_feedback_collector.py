"""FeedbackCollector: each record_* is stored as one event, read back with its priority."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ordinis.engines.learning.collectors import (
    EventSink,
    FeedbackCollector,
    FeedbackType,
    TradeOutcome,
)
from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.core.models import (
    EventType,
    FeedbackPriority,
    FeedbackRecord,
    LearningEvent,
)
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventQuery
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.safety import BreakerState, CircuitBreakerManager


class StoreSink:
    """A tiny real sink: encode the event and commit it to the SQLite store at once."""

    def __init__(self, store: SQLiteEventStore) -> None:
        self.store = store

    async def record_async(self, event: LearningEvent, timeout: float | None = None) -> str:
        row = encode_event(event, 64 * 1024)
        await asyncio.to_thread(self.store.append_events, [row])
        return event.event_id

    def query(self, q: EventQuery) -> list[LearningEvent]:
        return self.store.query_events(q)


class Env:
    def __init__(self, tmp: Path, clock: SimulatedClock) -> None:
        self.store = SQLiteEventStore(f"sqlite:///{tmp / 'events.db'}")
        self.store.open()
        self.clock = clock
        self.metrics = LearningMetrics()
        config = LearningEngineConfig.create(data_dir=tmp, breaker_max_consecutive_losses=5)
        self.breakers = CircuitBreakerManager(self.store, clock, self.metrics, config)
        self.breakers.load()
        self.sink = StoreSink(self.store)
        self.collector = FeedbackCollector(self.sink, self.breakers, clock, self.metrics)

    def stored(self) -> int:
        return self.store.count_events()


@pytest.fixture
def env(tmp_path: Path, sim_clock: SimulatedClock) -> Iterator[Env]:
    e = Env(tmp_path, sim_clock)
    yield e
    e.store.close()


def test_sink_satisfies_the_protocol(env: Env) -> None:
    assert isinstance(env.sink, EventSink)


# (method, kwargs, feedback type, expected priority, symbol)
CASES: list[tuple[str, dict[str, Any], FeedbackType, FeedbackPriority, str | None]] = [
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": 12.5, "return_pct": 0.012},
     FeedbackType.TRADE_OUTCOME, FeedbackPriority.NORMAL, "AAPL"),
    ("record_signal_accuracy", {"symbol": "MSFT", "predicted": 0.4, "actual_return": -0.01},
     FeedbackType.SIGNAL_ACCURACY, FeedbackPriority.LOW, "MSFT"),
    ("record_execution_failure", {"symbol": "AAPL", "error_type": "timeout",
                                  "message": "no ack in 5s"},
     FeedbackType.EXECUTION_FAILURE, FeedbackPriority.HIGH, "AAPL"),
    ("record_execution_failure", {"symbol": "AAPL", "error_type": "insufficient_buying_power",
                                  "message": "order exceeds buying power"},
     FeedbackType.EXECUTION_FAILURE, FeedbackPriority.CRITICAL, "AAPL"),
    ("record_execution_failure", {"symbol": "AAPL", "error_type": "broker_error",
                                  "message": "Margin call on account"},
     FeedbackType.EXECUTION_FAILURE, FeedbackPriority.CRITICAL, "AAPL"),
    ("record_execution_failure", {"symbol": "AAPL", "error_type": "ACCOUNT RESTRICTED",
                                  "message": "contact support"},
     FeedbackType.EXECUTION_FAILURE, FeedbackPriority.CRITICAL, "AAPL"),
    ("record_order_rejected", {"symbol": "TSLA", "reason": "price outside band", "side": "BUY"},
     FeedbackType.ORDER_REJECTED, FeedbackPriority.HIGH, "TSLA"),
    ("record_order_rejected", {"symbol": "TSLA", "reason": "insufficient buying power"},
     FeedbackType.ORDER_REJECTED, FeedbackPriority.CRITICAL, "TSLA"),
    ("record_regime_change", {"old_regime": "bull", "new_regime": "bear", "confidence": 0.8},
     FeedbackType.REGIME_CHANGE, FeedbackPriority.NORMAL, None),
    ("record_risk_breach", {"rule": "max_position", "value": 0.3, "limit": 0.25,
                            "symbol": "NVDA"},
     FeedbackType.RISK_BREACH, FeedbackPriority.HIGH, "NVDA"),
    ("record_insufficient_capital", {"symbol": "AMZN", "required": 10_000.0,
                                     "available": 2_500.0},
     FeedbackType.INSUFFICIENT_CAPITAL, FeedbackPriority.CRITICAL, "AMZN"),
    ("record_position_mismatch", {"symbol": "AAPL", "expected_quantity": 10,
                                  "actual_quantity": 12},
     FeedbackType.POSITION_MISMATCH, FeedbackPriority.CRITICAL, "AAPL"),
    ("record_broker_sync_failure", {"message": "positions endpoint 503", "broker": "alpaca"},
     FeedbackType.BROKER_SYNC_FAILURE, FeedbackPriority.HIGH, None),
    ("record_signal_batch", {"signal_count": 3, "symbols": ["A", "B", "C"]},
     FeedbackType.SIGNAL_BATCH, FeedbackPriority.LOW, None),
    ("record_trading_cycle", {"signals": 3, "orders": 2, "fills": 2, "errors": 0, "pnl": 4.0},
     FeedbackType.TRADING_CYCLE, FeedbackPriority.LOW, None),
    ("record_trading_cycle", {"signals": 3, "orders": 2, "fills": 1, "errors": 1},
     FeedbackType.TRADING_CYCLE, FeedbackPriority.NORMAL, None),
    ("record_error_rate_spike", {"engine": "execution", "error_rate": 0.4, "threshold": 0.1},
     FeedbackType.ERROR_RATE_SPIKE, FeedbackPriority.HIGH, None),
    ("record_signal_batch", {"signal_count": 0, "priority": "Critical"},
     FeedbackType.SIGNAL_BATCH, FeedbackPriority.CRITICAL, None),
]


@pytest.mark.parametrize(("method", "kwargs", "ftype", "priority", "symbol"), CASES)
async def test_each_record_is_stored_and_read_back(
    env: Env, method: str, kwargs: dict[str, Any], ftype: FeedbackType,
    priority: FeedbackPriority, symbol: str | None,
) -> None:
    result = await getattr(env.collector, method)(**kwargs)
    record: FeedbackRecord = result[0] if isinstance(result, tuple) else result
    assert record.priority is priority and record.feedback_type == ftype.value
    assert record.event_id == record.record_id and record.timestamp == env.clock.now()
    [back] = env.collector.query_feedback()
    assert back == record
    assert back.symbol == symbol
    assert env.collector.query_feedback(priority=priority) == [record]
    assert env.collector.query_feedback(feedback_type=ftype.value) == [record]
    [event] = env.store.query_events(EventQuery())
    assert event.event_type is EventType(ftype.value)
    assert event.event_id == record.record_id
    assert event.labels == {"priority": priority.value, "feedback_type": ftype.value}
    assert event.payload["feedback_type"] == ftype.value
    assert env.metrics.sample(
        "learning_feedback_records_total",
        {"feedback_type": ftype.value, "priority": priority.value},
    ) == 1


async def test_trade_outcome_event_carries_the_realised_outcome(env: Env) -> None:
    with_return = await env.collector.record_trade_outcome(
        "AAPL", 50.0, return_pct=0.02, entry_price=100.0, exit_price=102.0, quantity=25,
        model_name="m", model_version="3", metadata={"strategy": "mr"},
    )
    pnl_only = await env.collector.record_trade_outcome("AAPL", -7.0)
    events = {e.event_id: e for e in env.store.query_events(EventQuery())}
    assert events[with_return.record_id].outcome == pytest.approx(0.02)
    assert events[with_return.record_id].payload["outcome_kind"] == "return_pct"
    assert events[with_return.record_id].payload["metadata"] == {"strategy": "mr"}
    assert events[pnl_only.record_id].outcome == -7.0
    assert events[pnl_only.record_id].payload["outcome_kind"] == "pnl"


async def test_tenth_execution_failure_in_a_minute_trips(env: Env) -> None:
    results = []
    for i in range(10):
        record, tripped = await env.collector.record_execution_failure(
            "AAPL", "timeout", f"attempt {i}", order_id=f"o{i}"
        )
        results.append(tripped)
        assert record.data["breaker_tripped"] is tripped
        env.clock.advance(5)
    assert results == [False] * 9 + [True]
    assert env.breakers.states()["execution"].state is BreakerState.OPEN
    assert not env.breakers.should_allow_execution()[0]
    assert len(env.collector.query_feedback(feedback_type="execution_failure")) == 10


async def test_failures_spread_beyond_the_window_do_not_trip(env: Env) -> None:
    for _ in range(20):
        _, tripped = await env.collector.record_execution_failure("AAPL", "timeout", "slow")
        assert not tripped
        env.clock.advance(6.7)  # 9 gaps of 6.7 s > 60 s: at most 9 in any window


@pytest.mark.parametrize(
    ("method", "args", "engine", "count"),
    [
        ("record_order_rejected", {"symbol": "A", "reason": "band"}, "execution", 5),
        ("record_insufficient_capital", {"symbol": "A", "required": 2.0, "available": 1.0},
         "risk", 3),
        ("record_position_mismatch", {"symbol": "A", "expected_quantity": 1,
                                      "actual_quantity": 2}, "portfolio", 1),
        ("record_broker_sync_failure", {"message": "503"}, "execution", 2),
    ],
)
async def test_errors_feed_the_right_breaker(
    env: Env, method: str, args: dict[str, Any], engine: str, count: int
) -> None:
    for i in range(count):
        record = await getattr(env.collector, method)(**args)
        assert record.data["breaker_engine"] == engine
        assert record.data["breaker_tripped"] is (i == count - 1)
    states = env.breakers.states()
    assert states[engine].state is BreakerState.OPEN
    assert all(s.state is BreakerState.CLOSED for e, s in states.items() if e != engine)
    assert not env.breakers.should_allow_signals()[0]


async def test_losing_trades_block_signals(env: Env) -> None:
    for _ in range(4):
        await env.collector.record_trade_outcome("AAPL", -1.0)
    assert env.breakers.should_allow_signals()[0]
    record = await env.collector.record_trade_outcome("AAPL", -1.0)
    assert record.data["breaker_tripped"] is True
    assert not env.breakers.should_allow_signals()[0]


async def test_a_trade_outcome_closes_a_half_open_execution_breaker(env: Env) -> None:
    env.breakers.record_error("execution", "position_mismatch")  # threshold 1
    env.clock.advance(timedelta(seconds=300))
    assert env.breakers.should_allow_execution()[0]  # probe
    await env.collector.record_trade_outcome("AAPL", 1.0)
    assert env.breakers.states()["execution"].state is BreakerState.CLOSED


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("record_trade_outcome", {"symbol": "", "pnl": 1.0}, "symbol"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": math.nan}, "pnl"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": math.inf}, "pnl"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": "12"}, "pnl"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": True}, "pnl"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": 1.0, "priority": "urgent"}, "priority"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": 1.0, "entry_price": -3.0},
     "entry_price"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": 1.0, "metadata": {"x": math.nan}},
     "metadata"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": 1.0, "metadata": {"t": object()}},
     "metadata"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": 1.0, "metadata": {"x": -math.inf}},
     "metadata"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": 1.0,
                              "metadata": {"a": 1, "b": {"c": [math.nan]}}}, "metadata"),
    ("record_trade_outcome", {"symbol": "AAPL", "pnl": 1.0, "source_engine": ""},
     "source_engine"),
    ("record_signal_accuracy", {"symbol": "A", "predicted": 1.0, "actual_return": 0.1,
                                "confidence": 1.5}, "confidence"),
    ("record_execution_failure", {"symbol": "A", "error_type": "", "message": "m"},
     "error_type"),
    ("record_execution_failure", {"symbol": "A", "error_type": "x", "message": "m",
                                  "side": "hold"}, "side"),
    ("record_order_rejected", {"symbol": None, "reason": "r"}, "symbol"),
    ("record_regime_change", {"old_regime": "bull", "new_regime": "bull", "confidence": 0.5},
     "new_regime"),
    ("record_risk_breach", {"rule": "r", "value": math.nan, "limit": 1.0}, "value"),
    ("record_insufficient_capital", {"symbol": "A", "required": 0.0, "available": 1.0},
     "required"),
    ("record_position_mismatch", {"symbol": "A", "expected_quantity": 3, "actual_quantity": 3},
     "actual_quantity"),
    ("record_broker_sync_failure", {"message": " "}, "message"),
    ("record_signal_batch", {"signal_count": -1}, "signal_count"),
    ("record_signal_batch", {"signal_count": 1, "symbols": "AAPL"}, "symbols"),
    ("record_trading_cycle", {"errors": 1.5}, "errors"),
    ("record_error_rate_spike", {"engine": "x", "error_rate": -0.1}, "error_rate"),
]


@pytest.mark.parametrize(("method", "kwargs", "field"), BAD)
async def test_bad_input_is_refused_and_nothing_is_stored(
    env: Env, method: str, kwargs: dict[str, Any], field: str
) -> None:
    seen: list[FeedbackRecord] = []
    env.collector.add_listener(seen.append)
    with pytest.raises(ValidationError) as info:
        await getattr(env.collector, method)(**kwargs)
    assert any(p.field == field for p in info.value.problems), str(info.value)
    assert f"{field}=" in str(info.value)
    assert env.stored() == 0 and seen == []
    assert env.breakers.loss_state.trades == 0
    assert all(not s.error_counts for s in env.breakers.states().values())


async def test_every_problem_is_listed_at_once(env: Env) -> None:
    with pytest.raises(ValidationError) as info:
        await env.collector.record_trade_outcome("", math.nan, priority="urgent")
    assert {p.field for p in info.value.problems} == {"symbol", "pnl", "priority"}
    assert "low, normal, high, critical" in str(info.value)


async def test_listeners_get_each_record_and_a_failing_one_is_contained(env: Env) -> None:
    seen: list[FeedbackRecord] = []

    def broken(record: FeedbackRecord) -> None:
        raise RuntimeError("tracker bug")

    env.collector.add_listener(broken)
    env.collector.add_listener(seen.append)
    a = await env.collector.record_trade_outcome("AAPL", 1.0)
    b, _ = await env.collector.record_execution_failure("AAPL", "timeout", "slow")
    assert seen == [a, b]
    assert len(env.collector.listener_errors) == 2
    env.collector.remove_listener(seen.append)
    await env.collector.record_signal_batch(1)
    assert len(seen) == 2
    with pytest.raises(ValidationError, match="callable"):
        env.collector.add_listener("nope")  # type: ignore[arg-type]


async def test_query_filters(env: Env) -> None:
    t0 = env.clock.now()
    await env.collector.record_trade_outcome("AAPL", 1.0)
    env.clock.advance(60)
    await env.collector.record_trade_outcome("MSFT", 2.0, source_engine="backtest")
    await env.collector.record_insufficient_capital("MSFT", 10.0, 1.0)
    env.clock.advance(60)
    for i in range(5):
        await env.collector.record_signal_batch(i)
    q = env.collector.query_feedback
    assert [r.symbol for r in q(feedback_type=FeedbackType.TRADE_OUTCOME)] == ["AAPL", "MSFT"]
    assert [r.data["pnl"] for r in q(symbol="MSFT", feedback_type="trade_outcome")] == [2.0]
    assert [r.source_engine for r in q(source_engine="backtest")] == ["backtest"]
    assert [r.feedback_type for r in q(priority=FeedbackPriority.CRITICAL)] == [
        "insufficient_capital"
    ]
    assert len(q(start=t0 + timedelta(seconds=60), end=t0 + timedelta(seconds=120))) == 2
    assert [r.data["signal_count"] for r in q(limit=2, descending=True)] == [4, 3]
    assert len(q(priority="low", limit=3)) == 3  # the priority filter reads further
    with pytest.raises(ValidationError, match="unknown feedback type"):
        q(feedback_type="trade")
    with pytest.raises(ValidationError, match="limit"):
        q(limit=0)
    with pytest.raises(ValidationError, match="timezone-aware"):
        q(start=t0.replace(tzinfo=None))


async def test_foreign_events_of_a_feedback_type_are_read_as_normal_feedback(env: Env) -> None:
    event = LearningEvent(
        EventType.ORDER_REJECTED, "execution", "AAPL", timestamp=env.clock.now(),
        payload={"reason": "halted"},
    )
    await env.sink.record_async(event)
    [record] = env.collector.query_feedback()
    assert record.feedback_type == "order_rejected"
    assert record.priority is FeedbackPriority.NORMAL
    assert record.data == {"reason": "halted"}


async def test_a_batch_of_trade_outcomes_trips_on_the_same_trade_as_one_by_one(
    env: Env, tmp_path: Path, sim_clock: SimulatedClock
) -> None:
    """record_trade_outcomes: each trade stored, the breaker trips on the fifth loss in a row
    (as record_trade_outcome would), the later trades are still stored."""
    trades = [TradeOutcome("AAPL", -1.0, return_pct=-0.01) for _ in range(6)]
    records = await env.collector.record_trade_outcomes(trades)
    assert [r.data["breaker_tripped"] for r in records] == [False] * 4 + [True, False]
    assert [r.outcome for r in records] == [-0.01] * 6
    assert env.stored() == 6
    assert not env.breakers.should_allow_signals()[0]
    # the loss streak was committed once and survives a restart of the manager
    again = CircuitBreakerManager(env.store, sim_clock, LearningMetrics(), env.breakers.config)
    again.load()
    assert not again.should_allow_signals(consume_probe=False)[0]


async def test_a_bad_trade_in_a_batch_refuses_the_batch_naming_its_index(env: Env) -> None:
    trades = [TradeOutcome("AAPL", 1.0), TradeOutcome("", math.nan)]
    with pytest.raises(ValidationError) as err:
        await env.collector.record_trade_outcomes(trades)
    fields = {p.field for p in err.value.problems}
    assert {"trades[1].pnl", "trades[1].symbol"} <= fields
    assert env.stored() == 0
    assert env.breakers.should_allow_signals()[0]


async def test_search_similar_finds_stored_and_new_situations_with_outcomes(
    env: Env, sim_clock: SimulatedClock
) -> None:
    from ordinis.engines.learning.features import BruteForceIndex, SituationIndex

    c = env.collector
    with pytest.raises(ValidationError, match=r"ordinis-learning\[vectors\]"):
        await c.search_similar({"x": 1.0})
    stored = await c.record_trade_outcome(
        "NDX", pnl=5.0, return_pct=0.02, metadata={"features": {"x": 1.0, "y": 0.0},
                                                     "regime": "bull"})
    c.enable_similarity(SituationIndex(
        BruteForceIndex, lambda: c.query_feedback(limit=1000, descending=True)))
    sim_clock.advance(timedelta(hours=1))
    pending = await c.record_trade_outcome(  # recorded before the first search builds it
        "NDX", pnl=-3.0, return_pct=-0.01, metadata={"features": {"x": -1.0, "y": 0.0},
                                                       "regime": "bear"})
    found = await c.search_similar({"x": 0.9, "y": 0.1}, k=2)
    assert [f.record_id for f in found] == [stored.record_id, pending.record_id]
    assert (found[0].outcome, found[0].regime) == (0.02, "bull")
    sim_clock.advance(timedelta(hours=1))
    live = await c.record_trade_outcome(
        "NDX", pnl=1.0, return_pct=0.005, metadata={"features": {"x": 0.95, "y": 0.1}})
    near = await c.search_similar({"x": 0.95, "y": 0.1}, k=1)
    assert near[0].record_id == live.record_id
    losers = await c.search_similar({"x": 1.0, "y": 0.0}, where={"outcome": {"$lt": 0}})
    assert [f.record_id for f in losers] == [pending.record_id]


async def test_a_retried_batch_counts_each_trade_once(env: Env) -> None:
    """record_id is the idempotency key of each trade in a batch, as for one trade."""
    batch = [TradeOutcome("AAPL", -1.0, record_id=f"t{i}") for i in range(3)]
    await env.collector.record_trade_outcomes(batch)
    await env.collector.record_trade_outcomes(batch)  # a retry after a timeout
    assert env.breakers.should_allow_signals()[0]  # the streak is 3, not 6
    more = [TradeOutcome("AAPL", -1.0, record_id=f"u{i}") for i in range(2)]
    records = await env.collector.record_trade_outcomes(more)
    assert [r.data["breaker_tripped"] for r in records] == [False, True]
