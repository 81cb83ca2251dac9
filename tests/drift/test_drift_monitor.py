"""DriftMonitor: alerts, hysteresis, persistence across restart, metrics, schedules, streams."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ordinis.engines.learning.core.clock import Scheduler, SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import NotFoundError, StoreError, ValidationError
from ordinis.engines.learning.core.models import DriftAlert, DriftSeverity, DriftType, StoredRecord
from ordinis.engines.learning.drift import (
    ADWINDetector,
    DriftMonitor,
    LivePerformanceTracker,
    drift_alert_from_record,
    drift_alert_to_record,
)
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteEventStore]:
    s = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    s.open()
    yield s
    s.close()


@pytest.fixture
def config() -> LearningEngineConfig:
    return LearningEngineConfig.create(drift_threshold_pct=0.10, drift_check_interval_seconds=60)


def _monitor(store: Any, clock: SimulatedClock, config: LearningEngineConfig,
             **kw: Any) -> DriftMonitor:
    m = DriftMonitor(store, clock, LearningMetrics(), config, **kw)
    m.load()
    return m


def test_severities_and_metrics(store: SQLiteEventStore, sim_clock: SimulatedClock,
                                config: LearningEngineConfig) -> None:
    mon = _monitor(store, sim_clock, config)
    mon.set_baseline("m", {"accuracy": 0.6, "max_drawdown": 0.1, "sharpe": 1.0})
    sim_clock.advance(120)
    alerts = mon.check_drift("m", {"accuracy": 0.5, "max_drawdown": 0.09, "sharpe": 0.7})
    by_metric = {a.metric: a for a in alerts}
    assert set(by_metric) == {"accuracy", "sharpe"}  # a smaller drawdown is no drift
    assert by_metric["accuracy"].severity is DriftSeverity.WARNING  # -16.7 %
    assert by_metric["sharpe"].severity is DriftSeverity.CRITICAL  # -30 %
    assert by_metric["sharpe"].drift_type is DriftType.PERFORMANCE
    assert by_metric["sharpe"].detected_at == sim_clock.now()
    reg = mon.metrics
    assert reg.sample("model_drift_ratio", {"model_name": "m", "metric_name": "sharpe"}) == \
        pytest.approx(0.3)
    assert reg.sample("drift_alerts_total", {"model_name": "m", "severity": "critical",
                                             "drift_type": "performance"}) == 1.0
    assert reg.sample("model_baseline_age_seconds", {"model_name": "m"}) == 120.0
    assert mon.check_drift("no-baseline", {"accuracy": 0.1}) == []


def test_compare_says_where_each_metric_stands_and_its_open_episode_changing_nothing(
    store: SQLiteEventStore, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    """Inside an open episode a check raises nothing; compare still says the metric drifted
    and since when, without alerting, opening, closing or counting toward recovery."""
    mon = _monitor(store, sim_clock, config, recovery_checks=1)
    mon.set_baseline("m", {"sharpe": 1.0, "win_rate": 0.55})
    opened = sim_clock.now()
    assert [a.metric for a in mon.check_drift("m", {"sharpe": 0.5})] == ["sharpe"]
    sim_clock.advance(3600)
    assert mon.check_drift("m", {"sharpe": 0.5}) == []  # the episode is open: silence
    standing = {m.metric: m for m in mon.compare("m", {"sharpe": 0.5, "win_rate": 0.55,
                                                       "unknown": 1.0})}
    assert set(standing) == {"sharpe", "win_rate"}  # no baseline for 'unknown'
    sharpe = standing["sharpe"]
    assert sharpe.drifted and sharpe.severity is DriftSeverity.CRITICAL
    assert (sharpe.value, sharpe.baseline, sharpe.ratio) == (0.5, 1.0, pytest.approx(0.5))
    assert (sharpe.episode_severity, sharpe.episode_opened_at) == (DriftSeverity.CRITICAL,
                                                                   opened)
    assert not standing["win_rate"].drifted and standing["win_rate"].episode_severity is None
    alerts_before = len(mon.alerts("m"))
    for _ in range(3):  # within the band: a check would close the episode (recovery 1)
        back = mon.compare("m", {"sharpe": 1.0})
    assert not back[0].drifted and back[0].episode_severity is DriftSeverity.CRITICAL
    assert len(mon.alerts("m")) == alerts_before
    assert [e.metric for e in mon.open_episodes("m")] == ["sharpe"]
    assert mon.compare("no-baseline", {"sharpe": 0.1}) == []


def test_one_episode_one_alert_then_a_new_one_after_recovery(
    store: SQLiteEventStore, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    mon = _monitor(store, sim_clock, config, recovery_checks=3)
    mon.set_baseline("m", {"accuracy": 0.6})
    raised = [a for _ in range(50) for a in mon.check_drift("m", {"accuracy": 0.5})]
    assert len(raised) == 1 and raised[0].details["episode"] == "opened"
    # escalation inside the episode raises exactly one more
    esc = [a for _ in range(20) for a in mon.check_drift("m", {"accuracy": 0.3})]
    assert [a.severity for a in esc] == [DriftSeverity.CRITICAL]
    # two good checks then a bad one: the episode stays open (needs 3 in a row)
    for v in (0.6, 0.6, 0.5, 0.6, 0.6):
        assert mon.check_drift("m", {"accuracy": v}) == []
    # just inside the warning band but outside the recovery band does not close it either
    assert mon.check_drift("m", {"accuracy": 0.56}) == []
    assert len(mon.open_episodes("m")) == 1
    for _ in range(3):
        mon.check_drift("m", {"accuracy": 0.6})
    assert mon.open_episodes("m") == []
    again = mon.check_drift("m", {"accuracy": 0.5})
    assert len(again) == 1 and again[0].severity is DriftSeverity.WARNING
    assert len(mon.alerts("m")) == 3


def test_a_new_baseline_ends_the_episodes_measured_against_the_old_one(
    store: SQLiteEventStore, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    """A version that degrades under its own, new baseline alerts at once: the critical
    episode of the version before does not swallow it. Stream (concept) episodes do not
    depend on the baseline and stay open; another model's episode is untouched."""
    mon = _monitor(store, sim_clock, config)
    mon.set_baseline("m", {"sharpe": 1.0})
    mon.set_baseline("other", {"sharpe": 1.0})
    assert [a.severity for a in mon.check_drift("m", {"sharpe": 0.5})] == [
        DriftSeverity.CRITICAL]
    assert len(mon.check_drift("other", {"sharpe": 0.5})) == 1
    rng = np.random.default_rng(5)
    stream = np.concatenate([rng.normal(0, 1, 300), rng.normal(4, 1, 100)])
    assert any(mon.update_stream("m", "pnl", float(x)) for x in stream[:320])  # still open
    assert {e.drift_type for e in mon.open_episodes("m")} == {
        DriftType.PERFORMANCE, DriftType.CONCEPT}
    sim_clock.advance(60)
    mon.set_baseline("m", {"sharpe": 0.6})  # the retrained version's own level
    assert [e.drift_type for e in mon.open_episodes("m")] == [DriftType.CONCEPT]
    assert mon.compare("m", {"sharpe": 0.6})[0].episode_severity is None
    assert len(mon.open_episodes("other")) == 1
    # ended in the store too: a restarted monitor does not bring the old episode back
    again = _monitor(store, sim_clock, config)
    assert [e.drift_type for e in again.open_episodes("m")] == [DriftType.CONCEPT]
    [fresh] = again.check_drift("m", {"sharpe": 0.4})  # 33 % below the new baseline
    assert (fresh.severity, fresh.details["episode"]) == (DriftSeverity.CRITICAL, "opened")
    assert fresh.baseline_value == 0.6


def test_restart_keeps_baselines_references_episodes_and_alerts(
    store: SQLiteEventStore, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    rng = np.random.default_rng(0)
    mon = _monitor(store, sim_clock, config)
    mon.set_baseline("m", {"accuracy": 0.6})
    mon.set_reference("m", pd.DataFrame({"f": rng.normal(size=2000)}), rng.normal(size=2000))
    first = mon.check_drift("m", {"accuracy": 0.4})
    sim_clock.advance(10)

    again = _monitor(store, sim_clock, config)
    assert again.baseline("m").metrics == {"accuracy": 0.6}
    assert again.reference("m") == mon.reference("m")
    assert [a.alert_id for a in again.alerts()] == [first[0].alert_id]
    assert again.check_drift("m", {"accuracy": 0.4}) == []  # the episode survived the restart
    drifted = again.check_data_drift("m", pd.DataFrame({"f": rng.normal(1.0, 1, 500)}))
    assert [a.metric for a in drifted] == ["f"]


def test_alert_queries_filter(store: SQLiteEventStore, sim_clock: SimulatedClock,
                              config: LearningEngineConfig) -> None:
    mon = _monitor(store, sim_clock, config)
    mon.set_baseline("a", {"accuracy": 0.6})
    mon.set_baseline("b", {"accuracy": 0.6})
    t0 = sim_clock.now()
    mon.check_drift("a", {"accuracy": 0.5})
    sim_clock.advance(3600)
    t1 = sim_clock.now()
    mon.check_drift("b", {"accuracy": 0.1})
    assert [a.model_name for a in mon.alerts()] == ["a", "b"]
    assert [a.model_name for a in mon.alerts(model_name="b")] == ["b"]
    assert [a.model_name for a in mon.alerts(start=t1)] == ["b"]
    assert [a.model_name for a in mon.alerts(end=t1)] == ["a"]
    assert [a.model_name for a in mon.alerts(severity="critical")] == ["b"]
    assert mon.alerts(drift_type=DriftType.DATA) == []
    assert mon.alerts(start=t0 - timedelta(days=1), end=t0) == []


def test_alert_record_round_trip_keeps_non_finite_values() -> None:
    alert = DriftAlert("m", DriftType.CONCEPT, DriftSeverity.WARNING, "pnl", 1.0, float("nan"),
                       float("inf"), details={"x": float("-inf"), "y": [1.0]})
    back = drift_alert_from_record(drift_alert_to_record(alert))
    assert back.alert_id == alert.alert_id and back.threshold == float("inf")
    assert back.baseline_value != back.baseline_value
    assert back.details == {"x": "-inf", "y": [1.0]}


def test_listeners_get_alerts_and_a_failing_listener_does_not_stop_others(
    store: SQLiteEventStore, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    mon = _monitor(store, sim_clock, config)
    got: list[DriftAlert] = []

    def bad(_a: DriftAlert) -> None:
        raise RuntimeError("listener bug")

    mon.add_listener(bad)
    mon.add_listener(got.append)
    mon.set_baseline("m", {"accuracy": 0.6})
    alerts = mon.check_drift("m", {"accuracy": 0.1})
    assert got == alerts and len(got) == 1


class FailingStore:
    """The real store, with put_record failing on demand."""

    def __init__(self, inner: SQLiteEventStore) -> None:
        self.inner = inner
        self.fail = False

    def put_record(self, record: StoredRecord) -> None:
        if self.fail:
            raise OSError("disk full")
        self.inner.put_record(record)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_store_failure_leaves_state_consistent(
    store: SQLiteEventStore, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    fs = FailingStore(store)
    mon = _monitor(fs, sim_clock, config)
    mon.set_baseline("m", {"accuracy": 0.6})
    fs.fail = True
    with pytest.raises(StoreError, match="disk full"):
        mon.check_drift("m", {"accuracy": 0.5})
    with pytest.raises(StoreError):
        mon.set_baseline("m", {"accuracy": 0.9})
    assert mon.baseline("m").metrics == {"accuracy": 0.6}
    fs.fail = False
    assert len(mon.check_drift("m", {"accuracy": 0.5})) == 1  # not swallowed by a half episode


def test_bad_input_errors(store: SQLiteEventStore, sim_clock: SimulatedClock,
                          config: LearningEngineConfig) -> None:
    mon = _monitor(store, sim_clock, config)
    mon.set_baseline("m", {"accuracy": 0.6})
    with pytest.raises(ValidationError, match=r"current_metrics\.accuracy"):
        mon.check_drift("m", {"accuracy": "high"})  # type: ignore[dict-item]
    with pytest.raises(NotFoundError, match="set_reference"):
        mon.check_data_drift("m", pd.DataFrame({"f": [1.0] * 50}))
    mon.set_reference("m", pd.DataFrame({"f": np.arange(100.0)}))
    with pytest.raises(ValidationError, match="missing"):
        mon.check_data_drift("m", pd.DataFrame({"g": np.arange(100.0)}))
    with pytest.raises(NotFoundError, match="prediction reference"):
        mon.check_prediction_drift("m", np.arange(100.0))
    with pytest.raises(NotFoundError, match="attach_tracker"):
        mon.update_live("m")


def test_prediction_drift(store: SQLiteEventStore, sim_clock: SimulatedClock,
                          config: LearningEngineConfig) -> None:
    rng = np.random.default_rng(3)
    mon = _monitor(store, sim_clock, config)
    mon.set_reference("m", pd.DataFrame({"f": rng.normal(size=1000)}), rng.normal(size=1000))
    assert mon.check_prediction_drift("m", rng.normal(size=500)) == []
    alerts = mon.check_prediction_drift("m", rng.normal(2.0, 1.0, 500))
    assert len(alerts) == 1 and alerts[0].drift_type is DriftType.PREDICTION
    assert alerts[0].details["tests"]["ks"]["drifted"] is True


def test_scheduled_live_checks_fire_on_a_simulated_clock(
    store: SQLiteEventStore, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    mon = _monitor(store, sim_clock, config, min_live_samples=20)
    tracker = LivePerformanceTracker(sim_clock, window=50)
    mon.set_baseline("m", {"win_rate": 0.6})
    got: list[DriftAlert] = []
    mon.add_listener(got.append)
    scheduler = Scheduler(sim_clock)
    mon.schedule(scheduler, tracker)
    start = sim_clock.now() - timedelta(days=50)
    for i in range(50):  # one trade per period of the book, 20 % winning periods
        tracker.record_outcome(
            "m", 1.0, 0.01 if i % 5 == 0 else -0.01, at=start + timedelta(days=i)
        )
    sim_clock.advance(59)
    assert got == []
    sim_clock.advance(1)  # the 60 s interval elapses: the check runs, no sleep
    assert [a.metric for a in got] == ["win_rate"]
    assert got[0].severity is DriftSeverity.CRITICAL
    sim_clock.advance(600)
    assert len(got) == 1  # same episode
    assert scheduler.errors == []


def test_stream_updates_raise_concept_alerts_once_per_episode(
    store: SQLiteEventStore, sim_clock: SimulatedClock, config: LearningEngineConfig
) -> None:
    rng = np.random.default_rng(5)
    mon = _monitor(store, sim_clock, config, stream_cooldown=50)
    values = np.concatenate([rng.normal(0, 1, 500), rng.normal(4, 1, 300)])
    alerts = [a for v in values if (a := mon.update_stream("m", "error", float(v)))]
    assert len(alerts) == 1 and alerts[0].drift_type is DriftType.CONCEPT
    assert alerts[0].metric == "error" and alerts[0].details["change_point"] in range(495, 506)
    assert mon.open_episodes("m") == []  # closed after 50 quiet updates
    custom = _monitor(store, sim_clock, config, detector_factory=ADWINDetector)
    custom.update_stream("m", "pnl", 1.0)
    assert isinstance(custom.detector("m", "pnl"), ADWINDetector)
