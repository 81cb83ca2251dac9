"""Detection quality of our AutocorrelatedCUSUM against river's ADWIN, PageHinkley and KSWIN.

Streams: seeded piecewise-stationary series with known change points (mean and variance shifts
of Gaussian and AR(1) noise, plus the two examples of river's docs) and river's Bitcoin data set
with its human annotations. Score: the F1 of the Turing change-point benchmark (margin 5, the
start counted as a change point, recall averaged over annotators), computed from the index at
which each detector raised its alarm. False alarms are counted on long stationary streams.

Run: ``python benchmarks/drift_detection.py``; the last line is ``RESULT ...``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from river.drift.datasets import Bitcoin

from ordinis.engines.learning.drift.cusum import AutocorrelatedCUSUM
from ordinis.engines.learning.drift.detectors import (
    ADWINDetector,
    DriftDetector,
    KSWINDetector,
    PageHinkleyDetector,
)
from ordinis.engines.learning.drift.scoring import f_measure

DETECTORS: dict[str, Callable[[], DriftDetector]] = {
    "ours_cusum": AutocorrelatedCUSUM,
    "river_adwin": ADWINDetector,
    "river_page_hinkley": PageHinkleyDetector,
    "river_kswin": KSWINDetector,
}
OURS = "ours_cusum"
SEEDS = range(5)
FAMILIES = ("gauss_mean", "gauss_var", "ar1_mean", "ar1_var")


@dataclass
class Series:
    """One stream with its annotated change points (one list per annotator)."""

    name: str
    family: str
    values: np.ndarray
    annotations: dict[str, list[int]]


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: np.ndarray | float) -> np.ndarray:
    eps = rng.normal(0.0, 1.0, n) * sd
    out = np.empty(n)
    prev = 0.0
    for i in range(n):
        prev = phi * prev + eps[i]
        out[i] = prev
    return out


def _segments(rng: np.random.Generator, n_seg: int) -> list[int]:
    lengths = rng.integers(150, 400, n_seg)
    return [int(x) for x in lengths]


def piecewise(seed: int, family: str) -> Series:
    """A seeded piecewise-stationary stream of the given family and its change points."""
    rng = np.random.default_rng(1000 * seed + FAMILIES.index(family))
    lengths = _segments(rng, 5)
    n = sum(lengths)
    cps = list(np.cumsum(lengths)[:-1])
    mean = np.empty(n)
    sd = np.empty(n)
    start = 0
    level, scale = 0.0, 1.0
    for length in lengths:
        if family.endswith("mean"):
            level = level + rng.choice([-1, 1]) * rng.uniform(1.5, 4.0) if start else 0.0
        else:
            scale = scale * (rng.choice([0.33, 3.0]) if start else 1.0)
        mean[start:start + length] = level
        sd[start:start + length] = scale
        start += length
    if family.startswith("ar1"):
        phi = 0.5
        # innovations scaled so the marginal sd equals ``sd``; the level shifts the mean.
        values = mean + _ar1(rng, n, phi, sd * math.sqrt(1 - phi * phi))
    else:
        values = mean + rng.normal(0.0, 1.0, n) * sd
    return Series(f"{family}_{seed}", family, values, {"truth": [int(c) for c in cps]})


def river_doc_streams(seed: int) -> list[Series]:
    """The two toy streams of river's drift docs (ADWIN/PageHinkley and KSWIN examples)."""
    rng = np.random.default_rng(seed)
    a = np.concatenate([rng.choice([0, 1], 1000), rng.choice(range(4, 8), 1000)]).astype(float)
    b = np.concatenate(
        [rng.normal(0.8, 0.05, 1000), rng.normal(0.4, 0.02, 1000), rng.normal(0.6, 0.1, 1000)]
    )
    return [
        Series(f"river_doc_adwin_{seed}", "river_doc", a, {"truth": [1000]}),
        Series(f"river_doc_kswin_{seed}", "river_doc", b, {"truth": [1000, 2000]}),
    ]


def bitcoin() -> Series:
    ds = Bitcoin()
    values = np.array([y for _, y in ds], dtype=float)
    ann = {str(k): [int(v) for v in vs] for k, vs in ds.annotations.items()}
    return Series("bitcoin", "bitcoin", values, ann)


def detections(factory: Callable[[], DriftDetector], values: np.ndarray) -> list[int]:
    """Indices at which the detector raised an alarm."""
    return located_detections(factory, values)[0]


def located_detections(
    factory: Callable[[], DriftDetector], values: np.ndarray
) -> tuple[list[int], list[int]]:
    """Alarm indices, and the detector's estimate of each change's start when it has one."""
    det = factory()
    alarms: list[int] = []
    located: list[int] = []
    for i, v in enumerate(values.tolist()):
        det.update(v)
        if det.drift_detected:
            alarms.append(i)
            located.append(int(getattr(det, "change_point", i)))
    return alarms, located


def delays(truth: list[int], found: list[int], n: int) -> list[int]:
    """Delay of the first alarm after each change, before the next change."""
    bounds = [*truth, n]
    out = []
    for cp, nxt in zip(truth, bounds[1:], strict=False):
        hits = [d for d in found if cp <= d < nxt]
        if hits:
            out.append(hits[0] - cp)
    return out


def stationary_false_alarms(name: str, factory: Callable[[], DriftDetector]) -> float:
    """Alarms per 10k points on stationary Gaussian, AR(1) (phi 0.5) and Student-t(5) noise."""
    total_alarms = 0
    total_points = 0
    for seed in range(3):
        rng = np.random.default_rng(777 + seed)
        for values in (
            rng.normal(0, 1, 10_000),
            _ar1(rng, 10_000, 0.5, 1.0),
            rng.standard_t(5, 10_000),
        ):
            total_alarms += len(detections(factory, values))
            total_points += len(values)
    return 10_000 * total_alarms / total_points


def main() -> int:
    series: list[Series] = []
    for seed in SEEDS:
        for family in FAMILIES:
            series.append(piecewise(seed, family))
    for seed in range(2):
        series.extend(river_doc_streams(seed))
    series.append(bitcoin())

    families = sorted({s.family for s in series})
    f1: dict[str, dict[str, list[float]]] = {d: {f: [] for f in families} for d in DETECTORS}
    all_delays: dict[str, list[int]] = {d: [] for d in DETECTORS}
    located_f1: dict[str, list[float]] = {f: [] for f in families}
    for s in series:
        for dname, factory in DETECTORS.items():
            found, located = located_detections(factory, s.values)
            f1[dname][s.family].append(f_measure(s.annotations, found, margin=5).f1)
            if dname == OURS:
                located_f1[s.family].append(f_measure(s.annotations, located, margin=5).f1)
            if s.family != "bitcoin":
                all_delays[dname].extend(delays(s.annotations["truth"], found, len(s.values)))

    print(f"{'detector':<20}" + "".join(f"{f:>12}" for f in families) + f"{'mean F1':>10}"
          f"{'delay':>8}{'FA/10k':>9}")
    summary: dict[str, tuple[float, float, float]] = {}
    for dname, factory in DETECTORS.items():
        per_family = [float(np.mean(f1[dname][f])) for f in families]
        mean_f1 = float(np.mean(per_family))  # each family weighs the same
        delay = float(np.mean(all_delays[dname])) if all_delays[dname] else math.nan
        fa = stationary_false_alarms(dname, factory)
        summary[dname] = (mean_f1, delay, fa)
        print(f"{dname:<20}" + "".join(f"{v:>12.3f}" for v in per_family)
              + f"{mean_f1:>10.3f}{delay:>8.1f}{fa:>9.2f}")

    loc = [float(np.mean(located_f1[f])) for f in families]
    f1_located = float(np.mean(loc))
    print(f"{'ours, located':<20}" + "".join(f"{v:>12.3f}" for v in loc) + f"{f1_located:>10.3f}"
          "   (scored at the estimated change start instead of the alarm index)")
    river_best = max((d for d in DETECTORS if d != OURS), key=lambda d: summary[d][0])
    ours = summary[OURS]
    print(f"best river detector by mean F1: {river_best} "
          f"(F1 {summary[river_best][0]:.3f}, FA/10k {summary[river_best][2]:.2f})")
    print(
        f"RESULT f1_ours={ours[0]:.3f} f1_best_river={summary[river_best][0]:.3f} "
        f"mean_delay={ours[1]:.1f} false_alarms_per_10k={ours[2]:.2f} "
        f"f1_ours_located={f1_located:.3f} "
        f"false_alarms_per_10k_best_river={summary[river_best][2]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
