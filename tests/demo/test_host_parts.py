"""The host harness's parts: execution costs, buy-and-hold, book statistics, data options."""

from __future__ import annotations

import numpy as np
import pytest

from ordinis.engines.learning.demo.execution import DemoPolicy, SimulatedExecution
from ordinis.engines.learning.demo.market_data import FeaturePanel, load_data
from ordinis.engines.learning.demo.record import BookSeries


def test_costs_are_charged_on_turnover_once() -> None:
    policy = DemoPolicy(cost_bps=1.0, slippage_bps=1.0)  # 2 bps per unit of turnover
    ex = SimulatedExecution(["A", "B"])
    ex.rebalance(np.array([1.0, -1.0]))
    fills, r = ex.settle(np.array([0.01, 0.01]), policy)
    # A: +1 % - 2 bp; B: -1 % - 2 bp; the book is their mean
    assert [f.trade_return for f in fills] == pytest.approx([0.0098, -0.0102])
    assert r == pytest.approx(-0.0002)
    ex.rebalance(np.array([1.0, -1.0]))  # unchanged positions: no cost
    _, r2 = ex.settle(np.array([0.0, 0.0]), policy)
    assert r2 == 0.0
    ex.flatten()  # closing costs 2 bp on each
    fills3, r3 = ex.settle(np.array([0.05, 0.05]), policy)
    assert fills3 == [] and r3 == pytest.approx(-0.0002)


def test_buy_and_hold_is_equal_weight_bought_once() -> None:
    close = np.array([[10.0, 20.0], [11.0, 20.0], [12.1, 10.0]])
    panel = FeaturePanel([], ["A", "B"], np.zeros((3, 2, 1)), np.zeros((3, 2)),
                         np.ones((3, 2), bool), close)
    panel.days = [None] * 3  # type: ignore[list-item]
    r = panel.buy_and_hold()
    # values: 1, (1.1 + 1)/2 = 1.05, (1.21 + 0.5)/2 = 0.855
    assert r == pytest.approx([0.0, 0.05, 0.855 / 1.05 - 1.0])


def test_book_statistics() -> None:
    b = BookSeries("x", np.array([0.1, -0.5, 0.2]))
    assert b.equity[-1] == pytest.approx(1.1 * 0.5 * 1.2)
    assert b.max_drawdown == pytest.approx(0.5)


def test_bad_data_options_name_the_option() -> None:
    with pytest.raises(ValueError, match="--data 'nasdaq'"):
        load_data("nasdaq", None, None)
    with pytest.raises(ValueError, match="--start 2030-01-01"):
        load_data("sp500", "2030-01-01", None)


def test_bitcoin_panel_is_one_series_every_third_day() -> None:
    panel = load_data("bitcoin", None, None)
    assert panel.symbols == ["BTC"]
    assert 100 < panel.periods_per_year < 130
    assert panel.valid.sum() > 500


def test_annual_return_uses_the_bars_per_year() -> None:
    """Bitcoin's bars are three days apart: a year is ~122 bars, not 252."""
    r = np.full(122, 0.001)
    assert BookSeries("btc", r, periods_per_year=122.0).annual_return == pytest.approx(
        1.001**122 - 1
    )
