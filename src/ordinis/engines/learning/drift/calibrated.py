"""Default alarm thresholds of our streaming detectors, set from a target false-alarm rate.

Produced by ``python benchmarks/calibrate_drift.py`` (see docs/drift.md, "Calibration"): each
value makes the detector's average run length under no change (ARL0) at least ``TARGET_ARL0``
updates on null series: block-bootstrapped real daily returns (skfolio's S&P 500 stocks), which
keep their autocorrelation, volatility clustering and fat tails, and simulated AR(1) streams
(phi 0 to 1, Gaussian to t3 innovations). No benchmark series was used. Re-run the script and
paste its output here when a detector changes.
"""

from __future__ import annotations

TARGET_ARL0 = 1000
"""Updates between false alarms aimed at (about four years of daily values)."""

BOCPD_THRESHOLD = 0.99909
"""``BOCPD.threshold`` on ``P(1 <= r_t <= 20 | r_t >= 1)``: ARL0 1000 on the calibration draws,
1395 on the check draws (calibrate_drift.py, 24 x 5000 null values each), 1463 on the
benchmark's draws. Calibrated on returns only: on persistent AR(1) nulls (phi >= 0.9) its ARL0
falls to 74-124 (its Normal model has no autocorrelation term), one reason it is not the
default."""

CUSUM_THRESHOLD_SCALE = 2.9607
"""Factor on every threshold of ``AutocorrelatedCUSUM`` (``h``, ``h_fast``, ``h_var``): the
smallest giving an ARL0 of at least ``TARGET_ARL0`` on every null family (bootstrapped returns
and the AR(1) x Student-t grid); the volatility clustering of real returns sets it (ARL0 1000
on the calibration draws, 952 on the check draws; 2000 to infinity on the AR(1) families)."""

LOCATED_CUSUM_THRESHOLD_SCALE = 3.1695
"""The same factor for ``LocatedCUSUM`` (35-point warm-up, learn gate 0.1, located alarms):
the smallest giving ARL0 >= ``TARGET_ARL0`` on every null family; returns set it (1017 on the
calibration draws, 863 on the check draws; AR(1) families 1333 to infinity on the calibration
draws, 889 to infinity on the check draws). Not the default: it lost held-out round 5."""

WARMUP_SHIFT_THRESHOLD = 7.152
"""Threshold on ``warmup_shift_test`` for ``WarmupTestedCUSUM``, tested at every warm-up value
from the 25th to the 40th: the smallest with at most ``40 / TARGET_ARL0`` = 4 % false alarms
per 40-point warm-up on every null family (400 windows each; the AR(0.9) x t3 family sets
it). On the check windows the families give 0.0 % to 5.5 % (AR(0.98) x t3), within the
sampling error of 400 windows (1 %)."""

WARMUP_TESTED_CUSUM_THRESHOLD_SCALE = 3.0014
"""``threshold_scale`` of ``WarmupTestedCUSUM``, calibrated with its warm-up test on: ARL0
1000 on the calibration draws, 952 on the check draws (returns set it, as for the CUSUM;
the AR(1) families 2133 to infinity). Not the default: it lost held-out round 7."""
