"""Speed of drift checks and streaming updates, each against a baseline measured in the same run.

* threshold checks: one metric against precomputed bounds (``MetricBounds.severity_code``, the
  per-metric fast path, in a tight loop), versus a naive check that recomputes the bounds from
  the baseline and threshold on every call; plus the vectorised batch path.
* streaming updates: ``AutocorrelatedCUSUM.update`` versus river's ADWIN ``update``.

Run: ``python benchmarks/drift_speed.py``; the last line is ``RESULT ...``.
Timing uses ``time.perf_counter`` (a benchmark measures wall time; no decision depends on it).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ordinis.engines.learning.drift.baselines import PerformanceBaseline, compute_bounds
from ordinis.engines.learning.drift.cusum import AutocorrelatedCUSUM
from ordinis.engines.learning.drift.detectors import ADWINDetector
from ordinis.engines.learning.events.store import from_us

N_CHECKS = 1_000_000
N_UPDATES = 500_000


def best_of(fn: object, repeat: int = 3) -> float:
    """Smallest wall time of ``repeat`` runs of ``fn()`` (seconds)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    rng = np.random.default_rng(0)
    values = rng.uniform(0.3, 0.8, N_CHECKS).tolist()
    baseline = PerformanceBaseline.create("m", {"accuracy": 0.6}, 0.1, from_us(0))
    bounds = baseline.bounds["accuracy"]

    def fast() -> int:
        check = bounds.severity_code
        alerts = 0
        for v in values:
            if check(v):
                alerts += 1
        return alerts

    def naive() -> int:
        alerts = 0
        for v in values[: N_CHECKS // 10]:
            if compute_bounds("accuracy", 0.6, 0.1).severity_code(v):
                alerts += 1
        return alerts

    fast()  # warm-up
    t_fast = best_of(fast)
    t_naive = best_of(naive) * 10
    arr = np.asarray(values)
    t_vec = best_of(lambda: bounds.severity_codes(arr))
    checks_per_s = N_CHECKS / t_fast
    print(f"threshold check, precomputed bounds (tight loop): {checks_per_s:,.0f} /s")
    print(f"threshold check, bounds recomputed per call:     {N_CHECKS / t_naive:,.0f} /s "
          f"(x{t_naive / t_fast:.1f} slower)")
    print(f"threshold check, vectorised batch:               {N_CHECKS / t_vec:,.0f} /s")

    stream = rng.normal(0.0, 1.0, N_UPDATES).tolist()

    def ours() -> None:
        update = AutocorrelatedCUSUM().update
        for x in stream:
            update(x)

    def adwin() -> None:
        update = ADWINDetector().update
        for x in stream:
            update(x)

    t_ours = best_of(ours)
    t_adwin = best_of(adwin)
    ups = N_UPDATES / t_ours
    print(f"streaming update, AutocorrelatedCUSUM: {ups:,.0f} /s")
    print(f"streaming update, river ADWIN (wrapped): {N_UPDATES / t_adwin:,.0f} /s")
    print(
        f"RESULT checks_per_s={checks_per_s:.0f} stream_updates_per_s={ups:.0f} "
        f"naive_checks_per_s={N_CHECKS / t_naive:.0f} vector_checks_per_s={N_CHECKS / t_vec:.0f} "
        f"adwin_updates_per_s={N_UPDATES / t_adwin:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
