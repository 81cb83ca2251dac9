"""HybridCUSUM: BOCPD watches the CUSUM's first warm-up; restarts learn from post-change values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.drift import (
    AutocorrelatedCUSUM,
    DriftDetector,
    HybridCUSUM,
    make_detector,
)


def _steps(seed: int, n: int, at: int, shift: float, sd: float = 1.0) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(v) + (shift if i >= at else 0.0) for i, v in enumerate(rng.normal(0, sd, n))]


def _alarms(det: DriftDetector, values: list[float]) -> list[tuple[int, int]]:
    out = []
    for i, v in enumerate(values):
        det.update(v)
        if det.drift_detected:
            out.append((i, int(getattr(det, "change_point", i))))
    return out


@pytest.mark.parametrize("seed", [2, 3, 4, 5])
def test_a_change_inside_a_short_series_is_found_where_the_cusum_is_still_learning(
    seed: int,
) -> None:
    values = _steps(seed, 36, at=24, shift=8.0)
    assert _alarms(AutocorrelatedCUSUM(), values) == []  # 36 points: all warm-up
    det = HybridCUSUM()
    found = _alarms(det, values)
    assert len(found) == 1, found
    alarm, located = found[0]
    assert 24 <= alarm <= 31
    assert abs(located - 24) <= 1
    assert det.last_alarm_statistic == "early:short_run_mass"


def test_after_the_first_warm_up_the_hybrid_is_the_cusum() -> None:
    values = _steps(2, 700, at=450, shift=3.0)
    det = HybridCUSUM()
    assert isinstance(det, DriftDetector)
    found = _alarms(det, values)
    cusum = AutocorrelatedCUSUM()
    assert found == _alarms(cusum, values)
    assert len(found) == 1, found
    alarm, located = found[0]
    assert 450 <= alarm <= 470
    assert abs(located - 450) <= 3
    assert det.last_alarm_statistic == cusum.last_alarm_statistic == "jump_up"  # a 3-sd step
    assert det.n_detections == 1


def test_restart_from_change_learns_the_new_reference_from_post_change_values() -> None:
    values = _steps(3, 560, at=450, shift=6.0)
    det = HybridCUSUM(restart_from_change=True)
    found = _alarms(det, values[:470])
    assert found and found[-1][1] >= 448
    # The values since the located change begin the new warm-up: 40 values after it, the
    # reference is known and sits at the new level (a restart at the alarm would still learn).
    for v in values[470:490]:
        det.update(v)
    mean, sd, _ = det.reference
    assert mean == pytest.approx(6.0, abs=0.6)
    assert 0.5 < sd < 2.0


def test_drift_detected_is_true_only_after_the_detecting_update_and_nan_is_skipped() -> None:
    values = _steps(4, 400, at=300, shift=5.0)
    values[100] = math.nan
    det = HybridCUSUM()
    hits = []
    for i, v in enumerate(values):
        det.update(v)
        if det.drift_detected:
            hits.append(i)
    assert len(hits) == 1 and 300 <= hits[0] <= 312
    assert det.n_seen == 400
    det.reset()
    assert det.n_detections == 1
    assert math.isnan(det.reference[0])


def test_invalid_parameters_name_the_field() -> None:
    with pytest.raises(ValidationError, match="early_warmup"):
        HybridCUSUM(warmup=10, early_warmup=10)


def test_make_detector_builds_the_hybrid() -> None:
    assert isinstance(make_detector("hybrid"), HybridCUSUM)
