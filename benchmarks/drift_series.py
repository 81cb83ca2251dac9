"""Annotated series for the drift benchmarks: the development set and the held-out set.

* development (``dev_series``): seeded synthetic piecewise-stationary streams (mean and
  variance shifts of Gaussian, AR(1) and Student-t noise, trend changes of a random walk),
  the two toy streams of river's docs and river's Bitcoin series with its 5 annotators.
  Defaults and design choices may look at these.
* held-out (``heldout_series``): the real-world, redistributable univariate series of the
  Turing change-point dataset (TCPD), vendored in ``benchmarks/data/tcpd`` with their 5
  annotators (see the README there). Nothing is tuned on them; Bitcoin, which TCPD also
  holds, is in the development set only.
* null (``null_returns``, ``null_ar_t``): block-bootstrapped daily returns of skfolio's S&P 500
  stocks, and simulated AR(1) streams with Gaussian or Student-t innovations: the no-change
  series the thresholds are calibrated on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TCPD_DIR = Path(__file__).parent / "data" / "tcpd"
FAMILIES = ("gauss_mean", "gauss_var", "ar1_mean", "ar1_var", "t3_mean", "trend")


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


def piecewise(seed: int, family: str) -> Series:
    """A seeded piecewise-stationary stream of the given family and its change points."""
    rng = np.random.default_rng(1000 * seed + FAMILIES.index(family))
    lengths = [int(v) for v in rng.integers(60, 400, 5)]
    n = sum(lengths)
    cps = [int(c) for c in np.cumsum(lengths)[:-1]]
    mean = np.empty(n)
    sd = np.empty(n)
    slope = np.empty(n)
    start = 0
    level, scale, drift = 0.0, 1.0, 0.0
    for length in lengths:
        if family.endswith("mean"):
            level = level + rng.choice([-1, 1]) * rng.uniform(1.5, 4.0) if start else 0.0
        elif family.endswith("var"):
            scale = scale * (rng.choice([0.33, 3.0]) if start else 1.0)
        else:
            drift = rng.choice([-1, 1]) * rng.uniform(0.3, 1.0) if start else 0.2
        mean[start:start + length] = level
        sd[start:start + length] = scale
        slope[start:start + length] = drift
        start += length
    if family.startswith("ar1"):
        phi = 0.5
        values = mean + _ar1(rng, n, phi, sd * math.sqrt(1 - phi * phi))
    elif family.startswith("t3"):
        values = mean + rng.standard_t(3, n) * sd / math.sqrt(3.0)
    elif family == "trend":
        values = np.cumsum(slope + rng.normal(0.0, 0.5, n))
    else:
        values = mean + rng.normal(0.0, 1.0, n) * sd
    return Series(f"{family}_{seed}", family, values, {"truth": cps})


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
    """river's Bitcoin series (TCPD's ``bitcoin``) with its five annotators."""
    from river.drift.datasets import Bitcoin

    ds = Bitcoin()
    values = np.array([y for _, y in ds], dtype=float)
    ann = {str(k): [int(v) for v in vs] for k, vs in ds.annotations.items()}
    return Series("bitcoin", "bitcoin", values, ann)


def dev_series(seeds: range = range(5)) -> list[Series]:
    """The development set: synthetic families, river's doc streams and Bitcoin."""
    out = [piecewise(seed, family) for seed in seeds for family in FAMILIES]
    for seed in range(2):
        out.extend(river_doc_streams(seed))
    out.append(bitcoin())
    return out


def heldout_series() -> list[Series]:
    """The held-out set: every vendored TCPD series with its annotations (missing -> NaN)."""
    annotations = json.loads((TCPD_DIR / "annotations.json").read_text())
    out = []
    for name in sorted(annotations):
        data = json.loads((TCPD_DIR / name / f"{name}.json").read_text())
        raw = data["series"][0]["raw"]
        values = np.array([math.nan if v is None else float(v) for v in raw])
        ann = {str(k): [int(v) for v in vs] for k, vs in annotations[name].items()}
        out.append(Series(name, "tcpd", values, ann))
    return out


def null_returns(n_series: int, length: int, seed: int = 0, block: int = 20) -> list[np.ndarray]:
    """No-change series: stationary block bootstrap (arch) of real daily stock returns.

    Each series resamples one of skfolio's S&P 500 stocks in blocks of mean length ``block``,
    which keeps the short-range autocorrelation, the volatility clustering and the fat tails.
    """
    from arch.bootstrap import StationaryBootstrap
    from skfolio.datasets import load_sp500_dataset

    prices = load_sp500_dataset()
    returns = prices.pct_change().dropna().to_numpy()
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    for i in range(n_series):
        col = returns[:, i % returns.shape[1]]
        bs = StationaryBootstrap(block, col, seed=int(rng.integers(2**31)))
        sample = np.asarray(next(bs.bootstrap(1))[0][0], dtype=float)
        reps = math.ceil(length / len(sample))
        out.append(np.concatenate([sample] * reps)[:length])
    return out


NULL_PHIS = (0.0, 0.5, 0.9, 0.98, 1.0)
NULL_DOFS = (math.inf, 5.0, 3.0)


def null_ar_t(
    n_series: int, length: int, phi: float, dof: float, seed: int = 0
) -> list[np.ndarray]:
    """No-change series: AR(1) with coefficient ``phi`` and Student-t(``dof``) innovations.

    ``dof = inf`` gives Gaussian innovations; ``phi = 1`` a random walk. With ``NULL_PHIS`` x
    ``NULL_DOFS`` they span the autocorrelation (white noise to a random walk) and tails
    (Gaussian to t3) of level series.
    """
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    for _ in range(n_series):
        eps = rng.normal(0.0, 1.0, length) if math.isinf(dof) else rng.standard_t(dof, length)
        values = np.empty(length)
        prev = 0.0
        for i, e in enumerate(eps.tolist()):
            prev = phi * prev + e
            values[i] = prev
        out.append(values)
    return out
