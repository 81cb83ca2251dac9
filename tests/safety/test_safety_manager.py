"""CircuitBreakerManager: persistence across restarts, loss trips, gates, metrics, callbacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import SignalBlockedError, StoreError, ValidationError
from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.safety import (
    BREAKER_RECORD_KIND,
    BreakerChange,
    BreakerState,
    CircuitBreakerManager,
    TripRule,
)

TIMEOUT = 300.0


class FlakyStore(SQLiteEventStore):
    """A real SQLite store whose record writes fail while ``broken`` is set."""

    broken = False

    def put_record(self, record: StoredRecord) -> None:
        if self.broken:
            raise OSError("disk unplugged")
        super().put_record(record)


def open_store(path: Path) -> FlakyStore:
    store = FlakyStore(f"sqlite:///{path}")
    store.open()
    return store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def config(data_dir: Path) -> LearningEngineConfig:
    return LearningEngineConfig.create(
        data_dir=data_dir,
        breaker_recovery_timeout_seconds=TIMEOUT,
        breaker_max_consecutive_losses=5,
        breaker_max_drawdown_pct=0.10,
    )


class Harness:
    def __init__(self, db: Path, clock: SimulatedClock, config: LearningEngineConfig) -> None:
        self.store = open_store(db)
        self.metrics = LearningMetrics()
        self.changes: list[BreakerChange] = []
        self.manager = CircuitBreakerManager(
            self.store, clock, self.metrics, config, on_change=self.changes.append
        )
        self.manager.load()

    def gauge(self, engine: str) -> float:
        return self.metrics.sample("circuit_breaker_state", {"engine": engine})

    def trips(self, engine: str, error_type: str) -> float:
        return self.metrics.sample(
            "circuit_breaker_trips_total", {"engine": engine, "error_type": error_type}
        )


@pytest.fixture
def h(db: Path, sim_clock: SimulatedClock, config: LearningEngineConfig) -> Iterator[Harness]:
    harness = Harness(db, sim_clock, config)
    yield harness
    harness.store.close()


def test_restart_with_an_open_breaker_comes_back_open_and_blocks(
    db: Path, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    first = Harness(db, sim_clock, config)
    tripped = [first.manager.record_error("execution", "execution_failure") for _ in range(10)]
    assert tripped == [False] * 9 + [True]
    # the process "crashes": no shutdown, no flush; a new process opens the same file
    second = Harness(db, sim_clock, config)
    assert second.manager.states()["execution"].state is BreakerState.OPEN
    ok, why = second.manager.should_allow_signals()
    assert not ok and "execution_failure" in why
    assert not second.manager.should_allow_execution()[0]
    with pytest.raises(SignalBlockedError, match="execution_failure"):
        second.manager.require_signals_allowed()
    assert second.gauge("execution") == 1  # open
    first.store.close()
    second.store.close()


def test_state_change_is_committed_before_the_call_returns(
    h: Harness, db: Path
) -> None:
    h.manager.record_error("portfolio", "position_mismatch", "AAPL: 10 vs 12")
    other = open_store(db)  # a separate connection sees the committed row
    record = other.get_record(BREAKER_RECORD_KIND, "portfolio")
    other.close()
    assert record is not None and record.tag == "open"
    assert record.body["trip_error_type"] == "position_mismatch"


def test_error_windows_survive_a_restart(
    db: Path, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    first = Harness(db, sim_clock, config)
    for _ in range(4):
        first.manager.record_error("execution", "order_rejected")
    second = Harness(db, sim_clock, config)
    assert second.manager.record_error("execution", "order_rejected") is True
    first.store.close()
    second.store.close()


def test_a_lazy_host_that_forgets_load_does_not_overwrite_an_open_state(
    db: Path, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    first = Harness(db, sim_clock, config)
    first.manager.trip("risk", "halt", by="ops")
    store = open_store(db)
    fresh = CircuitBreakerManager(store, sim_clock, LearningMetrics(), config)
    fresh.record_error("risk", "timeout")  # no load(): the first use loads
    assert fresh.states()["risk"].state is BreakerState.OPEN
    first.store.close()
    store.close()


def test_recovery_probe_and_metrics(h: Harness, sim_clock: SimulatedClock) -> None:
    assert h.gauge("execution") == 0
    for _ in range(2):
        h.manager.record_error("execution", "broker_sync_failure")
    assert h.gauge("execution") == 1  # open (the review: 0 closed, 1 open, 2 half-open)
    assert h.trips("execution", "broker_sync_failure") == 1
    sim_clock.advance(TIMEOUT)
    assert h.manager.should_allow_signals()[0]  # half-open execution does not hold signals
    assert h.gauge("execution") == 2  # half-open
    # it left the open state after exactly the recovery timeout (clock time), observed once
    opened = {"engine": "execution"}
    assert h.metrics.sample("circuit_breaker_open_duration_seconds_count", opened) == 1
    assert h.metrics.sample("circuit_breaker_open_duration_seconds_sum", opened) == TIMEOUT
    assert h.manager.should_allow_execution()[0]  # the probe
    assert not h.manager.should_allow_execution()[0]
    assert h.manager.record_success("execution") is True
    assert h.gauge("execution") == 0
    assert h.manager.should_allow_execution() == (True, "all circuit breakers closed")
    assert [(c.from_state, c.to_state) for c in h.changes] == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def test_failed_probe_reopens_and_counts_a_trip(h: Harness, sim_clock: SimulatedClock) -> None:
    h.manager.record_error("portfolio", "position_mismatch")
    sim_clock.advance(TIMEOUT)
    h.manager.poll()
    assert h.gauge("portfolio") == 2  # half-open
    assert h.manager.record_error("portfolio", "position_mismatch") is True
    assert h.gauge("portfolio") == 1  # open again
    assert h.trips("portfolio", "position_mismatch") == 2


def test_manual_reset_records_who_and_why(h: Harness, db: Path) -> None:
    assert h.manager.trip("risk", "suspicious fills", by="alice") is True
    assert h.trips("risk", "manual") == 1
    snap = h.manager.reset("risk", by="bob", reason="fills reconciled")
    assert snap.state is BreakerState.CLOSED
    assert (snap.last_reset_by, snap.last_reset_reason) == ("bob", "fills reconciled")
    assert [(c.to_state, c.by) for c in h.changes] == [
        (BreakerState.OPEN, "alice"), (BreakerState.CLOSED, "bob"),
    ]
    assert "fills reconciled" in h.changes[-1].reason
    other = open_store(db)
    record = other.get_record(BREAKER_RECORD_KIND, "risk")
    other.close()
    assert record is not None and record.body["last_reset_by"] == "bob"
    with pytest.raises(ValidationError, match="by"):
        h.manager.trip("risk", "x", by="")


@pytest.mark.parametrize(
    ("engine", "signals", "execution"),
    [
        ("signal", False, True),
        ("risk", False, False),
        ("execution", False, False),
        ("portfolio", False, False),
    ],
)
def test_which_breakers_block_what(
    h: Harness, engine: str, signals: bool, execution: bool
) -> None:
    h.manager.trip(engine, "test", by="ops")
    assert h.manager.should_allow_signals()[0] is signals
    assert h.manager.should_allow_execution()[0] is execution
    h.manager.reset(engine, by="ops", reason="done")
    assert h.manager.should_allow_signals()[0] and h.manager.should_allow_execution()[0]


def test_consecutive_losses_trip_at_the_limit(h: Harness) -> None:
    for _ in range(4):
        assert h.manager.record_trade_result(-10.0) is False
    assert h.manager.record_trade_result(5.0) is False  # a win ends the streak
    for _ in range(4):
        assert h.manager.record_trade_result(-10.0) is False
    assert h.manager.should_allow_signals()[0]
    assert h.manager.record_trade_result(-1.0) is True
    ok, why = h.manager.should_allow_signals()
    assert not ok and "5 consecutive losing trades" in why
    assert h.manager.should_allow_execution()[0]  # exits can still be executed
    assert h.trips("signal", "consecutive_losses") == 1
    assert h.manager.loss_state.consecutive_losses == 0  # counting restarts after a trip


def test_drawdown_trips_at_the_limit(h: Harness) -> None:
    assert h.manager.record_trade_result(10.0, equity=100.0) is False
    assert h.manager.record_trade_result(10.0, equity=110.0) is False
    assert h.manager.record_trade_result(-10.9, equity=99.1) is False  # 9.9%
    assert h.manager.record_trade_result(-0.1, equity=99.0) is True  # 10% of 110
    assert "drawdown 10.00%" in h.manager.should_allow_signals()[1]
    assert h.trips("signal", "max_drawdown") == 1


def test_signal_half_open_closes_on_a_win_and_reopens_on_a_loss(
    h: Harness, sim_clock: SimulatedClock
) -> None:
    for _ in range(5):
        h.manager.record_trade_result(-1.0)
    sim_clock.advance(TIMEOUT)
    assert h.manager.should_allow_signals(consume_probe=False)[0]  # a health check looks only
    ok, why = h.manager.should_allow_signals()
    assert ok and "probe" in why
    assert not h.manager.should_allow_signals()[0]
    assert h.manager.record_trade_result(-1.0) is True
    assert h.manager.states()["signal"].state is BreakerState.OPEN
    sim_clock.advance(TIMEOUT)
    assert h.manager.should_allow_signals()[0]
    assert h.manager.record_trade_result(3.0) is False
    assert h.manager.states()["signal"].state is BreakerState.CLOSED


def test_loss_streak_survives_a_restart(
    db: Path, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    first = Harness(db, sim_clock, config)
    for _ in range(4):
        first.manager.record_trade_result(-1.0)
    second = Harness(db, sim_clock, config)
    assert second.manager.record_trade_result(-1.0) is True
    first.store.close()
    second.store.close()


def test_bad_trade_results_and_engines_are_refused(h: Harness) -> None:
    with pytest.raises(ValidationError, match="pnl"):
        h.manager.record_trade_result(float("nan"))
    with pytest.raises(ValidationError, match="equity"):
        h.manager.record_trade_result(1.0, equity=float("inf"))
    assert h.manager.loss_state.trades == 0
    with pytest.raises(ValidationError, match="known: signal, risk, execution, portfolio"):
        h.manager.record_error("broker", "execution_failure")


def test_a_trip_that_cannot_be_saved_still_blocks_and_raises(h: Harness) -> None:
    h.store.broken = True
    for _ in range(9):
        with pytest.raises(StoreError, match="disk unplugged"):
            h.manager.record_error("execution", "execution_failure")
    with pytest.raises(StoreError):
        h.manager.record_error("execution", "execution_failure")
    assert not h.manager.should_allow_execution()[0]  # memory stays on the safe side
    assert h.changes == []  # nothing reported until it is saved
    h.store.broken = False
    h.manager.poll()  # retried on the next call
    assert [c.to_state for c in h.changes] == [BreakerState.OPEN]
    assert h.store.get_record(BREAKER_RECORD_KIND, "execution").tag == "open"  # type: ignore[union-attr]


def test_a_reset_that_cannot_be_saved_is_undone(h: Harness) -> None:
    h.manager.trip("risk", "halt", by="ops")
    h.store.broken = True
    with pytest.raises(StoreError):
        h.manager.reset("risk", by="ops", reason="try")
    assert h.manager.states()["risk"].state is BreakerState.OPEN
    assert not h.manager.should_allow_signals()[0]


def test_unreadable_stored_state_comes_back_open_and_latched(
    db: Path, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    store = open_store(db)
    now = sim_clock.now()
    store.put_record(StoredRecord(BREAKER_RECORD_KIND, "execution", {"state": "??"}, now, now))
    store.close()
    h = Harness(db, sim_clock, config)
    sim_clock.advance(10 * TIMEOUT)
    ok, why = h.manager.should_allow_execution()
    assert not ok and "unreadable" in why and "manual reset required" in why
    h.store.close()


def test_custom_rules_and_a_failing_callback(
    db: Path, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    store = open_store(db)

    def explode(change: BreakerChange) -> Any:
        raise RuntimeError("audit down")

    manager = CircuitBreakerManager(
        store, sim_clock, LearningMetrics(), config,
        rules={"execution": [TripRule("execution_failure", 2, 10.0)]}, on_change=explode,
    )
    manager.load()
    manager.record_error("execution", "execution_failure")
    assert manager.record_error("execution", "execution_failure") is True
    assert manager.states()["execution"].state is BreakerState.OPEN
    assert len(manager.callback_errors) == 1
    store.close()
