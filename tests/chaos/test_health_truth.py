"""Health tells the truth: real signals, a grace period for the store, each cause named once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ordinis.engines.learning.core.clock import Scheduler, SimulatedClock
from ordinis.engines.learning.core.models import HealthLevel
from ordinis.engines.learning.observability.health import (
    HealthSignals,
    StoreReachability,
    assess,
)

OK = HealthSignals(
    store_error=None, store_down_seconds=0.0, consecutive_flush_failures=0, flush_error=None,
    flush_lag_seconds=0.0, buffered=0, capacity=10_000, signals_allowed=True, signals_reason="",
)


def test_all_quiet_is_healthy() -> None:
    assert assess(OK) == (HealthLevel.HEALTHY, [])


def test_failing_flushes_degrade_then_make_unhealthy() -> None:
    full = "OperationalError: database or disk is full"
    level, causes = assess(replace(OK, consecutive_flush_failures=1, flush_error=full))
    assert level is HealthLevel.DEGRADED
    assert causes == [f"1 consecutive event flush failure(s) ({full})"]
    level, causes = assess(replace(OK, consecutive_flush_failures=5, flush_error=full))
    assert level is HealthLevel.UNHEALTHY and "disk is full" in causes[0]
    level, _ = assess(replace(OK, flush_lag_seconds=301.0))
    assert level is HealthLevel.UNHEALTHY


def test_store_reachability_has_a_grace_period_on_the_clock() -> None:
    clock = SimulatedClock(datetime(2024, 1, 1, tzinfo=UTC))
    reach = StoreReachability()
    down = reach.observe(False, clock.now())
    level, causes = assess(replace(OK, store_error="connection terminated",
                                   store_down_seconds=down))
    assert level is HealthLevel.DEGRADED and "grace 30 s" in causes[0]
    clock.advance(timedelta(seconds=31))
    down = reach.observe(False, clock.now())
    assert assess(replace(OK, store_error="x", store_down_seconds=down))[0] is (
        HealthLevel.UNHEALTHY
    )
    assert reach.observe(True, clock.now()) == 0.0  # back: the grace starts again next time
    assert reach.observe(False, clock.now()) == 0.0


def test_a_blocked_signal_path_is_named_once() -> None:
    reason = "signals blocked: signal_engine: 5 consecutive losses"
    _, causes = assess(replace(OK, signals_allowed=False, signals_reason=reason))
    assert causes == ["signals blocked: signal_engine: 5 consecutive losses"]


def test_a_scheduled_task_that_recovers_leaves_health() -> None:
    clock = SimulatedClock(datetime(2024, 1, 1, tzinfo=UTC))
    sched = Scheduler(clock)
    outcomes = [RuntimeError("store locked"), None]

    def task() -> None:
        err = outcomes.pop(0)
        if err is not None:
            raise err

    sched.every(60, task, name="drift-check")
    clock.advance(61)
    failing = {name: str(err) for name, err in sched.failing.items()}
    level, causes = assess(replace(OK, failing_tasks=failing))
    assert level is HealthLevel.DEGRADED and "drift-check" in causes[0]
    clock.advance(60)
    assert sched.failing == {} and assess(replace(OK, failing_tasks={}))[0] is (
        HealthLevel.HEALTHY
    )
    assert len(sched.errors) == 1  # the history is kept; health looks at the present
