"""Backtest alignment (no lookahead), costs and input validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.evaluation import backtest, compute_trading_metrics
from ordinis.engines.learning.evaluation.benchmarks import sp500_index_close


def test_signal_at_t_earns_return_of_t_plus_1() -> None:
    idx = pd.date_range("2020-01-01", periods=4, freq="D")
    returns = pd.Series([np.nan, 0.01, -0.02, 0.03], index=idx)
    signals = pd.Series([1.0, -1.0, 1.0, 0.0], index=idx)
    res = backtest(signals, returns, cost_bps=0.0, slippage_bps=0.0)
    # position set at close t earns returns[t+1]; the last signal is never traded
    np.testing.assert_allclose(res.gross_returns, [0.01, 0.02, 0.03])
    assert list(res.index) == list(idx[1:])  # pnl is stamped when it is realised
    np.testing.assert_allclose(res.positions[:, 0], [1.0, -1.0, 1.0])


def test_costs_are_charged_on_turnover() -> None:
    returns = np.array([np.nan, 0.0, 0.0, 0.0])
    signals = np.array([1.0, -1.0, -1.0, 0.5])
    res = backtest(signals, returns, cost_bps=3.0, slippage_bps=2.0)
    np.testing.assert_allclose(res.turnover, [1.0, 2.0, 0.0])
    np.testing.assert_allclose(res.net_returns, [-5e-4, -1e-3, 0.0])


def test_same_bar_perfect_signal_cannot_see_the_next_bar() -> None:
    """A signal equal to the sign of the bar's own return is known at its close; it must not
    earn that return. Shifting the same information one bar into the future (a real leak)
    would be perfect, which shows the alignment is what stops it."""
    close = sp500_index_close()["2010":"2014"]
    returns = close.pct_change()
    same_bar = np.sign(returns).fillna(0.0)
    honest = compute_trading_metrics(backtest(same_bar, returns, 0.0, 0.0))
    leak = compute_trading_metrics(
        backtest(np.sign(returns.shift(-1)).fillna(0.0), returns, 0.0, 0.0)
    )
    assert leak.hit_rate == pytest.approx(1.0)
    assert leak.sharpe > 10
    assert 0.4 < honest.hit_rate < 0.6
    assert abs(honest.sharpe) < 1.5


def test_multi_asset_is_an_equal_weight_book() -> None:
    returns = pd.DataFrame({"a": [np.nan, 0.02, 0.01], "b": [np.nan, -0.02, 0.03]})
    signals = pd.DataFrame({"a": [1.0, 1.0, 0.0], "b": [-1.0, 1.0, 0.0]})
    res = backtest(signals, returns, 0.0, 0.0)
    np.testing.assert_allclose(
        res.gross_returns, [0.5 * 0.02 + 0.5 * 0.02, 0.5 * 0.01 + 0.5 * 0.03]
    )
    np.testing.assert_allclose(res.turnover, [1.0, 1.0])


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValidationError, match="signals"):
        backtest(np.ones(5), np.zeros(6))
    with pytest.raises(ValidationError, match=r"returns.*row 2"):
        backtest(np.ones(4), np.array([np.nan, 0.01, np.nan, 0.0]))
    idx = pd.date_range("2020-01-01", periods=3)
    with pytest.raises(ValidationError, match="index"):
        backtest(
            pd.Series([1.0, 1, 1], index=idx),
            pd.Series([0.0, 0, 0], index=idx + pd.Timedelta("1D")),
        )
