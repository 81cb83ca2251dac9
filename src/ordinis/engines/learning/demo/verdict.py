"""The report's statistics: bootstrap bands of equity and the paired closed-loop-vs-static test.

Both use arch's stationary bootstrap (Politis-Romano), with arch's optimal expected block
length, so the serial dependence of daily returns is kept in every resample.
"""

from __future__ import annotations

import numpy as np
from arch.bootstrap import StationaryBootstrap, optimal_block_length

from ordinis.engines.learning.demo.record import BookSeries, EquityBand, PairedVerdict


def _block_length(x: np.ndarray) -> float:
    """arch's optimal expected block length for the stationary bootstrap (at least 1)."""
    if len(x) < 20 or float(np.std(x)) == 0.0:
        return 1.0
    value = float(optimal_block_length(x)["stationary"].iloc[0])
    return max(1.0, value) if np.isfinite(value) else 1.0


def _indices(n: int, block: float, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) stationary-bootstrap indices from arch (one generator, a fixed seed)."""
    # arch takes the expected block length as a float, though its stubs say int
    bs = StationaryBootstrap(block, np.zeros(n), seed=np.random.default_rng(seed))  # type: ignore[arg-type]
    out = np.empty((resamples, n), dtype=np.int64)
    for i, _ in enumerate(bs.bootstrap(resamples)):
        out[i] = np.asarray(bs.index, dtype=np.int64)
    return out


def equity_band(
    book: BookSeries, level: float = 0.90, resamples: int = 500, seed: int = 7
) -> EquityBand:
    """The ``level`` band of equity paths rebuilt from resampled blocks of the book's returns."""
    r = np.nan_to_num(np.asarray(book.returns, dtype=float))
    idx = _indices(len(r), _block_length(r), resamples, seed)
    paths = np.cumprod(1.0 + r[idx], axis=1)
    tail = (1.0 - level) / 2.0
    lower, upper = np.quantile(paths, [tail, 1.0 - tail], axis=0)
    return EquityBand(book.name, lower, upper, level, resamples)


def paired_test(
    loop: BookSeries,
    static: BookSeries,
    alpha: float = 0.05,
    resamples: int = 2000,
    seed: int = 11,
) -> PairedVerdict:
    """One-sided paired test of H1: the loop's mean return per bar exceeds the static model's.

    The daily differences are resampled with the stationary bootstrap; the p-value is the share
    of null-centred resampled means at or above the observed mean. The interval is the
    two-sided (1 - 2 alpha) percentile interval, whose lower end is the one-sided bound.
    """
    per_year = loop.periods_per_year
    d = np.nan_to_num(np.asarray(loop.returns, dtype=float)) - np.nan_to_num(
        np.asarray(static.returns, dtype=float)
    )
    n = len(d)
    if n < 2:
        raise ValueError(f"paired test needs at least 2 days of both books, got {n}")
    observed = float(d.mean())
    idx = _indices(n, _block_length(d), resamples, seed)
    means = d[idx].mean(axis=1)
    p_value = float((np.sum(means - observed >= observed) + 1) / (resamples + 1))
    lower, upper = np.quantile(means, [alpha, 1.0 - alpha])
    return PairedVerdict(
        statistic=f"mean return difference per bar (closed loop - static), x{per_year:g}",
        alternative="one-sided, H1: the closed loop's mean return is higher",
        alpha=alpha,
        estimate=observed * per_year,
        lower=float(lower) * per_year,
        upper=float(upper) * per_year,
        interval=f"{1 - 2 * alpha:.0%} stationary-bootstrap percentile interval "
        f"(its lower end is the one-sided {1 - alpha:.0%} bound)",
        p_value=p_value,
        resamples=resamples,
        days=n,
    )
