"""Verdicts say what they mean: labels of drift alerts, challenger tests, gate reports, verdicts."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from ordinis.engines.learning.core.models import (
    DriftAlert,
    DriftSeverity,
    DriftType,
    ProductionVerdict,
)
from ordinis.engines.learning.evaluation import load_gate_set
from ordinis.engines.learning.evaluation.evaluator import ComparisonResult

AT = datetime(2020, 1, 2, tzinfo=UTC)


def test_a_drift_alert_without_a_baseline_never_says_vs_baseline_nan() -> None:
    alert = DriftAlert("m", DriftType.CONCEPT, DriftSeverity.WARNING, "pnl", 0.26, math.nan, 0.0)
    assert "nan" not in alert.describe() and "no baseline value" in alert.describe()
    with_base = DriftAlert("m", DriftType.PERFORMANCE, DriftSeverity.CRITICAL, "sharpe", -0.2,
                           0.9, 0.5)
    assert with_base.describe().endswith("-0.2 vs baseline 0.9")


def test_challenger_test_states_sidedness_and_alpha_and_promotion_follows_it() -> None:
    weak = ComparisonResult("a", "b", {}, 0.12, -0.2, 0.4, 0.39, 0.05, "h")
    assert not weak.a_better  # a positive point estimate is not enough
    text = weak.describe()
    assert "one-sided" in text and "two-sided 95% interval" in text and "alpha 0.05" in text
    assert "keep the champion" in text
    strong = ComparisonResult("a", "b", {}, 0.5, 0.2, 0.8, 0.01, 0.05, "h")
    assert strong.a_better and "challenger better" in strong.describe()
    assert not ComparisonResult("a", "b", {}, math.nan, 0, 0, math.nan, 0.05, "h").a_better


def test_summary_reports_advisory_failures_apart_from_required_passes() -> None:
    metrics = {"max_drawdown": 0.1, "sharpe": -0.28, "win_rate": 0.49, "profit_factor": 0.9,
               "p_value": 0.84}
    report = load_gate_set("demo").evaluate(metrics)
    assert report.passed  # only safety is required in the demo set ...
    summary = report.summary()
    assert summary.startswith("demo: 1 required gate(s) passed; 4 of 4 advisory failed")
    assert "all gates passed" not in summary


def test_production_verdict_round_trips_and_labels_itself() -> None:
    verdict = ProductionVerdict(
        "e1", "production", "abc", True, False, 7, ("pack_01_bull@123",), AT,
        waiting_for=("parity",),
    )
    assert ProductionVerdict.from_dict(verdict.to_dict()) == verdict
    assert verdict.label() == "production: waiting for live evidence (parity)"
