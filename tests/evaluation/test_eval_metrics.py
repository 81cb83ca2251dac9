"""Trading metrics against hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ordinis.engines.learning.evaluation import backtest, compute_trading_metrics
from ordinis.engines.learning.evaluation.metrics import max_drawdown


def test_metrics_match_hand_computation() -> None:
    r = np.array([0.01, -0.02, 0.015, 0.0, -0.005, 0.02])
    res = backtest(np.ones(7), np.concatenate([[np.nan], r]), 0.0, 0.0)
    m = compute_trading_metrics(res, periods_per_year=252)
    assert m.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252))
    downside = math.sqrt(np.mean(np.minimum(r, 0) ** 2))
    assert m.sortino == pytest.approx(r.mean() / downside * math.sqrt(252))
    equity = np.cumprod(1 + r)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    assert m.max_drawdown == pytest.approx(np.max(1 - equity / peak))
    assert m.win_rate == pytest.approx(3 / 6)
    assert m.profit_factor == pytest.approx(0.045 / 0.025)
    assert m.hit_rate == pytest.approx(3 / 5)  # the zero-return bar is not counted
    assert m.total_return == pytest.approx(np.prod(1 + r) - 1)
    assert m.annual_return == pytest.approx(np.prod(1 + r) ** (252 / 6) - 1)
    assert m.calmar == pytest.approx(m.annual_return / m.max_drawdown)
    assert m.n_trades == 1 and m.exposure == pytest.approx(1.0)


def test_flat_strategy_has_zero_sharpe_and_no_trades() -> None:
    res = backtest(np.zeros(50), np.r_[np.nan, np.random.default_rng(0).normal(0, 0.01, 49)], 0, 0)
    m = compute_trading_metrics(res)
    assert m.sharpe == 0.0 and m.n_trades == 0 and m.exposure == 0.0 and m.max_drawdown == 0.0
    assert math.isnan(m.win_rate)


def test_trades_count_entries_and_reversals_not_resizing() -> None:
    res = backtest(np.array([0.5, 1.0, -0.2, 0.0, 0.3, 0.3]), np.r_[np.nan, np.zeros(5)], 0, 0)
    assert compute_trading_metrics(res).n_trades == 3  # open long, flip short, reopen long


def test_max_drawdown_batches_along_last_axis() -> None:
    paths = np.array([[0.1, -0.5, 0.2], [-0.1, -0.1, 0.0]])
    np.testing.assert_allclose(max_drawdown(paths), [0.5, 1 - 0.81])
