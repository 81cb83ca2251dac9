"""Vectorised signal backtest with costs, free of lookahead by construction.

Alignment (the one rule every caller relies on)::

    returns[t] = close[t] / close[t-1] - 1        the return realised AT bar t (known at its close)
    signals[t] = what the model said at close t   (may use anything known at close t)
    position[t] = policy.positions(signals[t])     held from close t to close t+1
    pnl[t+1]   = position[t] * returns[t+1] - cost(|position[t] - position[t-1]|)

So a signal never earns the return of its own bar: a "perfect" signal built from the bar's own
return (``signals = sign(returns)``) is information known at close t and earns only what that
predicts about t+1. Row ``k`` of a :class:`BacktestResult` is the holding period t=k -> t=k+1,
indexed by the timestamp t+1 at which its pnl is realised; there are ``n - 1`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.strategy import PositionPolicy

ArrayLike = pd.Series | pd.DataFrame | np.ndarray


@dataclass(slots=True)
class BacktestResult:
    """Per-period outcome of a backtest; arrays have one row per holding period.

    ``positions``/``asset_returns`` are 2-D (periods x assets) so single- and multi-asset runs
    share one code path; ``net_returns`` is the portfolio return after costs.
    """

    index: pd.Index
    positions: np.ndarray
    asset_returns: np.ndarray
    gross_returns: np.ndarray
    costs: np.ndarray
    net_returns: np.ndarray
    turnover: np.ndarray
    cost_bps: float
    slippage_bps: float

    @property
    def n_periods(self) -> int:
        return int(self.net_returns.shape[0])

    def net_series(self) -> pd.Series:
        """Net strategy returns as a Series indexed by realisation time."""
        return pd.Series(self.net_returns, index=self.index, name="net_return")


def _as_2d(name: str, value: ArrayLike) -> tuple[np.ndarray, pd.Index | None]:
    if isinstance(value, pd.DataFrame):
        return value.to_numpy(dtype=float), value.index
    if isinstance(value, pd.Series):
        return value.to_numpy(dtype=float)[:, None], value.index
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValidationError(
            "backtest input",
            [FieldProblem(name, arr.shape, "must be 1-D or 2-D (periods x assets)")],
        )
    return arr, None


def backtest(
    signals: ArrayLike,
    returns: ArrayLike,
    cost_bps: float = 1.0,
    slippage_bps: float = 1.0,
    *,
    max_gross: float = 1.0,
    policy: PositionPolicy | None = None,
) -> BacktestResult:
    """Trade ``signals`` against realised bar ``returns`` (see the module doc for alignment).

    ``policy`` (the version's strategy definition) sets the signal-to-position mapping, the
    gross and the costs; without it the signal is clipped and the keyword costs apply.
    Multi-asset input (2-D) is traded as an equal-weight book: each asset gets
    ``signal / n_assets * max_gross``. Costs and slippage are charged in basis points of one-way
    turnover; the first position is bought from flat. NaN signals mean flat.
    """
    sig, sig_index = _as_2d("signals", signals)
    ret, ret_index = _as_2d("returns", returns)
    problems: list[FieldProblem] = []
    if sig.shape != ret.shape:
        problems.append(
            FieldProblem("signals", sig.shape, f"shape must equal returns' shape {ret.shape}")
        )
    if sig_index is not None and ret_index is not None and not sig_index.equals(ret_index):
        problems.append(
            FieldProblem(
                "signals.index", len(sig_index), "must equal returns.index (align them first)"
            )
        )
    if cost_bps < 0 or slippage_bps < 0:
        problems.append(
            FieldProblem("cost_bps/slippage_bps", (cost_bps, slippage_bps), "must be >= 0")
        )
    if ret.shape[0] < 2:
        problems.append(FieldProblem("returns", ret.shape[0], "need at least 2 bars"))
    if problems:
        raise ValidationError("backtest input", problems)
    if policy is None:
        policy = PositionPolicy(
            max_gross=max_gross, cost_bps=cost_bps, slippage_bps=slippage_bps
        )
    # returns[0] is never traded (no position before the first close) so it may be NaN.
    bad = np.flatnonzero(~np.isfinite(ret[1:]).all(axis=1))
    if bad.size:
        raise ValidationError(
            "backtest input",
            [
                FieldProblem(
                    "returns",
                    f"row {int(bad[0]) + 1}",
                    "must be finite after the first row; "
                    "drop or fill missing prices before backtesting",
                )
            ],
        )
    n_assets = sig.shape[1]
    weights = policy.positions(sig) * (policy.max_gross / n_assets)
    held = weights[:-1]  # position set at close t ...
    earned = ret[1:]  # ... earns the return realised at t+1
    prev = np.vstack([np.zeros((1, n_assets)), held[:-1]])
    turnover = np.abs(held - prev).sum(axis=1)
    gross = (held * earned).sum(axis=1)
    costs = turnover * policy.cost_rate
    index = ret_index if ret_index is not None else sig_index
    out_index = index[1:] if index is not None else pd.RangeIndex(1, ret.shape[0])
    return BacktestResult(
        index=out_index,
        positions=held,
        asset_returns=earned,
        gross_returns=gross,
        costs=costs,
        net_returns=gross - costs,
        turnover=turnover,
        cost_bps=float(policy.cost_bps),
        slippage_bps=float(policy.slippage_bps),
    )
