"""Calibrate the default thresholds of our streaming detectors to a false-alarm target.

Null families (no change point): a stationary block bootstrap (arch, mean block 20) of the
daily returns of skfolio's 20 S&P 500 stocks (autocorrelation, volatility clustering and fat
tails of a real return or PnL stream), and simulated AR(1) streams over a grid of
coefficients (0 to 0.98) and innovation tails (Gaussian, t5, t3), which span level series.
Each threshold is the smallest whose average run length under no change (ARL0) reaches the
target on *every* family (bisection per family, then the maximum); the ARL0 is then checked
on fresh draws (another seed). No benchmark series (development or held-out) is used.

``WarmupTestedCUSUM``: the threshold of its warm-up test is the smallest with at most one false
alarm in ``TARGET_ARL0 / 40`` warm-ups (a 4 % chance per 40-point warm-up, the per-value rate
of ARL0 1000) on every family's 40-point windows (``N_WINDOWS`` each, the maximum of the
statistic over the tested lengths 25 to 40), checked on windows of another seed; then its
CUSUM's ``threshold_scale`` is calibrated like the CUSUM's, with the test on.

BOCPD is calibrated on the returns family only (its cost makes the grid slow); its ARL0 on
every family is printed. ``HybridCUSUM`` uses both constants; the ARL0 of its early phase
(the BOCPD during the CUSUM's first 40-point warm-up) is printed on 40-point nulls of every
family.

Run: ``python benchmarks/calibrate_drift.py`` (a few minutes); paste the printed constants
into ``src/ordinis/engines/learning/drift/calibrated.py``. The last line is ``RESULT ...``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

import numpy as np

from drift_series import NULL_DOFS, NULL_PHIS, null_ar_t, null_returns
from ordinis.engines.learning.drift.bocpd import BOCPD
from ordinis.engines.learning.drift.calibrated import TARGET_ARL0
from ordinis.engines.learning.drift.calibration import average_run_length, calibrate
from ordinis.engines.learning.drift.cusum import (
    AutocorrelatedCUSUM,
    LocatedCUSUM,
    WarmupTestedCUSUM,
)
from ordinis.engines.learning.drift.detectors import DriftDetector
from ordinis.engines.learning.drift.hybrid import HybridCUSUM
from ordinis.engines.learning.drift.warmup_test import warmup_shift_test

N_SERIES = 24
LENGTH = 5000
N_AR = 8
AR_LENGTH = 4000
CALIBRATION_SEED = 11
CHECK_SEED = 12
N_SHORT = 150
SHORT_LENGTH = 40
N_WINDOWS = 400
TEST_FROM = 25


def short_null_families(seed: int, n: int = N_SHORT) -> dict[str, list[np.ndarray]]:
    """Every null family cut to ``SHORT_LENGTH`` points (the CUSUM's warm-up), ``n`` each."""
    fams = {}
    for name, series in null_families(seed).items():
        cuts = [s[i:i + SHORT_LENGTH] for s in series
                for i in range(0, len(s) - SHORT_LENGTH + 1, 2 * SHORT_LENGTH)]
        fams[name] = cuts[:n]
    return fams


def warmup_test_maxima(seed: int) -> dict[str, np.ndarray]:
    """Per family, the largest warm-up test statistic over the lengths tested, per window."""
    out = {}
    for name, windows in short_null_families(seed, N_WINDOWS).items():
        out[name] = np.array([max(warmup_shift_test(w[:m]).statistic
                                  for m in range(TEST_FROM, SHORT_LENGTH + 1))
                              for w in windows])
    return out


def null_families(seed: int) -> dict[str, list[np.ndarray]]:
    """Every null family, named: bootstrapped returns and the AR(1) x tails grid."""
    fams = {"returns": null_returns(N_SERIES, LENGTH, seed=seed)}
    for i, phi in enumerate(NULL_PHIS):
        for j, dof in enumerate(NULL_DOFS):
            tail = "gauss" if math.isinf(dof) else f"t{dof:g}"
            fams[f"ar{phi:g}_{tail}"] = null_ar_t(N_AR, AR_LENGTH, phi, dof,
                                                   seed=seed * 100 + 10 * i + j)
    return fams


def worst_case(make: Callable[[float], DriftDetector], fams: dict[str, list[np.ndarray]],
               target: float, low: float, high: float) -> tuple[float, str]:
    """The smallest value meeting ``target`` on every family, and the family that sets it."""
    values = {name: calibrate(make, nulls, target, low, high).value
              for name, nulls in fams.items()}
    name = max(values, key=values.__getitem__)
    return values[name], name


def main() -> int:
    t0 = time.perf_counter()
    fams = null_families(CALIBRATION_SEED)
    check = null_families(CHECK_SEED)
    print(f"null families: returns ({N_SERIES} x {LENGTH} block-bootstrapped S&P 500 stock "
          f"returns) and AR(1) phi {NULL_PHIS} x innovations {NULL_DOFS} ({N_AR} x {AR_LENGTH}"
          f" each); target ARL0 {TARGET_ARL0}")
    scale, scale_by = worst_case(lambda v: AutocorrelatedCUSUM(threshold_scale=v), fams,
                                 TARGET_ARL0, 0.3, 8.0)
    located, located_by = worst_case(lambda v: LocatedCUSUM(threshold_scale=v), fams,
                                     TARGET_ARL0, 0.3, 8.0)
    bocpd = calibrate(lambda v: BOCPD(threshold=v), fams["returns"], TARGET_ARL0, 0.3, 0.99999,
                      logit=True)
    rate = SHORT_LENGTH / TARGET_ARL0
    test_cal = warmup_test_maxima(CALIBRATION_SEED)
    test_check = warmup_test_maxima(CHECK_SEED)
    test_by = max(test_cal, key=lambda f: float(np.quantile(test_cal[f], 1.0 - rate)))
    test_thr = float(np.quantile(test_cal[test_by], 1.0 - rate))
    tested, tested_by = worst_case(
        lambda v: WarmupTestedCUSUM(threshold_scale=v, warmup_test=test_thr), fams,
        TARGET_ARL0, 0.3, 8.0)
    print(f"warm-up test: threshold {test_thr:.3f} (set by {test_by}); false alarms per "
          f"{SHORT_LENGTH}-point warm-up, target <= {rate:.3f}, on {N_WINDOWS} windows per family")
    print(f"{'family':<16}{'calib':>8}{'check':>8}")
    for name in test_cal:
        print(f"{name:<16}{np.mean(test_cal[name] > test_thr):>8.3f}"
              f"{np.mean(test_check[name] > test_thr):>8.3f}")
    print(f"{'family':<16}{'CUSUM ARL0 calib':>18}{'CUSUM ARL0 check':>18}{'BOCPD check':>13}"
          f"{'located calib':>15}{'located check':>15}{'tested calib':>14}{'tested check':>14}")
    cusum_check: dict[str, float] = {}
    located_check: dict[str, float] = {}
    tested_check: dict[str, float] = {}
    for name in fams:
        cal = average_run_length(lambda: AutocorrelatedCUSUM(threshold_scale=scale),
                                 fams[name]).arl0
        cusum_check[name] = average_run_length(
            lambda: AutocorrelatedCUSUM(threshold_scale=scale), check[name]).arl0
        b = average_run_length(lambda: BOCPD(threshold=bocpd.value), check[name]).arl0
        lcal = average_run_length(lambda: LocatedCUSUM(threshold_scale=located),
                                  fams[name]).arl0
        located_check[name] = average_run_length(
            lambda: LocatedCUSUM(threshold_scale=located), check[name]).arl0
        tcal = average_run_length(
            lambda: WarmupTestedCUSUM(threshold_scale=tested, warmup_test=test_thr),
            fams[name]).arl0
        tested_check[name] = average_run_length(
            lambda: WarmupTestedCUSUM(threshold_scale=tested, warmup_test=test_thr),
            check[name]).arl0
        print(f"{name:<16}{cal:>18.0f}{cusum_check[name]:>18.0f}{b:>13.0f}{lcal:>15.0f}"
              f"{located_check[name]:>15.0f}{tcal:>14.0f}{tested_check[name]:>14.0f}")
    print(f"HybridCUSUM early phase: ARL0 on {N_SHORT} x {SHORT_LENGTH}-point nulls per family "
          "(the BOCPD watching the CUSUM's first warm-up)")
    for name, nulls in short_null_families(CHECK_SEED).items():
        print(f"{name:<16}{average_run_length(HybridCUSUM, nulls).arl0:>18.0f}")
    print(f"CUSUM_THRESHOLD_SCALE = {scale:.4f}   # set by the {scale_by} family")
    print(f"LOCATED_CUSUM_THRESHOLD_SCALE = {located:.4f}   # set by the {located_by} family")
    print(f"BOCPD_THRESHOLD = {bocpd.value:.6f}   # ARL0 {bocpd.estimate.arl0:.0f} on returns")
    print(f"WARMUP_SHIFT_THRESHOLD = {test_thr:.3f}   # set by the {test_by} family")
    print(f"WARMUP_TESTED_CUSUM_THRESHOLD_SCALE = {tested:.4f}   # set by the {tested_by} family")
    print(f"took {time.perf_counter() - t0:.0f} s")
    print(f"RESULT cusum_threshold_scale={scale:.4f} "
          f"cusum_arl0_returns={cusum_check['returns']:.0f} "
          f"cusum_arl0_min={min(cusum_check.values()):.0f} bocpd_threshold={bocpd.value:.6f} "
          f"located_threshold_scale={located:.4f} "
          f"located_arl0_returns={located_check['returns']:.0f} "
          f"located_arl0_min={min(located_check.values()):.0f} "
          f"warmup_shift_threshold={test_thr:.3f} tested_threshold_scale={tested:.4f} "
          f"tested_arl0_returns={tested_check['returns']:.0f} "
          f"tested_arl0_min={min(tested_check.values()):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
