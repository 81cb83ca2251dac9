"""Thresholds from a false-alarm target: average run length under no change (ARL0).

A detector's threshold trades false alarms for delay. Instead of tuning it on the series it
is scored on, it is set so that the detector raises one alarm per ``target`` updates on null
series (no change, but the autocorrelation and tails of the real stream), by bisection on a
parameter that makes the detector quieter as it grows. ``benchmarks/calibrate_drift.py`` runs
this for our detectors; the results are the constants in ``calibrated.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ordinis.engines.learning.drift.detectors import DriftDetector

__all__ = ["ARL0Estimate", "Calibration", "average_run_length", "calibrate"]


@dataclass(frozen=True, slots=True)
class ARL0Estimate:
    """Updates per false alarm on null series (``inf`` when none fired)."""

    arl0: float
    alarms: int
    updates: int


@dataclass(frozen=True, slots=True)
class Calibration:
    """The calibrated parameter value and the ARL0 measured with it."""

    value: float
    estimate: ARL0Estimate
    target: float


def average_run_length(
    factory: Callable[[], DriftDetector], nulls: Sequence[np.ndarray]
) -> ARL0Estimate:
    """Feed each null series to a fresh detector; ARL0 = updates / alarms."""
    alarms = 0
    updates = 0
    for series in nulls:
        det = factory()
        update = det.update
        for v in series.tolist():
            update(v)
            if det.drift_detected:
                alarms += 1
        updates += len(series)
    return ARL0Estimate(updates / alarms if alarms else math.inf, alarms, updates)


def calibrate(
    make: Callable[[float], DriftDetector],
    nulls: Sequence[np.ndarray],
    target: float,
    low: float,
    high: float,
    iterations: int = 12,
    logit: bool = False,
) -> Calibration:
    """Smallest parameter in ``[low, high]`` whose ARL0 reaches ``target`` (bisection).

    ``make(value)`` builds a detector that is quieter for larger ``value``; ``logit=True``
    bisects in log-odds (for a threshold on a probability), else in log scale.
    """
    if not (target > 0 and low < high):
        raise ValueError(f"calibrate: need target > 0 and low < high, got {target}, {low}, {high}")
    fwd: Callable[[float], float]
    inv: Callable[[float], float]
    if logit:
        def fwd(p: float) -> float:
            return math.log(p / (1.0 - p))

        def inv(u: float) -> float:
            return 1.0 / (1.0 + math.exp(-u))
    else:
        fwd, inv = math.log, math.exp
    lo, hi = fwd(low), fwd(high)
    best = Calibration(high, average_run_length(lambda: make(high), nulls), target)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        value = inv(mid)
        est = average_run_length(lambda v=value: make(v), nulls)  # type: ignore[misc]
        if est.arl0 >= target:
            hi = mid
            best = Calibration(value, est, target)
        else:
            lo = mid
    return best
