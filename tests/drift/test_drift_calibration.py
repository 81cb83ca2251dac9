"""ARL0 measurement and threshold calibration by bisection, on detectors with a known ARL0."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ordinis.engines.learning.drift import (
    BOCPD,
    DEFAULT_STREAM_DETECTOR,
    AutocorrelatedCUSUM,
    average_run_length,
    calibrate,
)
from ordinis.engines.learning.drift.calibrated import BOCPD_THRESHOLD, CUSUM_THRESHOLD_SCALE


class _Every:
    """Fires on every ``period``-th update: its ARL0 is ``period`` by construction."""

    def __init__(self, period: float) -> None:
        self.period = max(1, round(period))
        self.n = 0
        self._drift = False
        self._n_detections = 0

    def update(self, x: float) -> _Every:
        self.n += 1
        self._drift = self.n % self.period == 0
        self._n_detections += self._drift
        return self

    @property
    def drift_detected(self) -> bool:
        return self._drift

    @property
    def n_detections(self) -> int:
        return self._n_detections

    def reset(self) -> None:
        self.n = 0


def test_average_run_length_is_updates_per_alarm() -> None:
    nulls = [np.zeros(1000), np.zeros(500)]
    est = average_run_length(lambda: _Every(50), nulls)
    assert est.alarms == 20 + 10
    assert est.updates == 1500
    assert est.arl0 == 50.0
    assert math.isinf(average_run_length(lambda: _Every(10_000), nulls).arl0)


def test_calibrate_finds_the_smallest_value_reaching_the_target() -> None:
    nulls = [np.zeros(12_000)]
    cal = calibrate(_Every, nulls, target=300, low=10, high=5000, iterations=20)
    assert cal.estimate.arl0 >= 300
    below = average_run_length(lambda: _Every(cal.value * 0.99), nulls)
    assert below.arl0 < 300  # and no smaller value would do
    with pytest.raises(ValueError, match="low < high"):
        calibrate(_Every, nulls, target=300, low=10, high=5)


def test_calibrate_in_log_odds_for_probability_thresholds() -> None:
    nulls = [np.zeros(10_000)]
    cal = calibrate(lambda p: _Every(1.0 / (1.0 - p)), nulls, target=100, low=0.5,
                    high=0.9999, logit=True, iterations=30)
    assert cal.value == pytest.approx(0.99, abs=1e-3)


def test_defaults_are_the_calibrated_constants_and_the_monitor_uses_the_winner() -> None:
    assert BOCPD().threshold == BOCPD_THRESHOLD
    assert CUSUM_THRESHOLD_SCALE > 1.0  # the former thresholds gave ARL0 166 on real returns
    assert DEFAULT_STREAM_DETECTOR is AutocorrelatedCUSUM
