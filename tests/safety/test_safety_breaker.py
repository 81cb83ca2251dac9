"""CircuitBreaker: rules at their thresholds, sliding windows on simulated time, probes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.errors import ConfigError, ValidationError
from ordinis.engines.learning.safety import (
    DEFAULT_TRIP_RULES,
    BreakerSnapshot,
    BreakerState,
    CircuitBreaker,
    TripRule,
)

TIMEOUT = 300.0


def make(clock: SimulatedClock, half_open_successes: int = 1) -> CircuitBreaker:
    return CircuitBreaker("execution", DEFAULT_TRIP_RULES, clock, TIMEOUT, half_open_successes)


def test_default_rules_are_the_documented_ones() -> None:
    rules = {r.error_type: (r.max_errors, r.window_seconds) for r in DEFAULT_TRIP_RULES}
    assert rules == {
        "execution_failure": (10, 60.0),
        "insufficient_capital": (3, 60.0),
        "order_rejected": (5, 60.0),
        "position_mismatch": (1, 300.0),
        "broker_sync_failure": (2, 60.0),
    }


@pytest.mark.parametrize("rule", DEFAULT_TRIP_RULES, ids=lambda r: r.error_type)
def test_each_rule_trips_at_its_threshold_not_one_below(
    sim_clock: SimulatedClock, rule: TripRule
) -> None:
    breaker = make(sim_clock)
    for _ in range(rule.max_errors - 1):
        assert breaker.record_error(rule.error_type, "boom") is False
        sim_clock.advance(rule.window_seconds / (rule.max_errors + 1))
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow() == (True, "execution breaker closed")
    assert breaker.record_error(rule.error_type, "last straw") is True
    assert breaker.state is BreakerState.OPEN
    ok, why = breaker.allow()
    assert not ok
    assert rule.error_type in why and "last straw" in why
    snap = breaker.snapshot()
    assert snap.trips == 1 and snap.trip_error_type == rule.error_type
    assert snap.opened_at == sim_clock.now()


def test_other_error_types_do_not_add_up(sim_clock: SimulatedClock) -> None:
    breaker = make(sim_clock)
    for _ in range(4):
        breaker.record_error("order_rejected")
    for _ in range(9):
        breaker.record_error("execution_failure")
    for _ in range(50):
        breaker.record_error("some_unruled_error")
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().error_counts == {
        "order_rejected": 4, "execution_failure": 9, "some_unruled_error": 50,
    }


def test_errors_slide_out_of_the_window(sim_clock: SimulatedClock) -> None:
    breaker = make(sim_clock)
    for _ in range(9):
        breaker.record_error("execution_failure")
    sim_clock.advance(59.999)
    assert breaker.error_count("execution_failure") == 9
    sim_clock.advance(0.001)  # age == window: expired
    assert breaker.error_count("execution_failure") == 0
    assert breaker.record_error("execution_failure") is False
    assert breaker.state is BreakerState.CLOSED


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.integers(min_value=0, max_value=30_000), min_size=1, max_size=60),
    max_errors=st.integers(min_value=1, max_value=12),
    window=st.integers(min_value=1, max_value=90),
)
def test_window_count_matches_a_reference_model(
    steps: list[int], max_errors: int, window: int
) -> None:
    clock = SimulatedClock()
    rule = TripRule("x", max_errors, float(window))
    breaker = CircuitBreaker("e", [rule], clock, 1e9)
    times: list[float] = []
    tripped_at: int | None = None
    for i, step_ms in enumerate(steps):
        clock.advance(step_ms / 1000)
        now = clock.time()
        times.append(now)
        in_window = [t for t in times if t > now - window]
        tripped = breaker.record_error("x")
        if tripped_at is None and len(in_window) >= max_errors:
            tripped_at = i
            assert tripped, f"should trip at step {i} with {len(in_window)} in window"
        else:
            assert not tripped
        assert breaker.error_count("x") == len(in_window)
    assert (breaker.state is BreakerState.OPEN) == (tripped_at is not None)


def test_half_open_probe_success_closes(sim_clock: SimulatedClock) -> None:
    breaker = make(sim_clock)
    breaker.record_error("position_mismatch")
    sim_clock.advance(TIMEOUT - 1)
    assert breaker.state is BreakerState.OPEN
    assert breaker.record_success() is False  # successes while open change nothing
    sim_clock.advance(1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow(consume=False)[0] is True
    ok, why = breaker.allow()
    assert ok and "probe 1/1" in why
    ok, why = breaker.allow()
    assert not ok and "waiting" in why
    assert breaker.record_success() is True
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().error_counts == {}  # closing starts a clean window
    changes = [(c.from_state, c.to_state) for c in breaker.pop_changes()]
    assert changes == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def test_half_open_failure_reopens_and_restarts_the_timeout(sim_clock: SimulatedClock) -> None:
    breaker = make(sim_clock)
    breaker.record_error("position_mismatch")
    sim_clock.advance(TIMEOUT)
    assert breaker.allow()[0]
    assert breaker.record_error("order_rejected", "probe rejected") is True
    assert breaker.state is BreakerState.OPEN
    assert breaker.snapshot().trips == 2
    sim_clock.advance(TIMEOUT - 1)
    assert breaker.state is BreakerState.OPEN
    sim_clock.advance(1)
    assert breaker.state is BreakerState.HALF_OPEN


def test_several_successes_needed_when_configured(sim_clock: SimulatedClock) -> None:
    breaker = make(sim_clock, half_open_successes=2)
    breaker.trip("test", error_type="execution_failure", latched=False)
    sim_clock.advance(TIMEOUT)
    assert breaker.allow()[0] and breaker.allow()[0] and not breaker.allow()[0]
    assert breaker.record_success() is False
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.record_success() is True
    assert breaker.state is BreakerState.CLOSED


def test_unanswered_probe_is_rearmed_after_the_timeout(sim_clock: SimulatedClock) -> None:
    breaker = make(sim_clock)
    breaker.trip("test", error_type="execution_failure", latched=False)
    sim_clock.advance(TIMEOUT)
    assert breaker.allow()[0]
    sim_clock.advance(TIMEOUT / 2)
    assert not breaker.allow()[0]
    sim_clock.advance(TIMEOUT / 2)
    assert breaker.allow()[0]


def test_manual_trip_is_latched_until_reset(sim_clock: SimulatedClock) -> None:
    breaker = make(sim_clock)
    assert breaker.trip("broker outage") is True
    assert breaker.trip("again") is False
    sim_clock.advance(10 * TIMEOUT)
    assert breaker.state is BreakerState.OPEN
    ok, why = breaker.allow()
    assert not ok and "manual reset required" in why
    breaker.reset(by="alice", reason="broker back")
    snap = breaker.snapshot()
    assert snap.state is BreakerState.CLOSED
    assert (snap.last_reset_by, snap.last_reset_reason) == ("alice", "broker back")
    assert snap.last_reset_at == sim_clock.now()


def test_manual_trip_latches_an_auto_opened_breaker(sim_clock: SimulatedClock) -> None:
    breaker = make(sim_clock)
    breaker.record_error("position_mismatch")
    assert breaker.trip("operator halt", by="bob") is False
    sim_clock.advance(TIMEOUT)
    assert breaker.state is BreakerState.OPEN


@pytest.mark.parametrize(("by", "reason"), [("", "x"), ("alice", ""), ("  ", "x"), (None, "x")])
def test_reset_needs_who_and_why(sim_clock: SimulatedClock, by: object, reason: str) -> None:
    breaker = make(sim_clock)
    breaker.trip("halt")
    with pytest.raises(ValidationError, match="must be a non-empty string"):
        breaker.reset(by=by, reason=reason)  # type: ignore[arg-type]
    assert breaker.state is BreakerState.OPEN


def test_snapshot_round_trips_through_its_stored_body(sim_clock: SimulatedClock) -> None:
    breaker = make(sim_clock)
    for _ in range(4):
        breaker.record_error("order_rejected")
    breaker.record_error("position_mismatch", "AAPL 10 vs 12")
    body = breaker.snapshot().to_body()
    other = make(sim_clock)
    other.restore(BreakerSnapshot.from_body(body))
    assert other.snapshot() == breaker.snapshot()
    assert other.record_error("order_rejected") is False  # already open; window kept
    assert other.error_count("order_rejected") == 5


def test_restore_refuses_another_engines_snapshot(sim_clock: SimulatedClock) -> None:
    with pytest.raises(ValidationError, match="belongs to another breaker"):
        make(sim_clock).restore(BreakerSnapshot("risk", BreakerState.OPEN))


def test_bad_rules_and_arguments_are_refused(sim_clock: SimulatedClock) -> None:
    with pytest.raises(ConfigError, match="max_errors"):
        TripRule("x", 0, 60)
    with pytest.raises(ConfigError, match="window_seconds"):
        TripRule("x", 1, float("nan"))
    with pytest.raises(ConfigError, match="appears twice"):
        CircuitBreaker("e", [TripRule("x", 1, 1), TripRule("x", 2, 1)], sim_clock, 1)
    with pytest.raises(ConfigError, match="recovery_timeout_seconds"):
        CircuitBreaker("e", [], sim_clock, 0)
    with pytest.raises(ValidationError, match="error_type"):
        make(sim_clock).record_error("")


def test_timeout_counts_from_opening_not_from_later_errors(sim_clock: SimulatedClock) -> None:
    breaker = make(sim_clock)
    breaker.record_error("position_mismatch")
    sim_clock.advance(timedelta(seconds=TIMEOUT - 10))
    breaker.record_error("position_mismatch")  # while open: counted, no new trip
    assert breaker.snapshot().trips == 1
    sim_clock.advance(10)
    assert breaker.state is BreakerState.HALF_OPEN
