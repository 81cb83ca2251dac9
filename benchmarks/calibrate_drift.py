"""Calibrate the default thresholds of our streaming detectors to a false-alarm target.

Null families (no change point): a stationary block bootstrap (arch, mean block 20) of the
daily returns of skfolio's 20 S&P 500 stocks (autocorrelation, volatility clustering and fat
tails of a real return or PnL stream), and simulated AR(1) streams over a grid of
coefficients (0 to 0.98) and innovation tails (Gaussian, t5, t3), which span level series.
Each threshold is the smallest whose average run length under no change (ARL0) reaches the
target on *every* family (bisection per family, then the maximum); the ARL0 is then checked
on fresh draws (another seed). No benchmark series (development or held-out) is used.

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
from ordinis.engines.learning.drift.cusum import AutocorrelatedCUSUM, LocatedCUSUM
from ordinis.engines.learning.drift.detectors import DriftDetector
from ordinis.engines.learning.drift.hybrid import HybridCUSUM

N_SERIES = 24
LENGTH = 5000
N_AR = 8
AR_LENGTH = 4000
CALIBRATION_SEED = 11
CHECK_SEED = 12
N_SHORT = 150
SHORT_LENGTH = 40


def short_null_families(seed: int) -> dict[str, list[np.ndarray]]:
    """Every null family cut to ``SHORT_LENGTH`` points (the CUSUM's warm-up), ``N_SHORT`` each."""
    fams = {}
    for name, series in null_families(seed).items():
        cuts = [s[i:i + SHORT_LENGTH] for s in series
                for i in range(0, len(s) - SHORT_LENGTH + 1, 2 * SHORT_LENGTH)]
        fams[name] = cuts[:N_SHORT]
    return fams


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
    print(f"{'family':<16}{'CUSUM ARL0 calib':>18}{'CUSUM ARL0 check':>18}{'BOCPD check':>13}"
          f"{'located calib':>15}{'located check':>15}")
    cusum_check: dict[str, float] = {}
    located_check: dict[str, float] = {}
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
        print(f"{name:<16}{cal:>18.0f}{cusum_check[name]:>18.0f}{b:>13.0f}{lcal:>15.0f}"
              f"{located_check[name]:>15.0f}")
    print(f"HybridCUSUM early phase: ARL0 on {N_SHORT} x {SHORT_LENGTH}-point nulls per family "
          "(the BOCPD watching the CUSUM's first warm-up)")
    for name, nulls in short_null_families(CHECK_SEED).items():
        print(f"{name:<16}{average_run_length(HybridCUSUM, nulls).arl0:>18.0f}")
    print(f"CUSUM_THRESHOLD_SCALE = {scale:.4f}   # set by the {scale_by} family")
    print(f"LOCATED_CUSUM_THRESHOLD_SCALE = {located:.4f}   # set by the {located_by} family")
    print(f"BOCPD_THRESHOLD = {bocpd.value:.6f}   # ARL0 {bocpd.estimate.arl0:.0f} on returns")
    print(f"took {time.perf_counter() - t0:.0f} s")
    print(f"RESULT cusum_threshold_scale={scale:.4f} "
          f"cusum_arl0_returns={cusum_check['returns']:.0f} "
          f"cusum_arl0_min={min(cusum_check.values()):.0f} bocpd_threshold={bocpd.value:.6f} "
          f"located_threshold_scale={located:.4f} "
          f"located_arl0_returns={located_check['returns']:.0f} "
          f"located_arl0_min={min(located_check.values()):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
