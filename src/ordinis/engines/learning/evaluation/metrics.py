"""Trading metrics of a backtest, computed from per-period sums so the bootstrap reuses them.

Every ratio metric (Sharpe, Sortino, win rate, profit factor, hit rate, returns) is a function of
column sums of :func:`period_statistics`; :func:`ratios_from_sums` evaluates it for one sum
vector or for 10,000 bootstrap resamples at once. Path metrics (max drawdown, Calmar) need the
ordered return path and are computed by :func:`max_drawdown`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ordinis.engines.learning.evaluation.backtest import BacktestResult

# Columns of period_statistics, in order.
STAT_COLUMNS: tuple[str, ...] = (
    "ret",
    "ret_sq",
    "down_sq",
    "gain",
    "loss",
    "wins",
    "active",
    "hits",
    "hit_den",
    "log_growth",
)
_C = {name: i for i, name in enumerate(STAT_COLUMNS)}

# Metrics that are functions of the period sums (and so get bootstrap intervals cheaply).
SUM_METRICS: tuple[str, ...] = (
    "sharpe",
    "sortino",
    "win_rate",
    "profit_factor",
    "hit_rate",
    "total_return",
    "annual_return",
)


@dataclass(slots=True)
class TradingMetrics:
    """Headline statistics of one backtest; ratios are annualised with ``periods_per_year``.

    ``max_drawdown`` is a positive fraction (0.2 = a 20 % peak-to-trough loss). ``win_rate`` is
    the share of periods in the market that made money; ``hit_rate`` the share of non-flat
    asset-periods whose position sign matched the sign of the asset's return. ``turnover`` is
    annualised one-way turnover in multiples of capital; ``exposure`` the mean gross exposure;
    ``n_trades`` counts positions opened or reversed (per asset), not resizings.
    """

    sharpe: float
    sortino: float
    max_drawdown: float
    calmar: float
    win_rate: float
    profit_factor: float
    hit_rate: float
    turnover: float
    n_trades: int
    exposure: float
    total_return: float
    annual_return: float
    n_periods: int
    periods_per_year: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def period_statistics(result: BacktestResult) -> np.ndarray:
    """One row per period, columns :data:`STAT_COLUMNS`; metrics are functions of column sums."""
    r = result.net_returns
    pos = result.positions
    asset = result.asset_returns
    stats = np.empty((r.shape[0], len(STAT_COLUMNS)))
    stats[:, _C["ret"]] = r
    stats[:, _C["ret_sq"]] = r * r
    down = np.minimum(r, 0.0)
    stats[:, _C["down_sq"]] = down * down
    stats[:, _C["gain"]] = np.maximum(r, 0.0)
    stats[:, _C["loss"]] = down
    active = (np.abs(pos) > 0).any(axis=1)
    stats[:, _C["wins"]] = (r > 0) & active
    stats[:, _C["active"]] = active
    counted = (pos != 0) & (asset != 0)
    stats[:, _C["hits"]] = (counted & (np.sign(pos) == np.sign(asset))).sum(axis=1)
    stats[:, _C["hit_den"]] = counted.sum(axis=1)
    stats[:, _C["log_growth"]] = np.log1p(np.maximum(r, -0.999999))
    return stats


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def ratios_from_sums(sums: np.ndarray, n: int, periods_per_year: float) -> dict[str, np.ndarray]:
    """The :data:`SUM_METRICS` from column sums (shape ``(..., n_columns)``) of n periods."""
    s = np.asarray(sums, dtype=float)
    total = s[..., _C["ret"]]
    mean = total / n
    var = np.maximum(s[..., _C["ret_sq"]] - total * mean, 0.0) / max(n - 1, 1)
    std = np.sqrt(var)
    ann = math.sqrt(periods_per_year)
    downside = np.sqrt(s[..., _C["down_sq"]] / n)
    gain, loss = s[..., _C["gain"]], -s[..., _C["loss"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        pf = np.where(
            loss > 0, gain / np.where(loss > 0, loss, 1.0), np.where(gain > 0, np.inf, np.nan)
        )
    growth = s[..., _C["log_growth"]]
    # A flat strategy (no variance) has Sharpe 0 rather than an undefined ratio.
    sharpe = np.where(std > 1e-15, _div(mean, std) * ann, 0.0)
    sortino = np.where(
        downside > 1e-15, _div(mean, downside) * ann, np.where(mean > 0, np.inf, 0.0)
    )
    return {
        "sharpe": sharpe,
        "sortino": sortino,
        "win_rate": _div(s[..., _C["wins"]], s[..., _C["active"]]),
        "profit_factor": pf,
        "hit_rate": _div(s[..., _C["hits"]], s[..., _C["hit_den"]]),
        "total_return": np.expm1(growth),
        "annual_return": np.expm1(growth * periods_per_year / n),
    }


def max_drawdown(net_returns: np.ndarray) -> np.ndarray:
    """Largest peak-to-trough loss of compounded returns along the last axis (positive fraction)."""
    r = np.asarray(net_returns, dtype=float)
    return max_drawdown_from_log_growth(np.log1p(np.maximum(r, -0.999999)))


def max_drawdown_from_log_growth(log_growth: np.ndarray) -> np.ndarray:
    """:func:`max_drawdown` from per-period ``log1p(return)`` values (no log per resample)."""
    log_eq = np.cumsum(log_growth, axis=-1)
    peak = np.maximum(np.maximum.accumulate(log_eq, axis=-1), 0.0)  # equity starts at 1
    result: np.ndarray = -np.expm1((log_eq - peak).min(axis=-1))
    return np.maximum(result, 0.0)


def calmar_ratio(annual_return: np.ndarray | float, mdd: np.ndarray | float) -> np.ndarray:
    """Annual return over max drawdown; NaN when there was no drawdown."""
    a = np.asarray(annual_return, dtype=float)
    d = np.asarray(mdd, dtype=float)
    return _div(a, d)


def compute_trading_metrics(
    result: BacktestResult, periods_per_year: float = 252.0
) -> TradingMetrics:
    """All :class:`TradingMetrics` of one backtest."""
    n = result.n_periods
    sums = period_statistics(result).sum(axis=0)
    ratios = {k: float(v) for k, v in ratios_from_sums(sums, n, periods_per_year).items()}
    mdd = float(max_drawdown(result.net_returns))
    sign = np.sign(result.positions)
    prev = np.vstack([np.zeros((1, sign.shape[1])), sign[:-1]]) if n else sign
    entries = (sign != prev) & (sign != 0)  # a position opened or reversed, per asset
    return TradingMetrics(
        sharpe=ratios["sharpe"],
        sortino=ratios["sortino"],
        max_drawdown=mdd,
        calmar=float(calmar_ratio(ratios["annual_return"], mdd)),
        win_rate=ratios["win_rate"],
        profit_factor=ratios["profit_factor"],
        hit_rate=ratios["hit_rate"],
        turnover=float(result.turnover.mean() * periods_per_year) if n else 0.0,
        n_trades=int(entries.sum()),
        exposure=float(np.abs(result.positions).sum(axis=1).mean()) if n else 0.0,
        total_return=ratios["total_return"],
        annual_return=ratios["annual_return"],
        n_periods=n,
        periods_per_year=float(periods_per_year),
    )
