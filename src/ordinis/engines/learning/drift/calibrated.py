"""Default alarm thresholds of our streaming detectors, set from a target false-alarm rate.

Produced by ``python benchmarks/calibrate_drift.py`` (see docs/drift.md, "Calibration"): each
value makes the detector's average run length under no change (ARL0) equal ``TARGET_ARL0``
updates on null series block-bootstrapped from real daily returns (skfolio's S&P 500 stocks),
which keep their autocorrelation, volatility clustering and fat tails. No benchmark series
was used. Re-run the script and paste its output here when a detector changes.
"""

from __future__ import annotations

TARGET_ARL0 = 1000
"""Updates between false alarms aimed at (about four years of daily values)."""

BOCPD_THRESHOLD = 0.99909
"""``BOCPD.threshold`` on ``P(1 <= r_t <= 20 | r_t >= 1)``: ARL0 1000 on the calibration draws,
1395 on the check draws (calibrate_drift.py, 24 x 5000 null values each), 1463 on the
benchmark's draws."""

CUSUM_THRESHOLD_SCALE = 2.9597
"""Factor on every threshold of ``AutocorrelatedCUSUM`` (h, h_fast, h_var): ARL0 1000 on the
calibration draws, 960 on the check draws, 896 on the benchmark's draws. At 1.0 (the former
defaults) its ARL0 is 166."""
