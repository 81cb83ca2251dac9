"""Baselines: severities at the boundaries, direction-awareness, precomputed O(1) bounds."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.core.models import DriftSeverity
from ordinis.engines.learning.drift import baselines as baselines_module
from ordinis.engines.learning.drift.baselines import (
    MetricDirection,
    PerformanceBaseline,
    compute_bounds,
    metric_direction,
)

T0 = datetime(2020, 1, 1, tzinfo=UTC)
W = DriftSeverity.WARNING
C = DriftSeverity.CRITICAL


def _base(metrics: dict[str, float], pct: float = 0.25) -> PerformanceBaseline:
    return PerformanceBaseline.create("m", metrics, pct, T0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, None), (1.5, None),  # higher is better: a rise is never drift
        (0.75, None),  # exactly 25 % lower: not *above* the threshold
        (0.7499, W), (0.5, W),  # exactly 50 %: still a warning
        (0.4999, C), (-3.0, C),
    ],
)
def test_higher_is_better_severity_at_the_boundaries(value: float, expected: object) -> None:
    assert _base({"accuracy": 1.0}).bounds["accuracy"].severity(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.1, None), (0.0, None), (0.125, None), (0.12501, W), (0.15, W), (0.15001, C)],
)
def test_lower_is_better_rise_is_drift(value: float, expected: object) -> None:
    assert _base({"max_drawdown": 0.1}).bounds["max_drawdown"].severity(value) is expected


def test_drawdown_compares_by_magnitude() -> None:
    b = _base({"max_drawdown": -0.1}).bounds["max_drawdown"]
    assert b.severity(-0.2) is C  # a deeper drawdown, stored negative
    assert b.severity(0.2) is C
    assert b.severity(-0.05) is None


@pytest.mark.parametrize(("value", "expected"), [(2.0, None), (2.5, None), (2.6, W), (1.4, W),
                                                 (3.1, C), (0.9, C)])
def test_unknown_metric_drifts_either_way(value: float, expected: object) -> None:
    assert _base({"custom_score": 2.0}).bounds["custom_score"].severity(value) is expected


def test_directions_by_name() -> None:
    assert metric_direction("sharpe") is MetricDirection.HIGHER_IS_BETTER
    assert metric_direction("val_loss") is MetricDirection.LOWER_IS_BETTER
    assert metric_direction("rolling_max_drawdown") is MetricDirection.LOWER_IS_BETTER
    assert metric_direction("validation_accuracy") is MetricDirection.HIGHER_IS_BETTER
    assert metric_direction("mystery") is MetricDirection.UNKNOWN


def test_explicit_direction_overrides_the_name() -> None:
    b = PerformanceBaseline.create(
        "m", {"mystery": 1.0}, 0.1, T0, {"mystery": MetricDirection.LOWER_IS_BETTER}
    )
    assert b.bounds["mystery"].severity(0.5) is None
    assert b.bounds["mystery"].severity(1.3) is C


def test_zero_baseline_makes_any_harmful_change_critical() -> None:
    b = _base({"sharpe": 0.0}).bounds["sharpe"]
    assert b.severity(0.0) is None and b.severity(0.1) is None
    assert b.severity(-0.01) is C
    assert math.isinf(b.ratio(-0.01))


def test_bounds_are_precomputed_and_checks_never_recompute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b = _base({"accuracy": 0.6, "sharpe": 1.2})
    bounds = b.bounds["accuracy"]
    assert (bounds.warn_low, bounds.crit_low) == pytest.approx((0.45, 0.3))
    assert bounds.warn_high == math.inf

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("bounds recomputed on the check path")

    monkeypatch.setattr(baselines_module, "compute_bounds", boom)
    assert b.check_many({"accuracy": 0.4, "sharpe": 1.3, "other": 9.0}) == [
        ("accuracy", 1), ("sharpe", 0),
    ]
    chk = b.check("accuracy", 0.2)
    assert chk is not None and chk.severity is C and chk.ratio == pytest.approx(2 / 3)
    assert b.check("unknown", 1.0) is None
    assert b.check("accuracy", math.nan) is None


@given(
    base=st.floats(-1e6, 1e6, allow_nan=False),
    pct=st.floats(0.01, 2.0),
    values=st.lists(st.floats(-1e7, 1e7, allow_nan=False), min_size=1, max_size=30),
    metric=st.sampled_from(["accuracy", "max_drawdown", "loss", "custom"]),
)
def test_vectorised_scalar_and_ratio_agree(
    base: float, pct: float, values: list[float], metric: str
) -> None:
    bounds = compute_bounds(metric, base, pct)
    codes = bounds.severity_codes(np.array(values))
    for v, code in zip(values, codes, strict=True):
        assert bounds.severity_code(v) == code
        ratio = bounds.ratio(v)
        if code == 0 and bounds.direction is MetricDirection.UNKNOWN:
            assert ratio <= pct * (1 + 1e-9) or abs(v) < 1e-300


def test_invalid_baselines_name_every_problem() -> None:
    with pytest.raises(ValidationError) as err:
        PerformanceBaseline.create("m", {"a": math.nan, "b": "x", "c": math.inf}, 0.1, T0)  # type: ignore[dict-item]
    text = str(err.value)
    assert "metrics.a" in text and "metrics.b" in text and "metrics.c" in text
    with pytest.raises(ValidationError, match="at least one metric"):
        PerformanceBaseline.create("m", {}, 0.1, T0)


def test_record_round_trip() -> None:
    b = PerformanceBaseline.create(
        "m", {"accuracy": 0.6, "x": 2.0}, 0.1, T0, {"x": MetricDirection.LOWER_IS_BETTER}
    )
    again = PerformanceBaseline.from_record(b.to_record(T0))
    assert again.metrics == b.metrics and again.set_at == T0
    assert again.bounds == b.bounds
    assert PerformanceBaseline.from_record(b.to_record(T0), threshold_pct=0.2).threshold_pct == 0.2
