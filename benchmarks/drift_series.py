"""Annotated series for the drift benchmarks: the development set and the held-out set.

* development (``dev_series``): seeded synthetic piecewise-stationary streams (mean and
  variance shifts of Gaussian, AR(1) and Student-t noise, trend changes of a random walk),
  the two toy streams of river's docs and river's Bitcoin series with its 5 annotators;
  ``tcpd_like_series``: simulated series shaped like TCPD's (lengths 20-600, level, slope and
  scale changes, persistence, heavy tails, simulated annotators), for development only.
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

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ordinis.engines.learning.drift.annotated import read_annotated_series

TCPD_DIR = Path(__file__).parent / "data" / "tcpd"
TCPD_DEV_DIR = Path(__file__).parent / "data" / "tcpd_dev"
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


def _annotations(raw: dict[Any, list[Any]]) -> dict[str, list[int]]:
    """Annotator id -> change indices, as the F-measure takes them."""
    return {str(k): [int(v) for v in vs] for k, vs in raw.items()}


def _tcpd_folder(folder: Path, family: str, skip: frozenset[str] = frozenset()) -> list[Series]:
    """Every series of a vendored TCPD folder named in its ``annotations.json`` (missing
    values -> NaN, the first dimension), sorted by name."""
    table = folder / "annotations.json"
    out = []
    for name in sorted(set(json.loads(table.read_text())) - skip):
        s = read_annotated_series(folder / name / f"{name}.json", table)
        out.append(Series(name, family, np.array(s.values),
                          {k: list(v) for k, v in s.annotations.items()}))
    return out


def bitcoin() -> Series:
    """river's Bitcoin series (TCPD's ``bitcoin``) with its five annotators."""
    from river.drift.datasets import Bitcoin

    ds = Bitcoin()
    values = np.array([y for _, y in ds], dtype=float)
    return Series("bitcoin", "bitcoin", values, _annotations(ds.annotations))


def dev_series(seeds: range = range(5)) -> list[Series]:
    """The development set: synthetic families, river's doc streams and Bitcoin."""
    out = [piecewise(seed, family) for seed in seeds for family in FAMILIES]
    for seed in range(2):
        out.extend(river_doc_streams(seed))
    out.append(bitcoin())
    return out


def nile() -> Series:
    """The Nile's yearly flow at Aswan (statsmodels' copy, public domain), TCPD's annotators."""
    from statsmodels.datasets import nile as nile_data

    values = nile_data.load_pandas().data["volume"].to_numpy(dtype=float)
    ann = json.loads((TCPD_DEV_DIR / "annotations.json").read_text())["nile"]
    return Series("nile", "real_dev", values, _annotations(ann))


def real_dev_series() -> list[Series]:
    """The real annotated development series: TCPD series outside the held-out set.

    River's Bitcoin, statsmodels' Nile, and the TCPD series vendored in
    ``benchmarks/data/tcpd_dev`` (homeruns, centralia, and the five quality-control series the
    dataset's authors built and had annotated like the others). Same five-annotator protocol as
    the held-out set, none of the same series: choices may look at these.
    """
    btc = bitcoin()
    vendored = _tcpd_folder(TCPD_DEV_DIR, "real_dev", skip=frozenset({"nile"}))  # data: statsmodels
    return [Series(btc.name, "real_dev", btc.values, btc.annotations), nile(), *vendored]


def heldout_series() -> list[Series]:
    """The held-out set: every vendored TCPD series with its annotations (missing -> NaN)."""
    return _tcpd_folder(TCPD_DIR, "tcpd")


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


def tcpd_like(seed: int) -> Series:
    """A simulated series shaped like TCPD's real ones (development only, seeded).

    Length 20-600 (log-uniform), 1-4 changes at least 8 points apart (one plus about one
    per 150 points; none in one series of ten: TCPD's series were chosen for their changes),
    a level, a trend (deterministic or integrated) or a volatility regime, AR(1) noise with
    ``phi`` in [0, 0.9] and Gaussian, t5 or t3 innovations, a yearly cycle on some; changes
    of level, slope or scale. Five simulated annotators mark each change with
    probability 0.85 within about 2 points, and now and then a point of their own.
    """
    rng = np.random.default_rng(50_000 + seed)
    n = int(math.exp(rng.uniform(math.log(20), math.log(600))))
    k = 0 if rng.uniform() < 0.1 else min(1 + int(rng.poisson(n / 150.0)), 4)
    cps: list[int] = []
    for _ in range(k):
        c = int(rng.integers(8, n - 8)) if n > 16 else 0
        if c and all(abs(c - o) >= 8 for o in cps):
            cps.append(c)
    cps.sort()
    kind = rng.choice(["level", "trend", "random_walk", "volatility"])
    phi = float(rng.uniform(0.0, 0.9))
    dof = float(rng.choice([math.inf, 5.0, 3.0]))
    eps = rng.normal(0.0, 1.0, n) if math.isinf(dof) else rng.standard_t(dof, n) / math.sqrt(
        dof / (dof - 2.0))
    bounds = [0, *cps, n]
    scale = np.ones(n)
    level = np.zeros(n)
    slope = np.zeros(n)
    lvl, slp, sc = 0.0, float(rng.normal(0.0, 0.3)), 1.0
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        if i:
            what = kind if kind != "random_walk" else "trend"
            change = rng.choice(["level", what, "volatility"], p=[0.4, 0.4, 0.2])
            if change == "level":
                lvl += float(rng.choice([-1, 1]) * rng.uniform(1.5, 5.0))
            elif change == "trend":
                slp += float(rng.choice([-1, 1]) * rng.uniform(0.4, 1.5))
            else:
                sc *= float(rng.choice([1 / 3, 3.0]) * rng.uniform(0.8, 1.25))
        level[a:b] = lvl
        slope[a:b] = slp
        scale[a:b] = sc
    noise = _ar1_from(eps * scale, phi) * math.sqrt(1 - phi * phi)
    if kind == "random_walk":
        values = np.cumsum(slope + 0.5 * noise) + level * 0.5
    elif kind == "trend":
        steps = np.cumsum(slope) * 0.1
        values = steps + level + noise
    else:
        values = level + noise
    if rng.uniform() < 0.2:
        values = values + float(rng.uniform(0.5, 2.0)) * np.sin(2 * math.pi * np.arange(n) / 12)
    values = values * float(math.exp(rng.uniform(-3, 8))) + float(rng.normal(0, 100))
    ann: dict[str, list[int]] = {}
    for j in range(5):
        marks = sorted({min(n - 1, max(1, c + round(rng.normal(0.0, 1.5))))
                        for c in cps if rng.uniform() < 0.85})
        if rng.uniform() < 0.1 and n > 2:
            marks = sorted({*marks, int(rng.integers(1, n))})
        ann[str(j)] = marks
    return Series(f"tcpd_like_{seed}", "tcpd_like", values, ann)


def _ar1_from(eps: np.ndarray, phi: float) -> np.ndarray:
    out = np.empty(len(eps))
    prev = 0.0
    for i, e in enumerate(eps.tolist()):
        prev = phi * prev + e
        out[i] = prev
    return out


def tcpd_like_series(n_series: int = 120, offset: int = 0) -> list[Series]:
    """``n_series`` seeded TCPD-like development series."""
    return [tcpd_like(offset + i) for i in range(n_series)]
