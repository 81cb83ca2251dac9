"""The host harness's parts: execution costs, buy-and-hold, book statistics, data options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ordinis.engines.learning import PositionMapping, PositionPolicy
from ordinis.engines.learning.demo.execution import SimulatedExecution, host_policy
from ordinis.engines.learning.demo.market_data import FeaturePanel, load_data
from ordinis.engines.learning.demo.record import BookSeries


def test_costs_are_charged_on_turnover_once() -> None:
    policy = host_policy(252.0)  # sign of the signal; 2 bps per unit of turnover
    ex = SimulatedExecution(["A", "B"], policy)
    ex.trade(np.array([0.3, -0.7]), [policy, policy])
    assert list(ex.positions) == [1.0, -1.0]
    fills, r = ex.settle(np.array([0.01, 0.01]))
    # A: +1 % - 2 bp; B: -1 % - 2 bp; the book is their mean
    assert [f.trade_return for f in fills] == pytest.approx([0.0098, -0.0102])
    assert r == pytest.approx(-0.0002)
    ex.trade(np.array([0.9, -0.1]), [policy, policy])  # unchanged positions: no cost
    _, r2 = ex.settle(np.array([0.0, 0.0]))
    assert r2 == 0.0
    ex.flatten()  # closing costs 2 bp on each
    fills3, r3 = ex.settle(np.array([0.05, 0.05]))
    assert fills3 == [] and r3 == pytest.approx(-0.0002)


def test_each_symbol_trades_with_the_policy_of_the_version_that_gave_its_signal() -> None:
    """A canary splits the book: each slice is sized and charged by its own version's policy,
    the same ``PositionPolicy`` the engine's backtest and live tracker use."""
    sign = host_policy(252.0)
    clip = PositionPolicy(mapping=PositionMapping.CLIP, max_gross=2.0, cost_bps=5.0,
                          slippage_bps=5.0)
    ex = SimulatedExecution(["A", "B", "C"], sign)
    signals = np.array([0.4, 0.4, -0.25])
    ex.trade(signals, [sign, clip, clip])
    assert list(ex.positions) == [1.0, 0.4, -0.25]
    fills, book = ex.settle(np.array([0.02, 0.02, 0.02]))
    expected = [sign.trade_return(1.0, 0.0, 0.02), clip.trade_return(0.4, 0.0, 0.02),
                clip.trade_return(-0.25, 0.0, 0.02)]
    assert [f.trade_return for f in fills] == pytest.approx(expected)
    assert book == pytest.approx((expected[0] + 2.0 * (expected[1] + expected[2])) / 3)
    # one policy for the whole book: the book's return is PositionPolicy.book_return
    ex2 = SimulatedExecution(["A", "B", "C"], clip)
    ex2.trade(signals, [clip] * 3)
    fills2, book2 = ex2.settle(np.array([0.02, -0.01, 0.03]))
    assert book2 == pytest.approx(clip.book_return([f.trade_return for f in fills2], 3))


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
    with pytest.raises(ValueError, match=(
        r"^--start 2030-01-01 is outside the data: sp500 spans 1990-01-02 \.\. 2022-12-28; "
        r"choose a date in that span$"
    )):
        load_data("sp500", "2030-01-01", None)
    with pytest.raises(ValueError, match=r"^--end 1980-01-01 is outside the data: sp500 spans"):
        load_data("sp500", None, "1980-01-01")
    with pytest.raises(ValueError, match=r"^--start 'notadate' is not a date: write it as YYYY"):
        load_data("sp500", "notadate", None)
    with pytest.raises(ValueError, match=r"^--end '2022-13-45' is not a date"):
        load_data("sp500", None, "2022-13-45")
    with pytest.raises(ValueError, match=r"^--end 2005-01-01 is before --start 2010-01-01"):
        load_data("sp500", "2010-01-01", "2005-01-01")


async def test_a_span_too_short_for_the_first_model_is_refused_before_the_dir_is_touched(
    tmp_path: Path,
) -> None:
    """Two years of stocks, six to train on: the run would have shown no model at all (and its
    notes said no version passed the demo's gates). Refused naming the options and a fix."""
    from rich.console import Console

    from ordinis.engines.learning.demo.replay import DemoOptions, run_demo

    data_dir = tmp_path / "demo"
    opts = DemoOptions(data_dir=data_dir, start="2021-01-01", progress=False)
    with pytest.raises(ValueError) as err:
        await run_demo(opts, Console(quiet=True))
    assert str(err.value) == (
        "--start/--end: the span 2021-01-04 .. 2022-12-28 holds 2.0 years of bars, and the "
        "first model trains on the first 6 and must then trade: choose a span longer than 6 "
        "years (e.g. --start 2015-12-29 for this --end)"
    )
    assert not data_dir.exists()
    # the boundary: the paired test's minimum of bars after the first model, plus one
    from ordinis.engines.learning.demo.collect import MIN_VERDICT_BARS
    from ordinis.engines.learning.demo.market_data import load_data as load
    from ordinis.engines.learning.demo.replay import _first_model_day

    ok = DemoOptions(data_dir=data_dir, start="2016-01-04", end="2022-02-01", progress=False)
    panel = load("sp500", ok.start, ok.end)
    day = _first_model_day(panel, ok)
    assert sum(1 for d in panel.days if d >= day) == MIN_VERDICT_BARS + 1
    short = DemoOptions(data_dir=data_dir, start="2016-01-04", end="2022-01-31", progress=False)
    with pytest.raises(ValueError, match="choose a span longer than 6 years"):
        _first_model_day(load("sp500", short.start, short.end), short)


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


def test_the_no_production_note_names_who_was_refused_and_who_never_faced_the_gates() -> None:
    from datetime import UTC, datetime

    from ordinis.engines.learning.demo.collect import _production_note
    from ordinis.engines.learning.demo.record import DemoRecord, GateReportView, StageSpan

    at = datetime(2000, 1, 3, tzinfo=UTC)
    rec = DemoRecord("r", "d", "m", ["A"])
    rec.stages = [StageSpan(f"m:v{i}", "staging", at, None) for i in (1, 2, 10)]
    rec.stages.append(StageSpan("m:v1", "serving", at, None))
    rec.gate_reports = [GateReportView("m:v1", "production", at, False, "blocked", ()),
                        GateReportView("m:v2", "demo", at, True, "staged", ())]
    _production_note(rec)
    (note,) = rec.notes
    assert note.startswith("No version reached PRODUCTION. The production gates refused m:v1 ")
    assert " m:v2, m:v10 never faced them" in note
    assert "The host traded the staged version" in note and "rule traded throughout" not in note


def test_the_no_production_note_says_the_rule_traded_when_no_version_served() -> None:
    """Bitcoin's v1 failed even the demo's gates: the note must not claim a staged version
    traded (it said so, beside the quiet-loop note that no model ever served)."""
    from datetime import UTC, datetime

    from ordinis.engines.learning.demo.collect import _production_note
    from ordinis.engines.learning.demo.record import DemoRecord, GateReportView

    at = datetime(2016, 2, 11, tzinfo=UTC)
    rec = DemoRecord("r", "d", "m", ["BTC"])
    rec.gate_reports = [GateReportView("m:v1", "production", at, False, "blocked", ()),
                        GateReportView("m:v1", "demo", at, False, "blocked", ())]
    _production_note(rec)
    (note,) = rec.notes
    assert note.startswith("No version reached PRODUCTION. The production gates refused m:v1 ")
    assert "staged version" not in note
    assert note.endswith("No version passed the demo's gates for staging either, so none "
                         "served: the host's own rule traded throughout.")
    rec = DemoRecord("r", "d", "m", ["BTC"])  # no version at all (a failed first training)
    _production_note(rec)
    assert rec.notes == ["No version reached PRODUCTION. No version was put to the production "
                         "gates. No version was trained, so none served: the host's own rule "
                         "traded throughout."]


def test_identical_books_get_a_note_that_the_test_cannot_find_a_difference() -> None:
    """--quick: no retrained candidate replaced v1 and no breaker tripped, so the verdict read
    'Difference +0.00% [+0.00%, +0.00%]; p = 1.000' with nothing saying why."""
    from datetime import UTC, datetime, timedelta

    from ordinis.engines.learning.demo.collect import LOOP, STATIC, _verdict
    from ordinis.engines.learning.demo.record import DemoRecord

    rng = np.random.default_rng(5)
    days = [datetime(2000, 1, 3, tzinfo=UTC) + timedelta(days=i) for i in range(200)]
    rule, model = rng.normal(0, 0.01, 200), rng.normal(0, 0.01, 200)
    static = np.where(np.arange(200) < 50, rule, model)
    for loop, same in ((static.copy(), True), (static + np.r_[np.zeros(150), 1e-4 * np.ones(50)],
                                               False)):
        rec = DemoRecord("r", "d", "m", ["A"], days=days)
        rec.books = [BookSeries(LOOP, loop), BookSeries(STATIC, static)]
        _verdict(rec, loop, static, first_model_day=50)
        assert rec.verdict is not None and rec.verdict.days == 150
        assert rec.notes[0].startswith("The paired test covers 2000-02-22 onwards")
        assert (len(rec.notes) == 2) is same and rec.books_identical is same
        if same:
            assert not rec.verdict.beat
            assert rec.notes[1].startswith("The two books are the same on every tested day")
