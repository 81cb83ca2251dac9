"""Trigger rules: degradation %, N consecutive losses, K alerts in a window, weekly/monthly/cron."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.models import DriftAlert, DriftSeverity, DriftType
from ordinis.engines.learning.feedback import (
    ConsecutiveLossRule,
    DegradationRule,
    DriftAlertRule,
    RetrainingTrigger,
    ScheduleRule,
    TriggerStatus,
    TriggerType,
    drift_alert_to_trigger,
)
from ordinis.engines.learning.feedback.pipeline_spec import (
    ConsecutiveLossRuleConfig,
    DegradationRuleConfig,
    DriftAlertRuleConfig,
    ScheduleRuleConfig,
)

THU = datetime(2020, 1, 2, 14, 30, tzinfo=UTC)  # a Thursday


def _alert(
    clock: SimulatedClock, severity: DriftSeverity, metric: str = "psi_vol_20"
) -> DriftAlert:
    return DriftAlert(
        model_name="m", drift_type=DriftType.DATA, severity=severity, metric=metric,
        current_value=0.31, baseline_value=0.02, threshold=0.1, detected_at=clock.now(),
    )


# ------------------------------------------------------------------------------ degradation
def test_degradation_over_the_percentage_triggers_and_names_the_worst_metric() -> None:
    clock = SimulatedClock(THU)
    rule = DegradationRule(DegradationRuleConfig(degradation_pct=20), clock)
    rule.set_baseline("m", {"sharpe": 1.5, "win_rate": 0.56, "max_drawdown": 0.10})
    # sharpe 13% worse, win rate 4% worse: under 20 %
    assert rule.update("m", {"sharpe": 1.3, "win_rate": 0.54, "max_drawdown": 0.11}) is None
    # drawdown 50% worse (lower is better), sharpe 26.7% worse: the worst one is named
    t = rule.update("m", {"sharpe": 1.1, "win_rate": 0.55, "max_drawdown": 0.15})
    assert t is not None and t.trigger_type is TriggerType.PERFORMANCE_DEGRADATION
    assert t.details["metric"] == "max_drawdown"
    assert t.details["degradation"] == pytest.approx(0.5)
    assert "max_drawdown" in t.reason and "limit 20%" in t.reason
    assert t.created_at == THU and t.status is TriggerStatus.PENDING


def test_degradation_reads_its_baseline_source_and_refuses_a_second_copy() -> None:
    stored = {"m": {"sharpe": 1.5}}
    rule = DegradationRule(DegradationRuleConfig(degradation_pct=20), SimulatedClock(THU),
                           baseline_of=lambda name: stored.get(name, {}))
    assert rule.update("m", {"sharpe": 1.4}) is None
    stored["m"] = {"sharpe": 3.0}  # the source changed: the rule compares with it at once
    t = rule.update("m", {"sharpe": 1.4})
    assert t is not None and t.details["baseline"] == 3.0
    with pytest.raises(ValueError, match=r"set it with engine\.set_baseline"):
        rule.set_baseline("m", {"sharpe": 0.1})
    assert rule.baseline("m") == {"sharpe": 3.0}


def test_degradation_improvement_and_unknown_metrics_do_not_trigger() -> None:
    clock = SimulatedClock(THU)
    rule = DegradationRule(DegradationRuleConfig(degradation_pct=10), clock)
    assert rule.update("m", {"sharpe": 0.1}) is None  # no baseline known
    assert rule.update("m", {"sharpe": 2.0}, baseline={"sharpe": 1.0}) is None  # better
    assert rule.update("m", {"latency": 99.0}, baseline={"latency": 1.0}) is None  # not watched
    t = rule.update("m", {"sharpe": -0.2}, baseline={"sharpe": 0.5})
    assert t is not None and t.details["degradation"] == pytest.approx(1.4)
    assert DegradationRule.degradation(0.0, -0.1, True) == float("inf")


def test_disabled_rules_never_trigger() -> None:
    clock = SimulatedClock(THU)
    assert DegradationRule(DegradationRuleConfig(enabled=False), clock).update(
        "m", {"sharpe": -5}, baseline={"sharpe": 1}
    ) is None
    losses = ConsecutiveLossRule(ConsecutiveLossRuleConfig(enabled=False, count=1), clock)
    assert losses.update("m", -1.0) is None
    drift = DriftAlertRule(DriftAlertRuleConfig(enabled=False), clock)
    assert drift.update(_alert(clock, DriftSeverity.CRITICAL)) is None


# ------------------------------------------------------------------------------ losses
def test_n_consecutive_losses_trigger_and_a_win_resets_the_streak() -> None:
    clock = SimulatedClock(THU)
    rule = ConsecutiveLossRule(ConsecutiveLossRuleConfig(count=3), clock)
    outcomes = [-1.0, -2.0, 5.0, -1.0, 0.0, -1.0]  # win resets, a flat trade leaves the streak
    assert all(rule.update("m", pnl) is None for pnl in outcomes)
    assert rule.streak("m") == 2
    t = rule.update("m", -0.5)
    assert t is not None and t.trigger_type is TriggerType.CONSECUTIVE_LOSSES
    assert t.details == {"consecutive_losses": 3, "limit": 3}
    assert rule.streak("m") == 0  # counted once, then starts over
    assert rule.update("other", -1.0) is None  # per model


# ------------------------------------------------------------------------------ drift alerts
def test_critical_alert_triggers_drift_at_once() -> None:
    clock = SimulatedClock(THU)
    rule = DriftAlertRule(DriftAlertRuleConfig(min_severity="critical"), clock)
    alert = _alert(clock, DriftSeverity.CRITICAL)
    t = rule.update(alert)
    assert t is not None and t.trigger_type is TriggerType.DRIFT
    assert t.source_alert_ids == [alert.alert_id]
    assert "critical data drift on psi_vol_20" in t.reason


def test_more_than_k_alerts_within_the_window_trigger_alert_count() -> None:
    clock = SimulatedClock(THU)
    rule = DriftAlertRule(DriftAlertRuleConfig(max_alerts=3, window="6h"), clock)
    # four warnings 3 h apart: never more than 3 inside 6 h
    for _ in range(4):
        assert rule.update(_alert(clock, DriftSeverity.WARNING)) is None
        clock.advance(timedelta(hours=3))
    clock.advance(timedelta(hours=6))  # the window empties
    # four within 1.5 h: only the fourth one is "more than 3"
    alerts, fired = [], []
    for i in range(4):
        alerts.append(_alert(clock, DriftSeverity.WARNING, metric=f"f{i}"))
        fired.append(rule.update(alerts[-1]))
        clock.advance(timedelta(minutes=30))
    assert fired[:3] == [None, None, None]
    t = fired[3]
    assert t is not None and t.trigger_type is TriggerType.ALERT_COUNT
    assert len(t.source_alert_ids) == 4 and t.source_alert_ids[-1] == alerts[-1].alert_id
    assert "4 drift alerts within 6 h" in t.reason
    assert rule.update(_alert(clock, DriftSeverity.WARNING)) is None  # window cleared


def test_drift_alert_to_trigger_uses_the_alert_time_and_details() -> None:
    clock = SimulatedClock(THU)
    alert = _alert(clock, DriftSeverity.WARNING)
    clock.advance(3600)
    t = drift_alert_to_trigger(alert)
    assert t.created_at == THU and t.model_name == "m"
    assert t.details["threshold"] == 0.1 and t.details["drift_type"] == "data"
    assert drift_alert_to_trigger(alert, clock).created_at == THU + timedelta(hours=1)


# ------------------------------------------------------------------------------ schedules
def test_weekly_schedule_fires_each_monday_on_the_simulated_clock() -> None:
    clock = SimulatedClock(THU)
    rule = ScheduleRule(ScheduleRuleConfig(enabled=True, every="weekly", models=["m"]), clock)
    assert rule.next_run("m") == datetime(2020, 1, 6, tzinfo=UTC)
    clock.set(datetime(2020, 1, 5, 23, 59, tzinfo=UTC))
    assert rule.due() == []
    clock.set(datetime(2020, 1, 6, 0, 0, tzinfo=UTC))
    fired = rule.due()
    assert [t.trigger_type for t in fired] == [TriggerType.SCHEDULED]
    assert fired[0].details["slot"] == "2020-01-06T00:00:00+00:00"
    assert rule.due() == []  # once per slot
    clock.advance(timedelta(days=6, hours=23))
    assert rule.due() == []
    clock.advance(timedelta(hours=1))
    assert len(rule.due()) == 1
    clock.advance(timedelta(weeks=5))  # a long jump fires once, not five times
    assert len(rule.due()) == 1 and rule.due() == []


def test_cron_and_monthly_schedules() -> None:
    clock = SimulatedClock(THU)
    cron = ScheduleRule(ScheduleRuleConfig(enabled=True, every="cron", cron="0 2 * * *"), clock)
    cron.watch("a")
    monthly = ScheduleRule(ScheduleRuleConfig(enabled=True, every="monthly"), clock)
    monthly.watch("b")
    fired_cron, fired_monthly = 0, 0
    for _ in range(24 * 40):  # 40 days, hour by hour
        clock.advance(timedelta(hours=1))
        fired_cron += len(cron.due())
        fired_monthly += len(monthly.due())
    assert fired_cron == 40
    assert fired_monthly == 1  # Feb 1st
    assert monthly.next_run("b") == datetime(2020, 3, 1, tzinfo=UTC)


def test_schedule_resumes_after_the_last_run() -> None:
    clock = SimulatedClock(datetime(2020, 1, 8, tzinfo=UTC))  # a Wednesday
    rule = ScheduleRule(ScheduleRuleConfig(enabled=True), clock)
    rule.watch("m", last_run=datetime(2019, 12, 30, tzinfo=UTC))  # ran Monday last week
    assert len(rule.due()) == 1  # Monday 6 January was missed while down: runs now
    disabled = ScheduleRule(ScheduleRuleConfig(enabled=False, models=["m"]), clock)
    clock.advance(timedelta(weeks=2))
    assert disabled.due() == []


def test_trigger_round_trips_through_its_stored_body() -> None:
    clock = SimulatedClock(THU)
    t = RetrainingTrigger.create(
        "m", TriggerType.MANUAL, "ops", clock, details={"k": 1}, source_alert_ids=["a"]
    )
    t.status = TriggerStatus.GATED_OUT
    t.gate_metrics = {"accuracy": 0.5}
    t.finished_at = THU + timedelta(hours=1)
    back = RetrainingTrigger.from_body(t.to_body())
    assert back == t
