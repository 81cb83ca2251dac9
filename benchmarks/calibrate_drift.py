"""Calibrate the default thresholds of our streaming detectors to a false-alarm target.

Null series: stationary block bootstrap (arch, mean block 20) of the daily returns of
skfolio's 20 S&P 500 stocks: no change point, but the autocorrelation, volatility clustering
and fat tails of a real return or PnL stream. Each detector's threshold is bisected until its
average run length under no change (ARL0) reaches ``TARGET_ARL0``; the ARL0 is then checked
on fresh null draws (another seed). No benchmark series (development or held-out) is used.

Run: ``python benchmarks/calibrate_drift.py``; paste the printed constants into
``src/ordinis/engines/learning/drift/calibrated.py``. The last line is ``RESULT ...``.
"""

from __future__ import annotations

import sys
import time

from drift_series import null_returns
from ordinis.engines.learning.drift.bocpd import BOCPD
from ordinis.engines.learning.drift.calibrated import TARGET_ARL0
from ordinis.engines.learning.drift.calibration import average_run_length, calibrate
from ordinis.engines.learning.drift.cusum import AutocorrelatedCUSUM

N_SERIES = 24
LENGTH = 5000
CALIBRATION_SEED = 11
CHECK_SEED = 12


def main() -> int:
    t0 = time.perf_counter()
    nulls = null_returns(N_SERIES, LENGTH, seed=CALIBRATION_SEED)
    check = null_returns(N_SERIES, LENGTH, seed=CHECK_SEED)
    print(f"null series: {N_SERIES} x {LENGTH} block-bootstrapped S&P 500 stock returns; "
          f"target ARL0 {TARGET_ARL0}")
    bocpd = calibrate(lambda v: BOCPD(threshold=v), nulls, TARGET_ARL0, 0.3, 0.99999, logit=True)
    cusum = calibrate(lambda v: AutocorrelatedCUSUM(threshold_scale=v), nulls, TARGET_ARL0,
                      0.5, 8.0)
    bocpd_check = average_run_length(lambda: BOCPD(threshold=bocpd.value), check)
    cusum_check = average_run_length(
        lambda: AutocorrelatedCUSUM(threshold_scale=cusum.value), check)
    print(f"BOCPD_THRESHOLD = {bocpd.value:.6f}   # ARL0 {bocpd.estimate.arl0:.0f} "
          f"(calibration draws), {bocpd_check.arl0:.0f} (check draws)")
    print(f"CUSUM_THRESHOLD_SCALE = {cusum.value:.4f}   # ARL0 {cusum.estimate.arl0:.0f} "
          f"(calibration draws), {cusum_check.arl0:.0f} (check draws)")
    print(f"took {time.perf_counter() - t0:.0f} s")
    print(f"RESULT bocpd_threshold={bocpd.value:.6f} bocpd_arl0={bocpd_check.arl0:.0f} "
          f"cusum_threshold_scale={cusum.value:.4f} cusum_arl0={cusum_check.arl0:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
