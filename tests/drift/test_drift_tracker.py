"""Live metrics against a direct pandas computation."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.core.strategy import PositionPolicy
from ordinis.engines.learning.drift.tracker import LivePerformanceTracker

# (period, signal, trade return, pnl): the trade return is the position's return, already signed
outcome = st.tuples(
    st.integers(0, 3),
    st.one_of(st.none(), st.sampled_from([-1.0, 0.0, 0.5, 1.0])),
    st.floats(-0.2, 0.2, allow_nan=False),
    st.one_of(st.none(), st.floats(-100, 100, allow_nan=False)),
)
T0 = datetime(2020, 1, 1, tzinfo=UTC)


@given(rows=st.lists(outcome, min_size=1, max_size=80), window=st.integers(2, 30))
@settings(max_examples=80, deadline=None)
def test_metrics_are_per_period_on_the_book_and_match_pandas(
    rows: list[tuple[int, float | None, float, float | None]], window: int
) -> None:
    policy = PositionPolicy(max_gross=1.0)
    tracker = LivePerformanceTracker(SimulatedClock(), window=window, policy=policy)
    day = 0
    stamps = []
    for step, sig, ret, pnl in rows:
        day += min(step, 1)  # 0: same period as the previous trade
        stamps.append(day)
        tracker.record_outcome("m", sig, ret, pnl, at=T0 + timedelta(days=day))
    m = tracker.metrics("m")

    df = pd.DataFrame(rows, columns=["step", "sig", "ret", "pnl"])
    df["day"] = stamps
    df["called"] = df["sig"].notna() & (df["sig"] != 0) & (df["ret"] != 0)
    df["hit"] = df["called"] & (df["ret"] > 0)
    per = df.groupby("day").agg(
        ret=("ret", "mean"),
        pnl=("pnl", lambda x: x.sum() if x.notna().any() else math.nan),
        hits=("hit", "sum"),
        called=("called", "sum"),
    ).tail(window)
    book = per["ret"].reset_index(drop=True)
    win = np.where(per["pnl"].isna(), book > 0, per["pnl"] > 0)
    equity = (1 + book).cumprod()
    peak = pd.concat([pd.Series([1.0]), equity]).cummax().iloc[1:].reset_index(drop=True)
    dd = float((1 - equity / peak).max())
    losses = 0
    for w in win[::-1]:
        if w:
            break
        losses += 1

    assert m.n == len(per)
    assert m.win_rate == pytest.approx(win.mean())
    assert m.mean_return == pytest.approx(book.mean(), abs=1e-12)
    assert m.max_drawdown == pytest.approx(max(dd, 0.0), abs=1e-12)
    assert m.consecutive_losses == losses
    if per["called"].sum():
        assert m.accuracy == pytest.approx(per["hits"].sum() / per["called"].sum())
    else:
        assert math.isnan(m.accuracy)
    sd = book.std(ddof=1)
    if len(per) >= 2 and sd > 1e-9:
        assert m.sharpe == pytest.approx(book.mean() / sd * math.sqrt(252), rel=1e-6)


def test_a_signed_trade_return_is_not_signed_again() -> None:
    """A short that made money (+1 %) is +1 % for the book, whatever the signal's sign."""
    tracker = LivePerformanceTracker(SimulatedClock())
    tracker.record_outcome("m", -1.0, 0.01, at=T0)
    tracker.record_outcome("m", -1.0, 0.01, at=T0 + timedelta(days=1))
    m = tracker.metrics("m")
    assert m.mean_return == pytest.approx(0.01) and m.win_rate == 1.0 and m.accuracy == 1.0


def test_single_stock_trades_of_one_bar_are_one_period_of_the_book() -> None:
    """20 stocks each losing 5 % on one bar is a 5 % book loss, not 1 - 0.95**20."""
    tracker = LivePerformanceTracker(SimulatedClock())
    for _ in range(20):
        tracker.record_outcome("m", 1.0, -0.05, at=T0)
    m = tracker.metrics("m")
    assert m.n == 1 and m.max_drawdown == pytest.approx(0.05)


def test_empty_model_and_bad_input() -> None:
    tracker = LivePerformanceTracker(SimulatedClock())
    assert tracker.metrics("nobody").n == 0
    with pytest.raises(ValidationError) as err:
        tracker.record_outcome("", math.nan, math.inf, pnl=math.nan)
    text = str(err.value)
    assert "model_name" in text and "trade_return" in text and "pnl" in text
    assert tracker.models() == []
    with pytest.raises(ValidationError, match="window"):
        LivePerformanceTracker(SimulatedClock(), window=1)


def test_timestamps_come_from_the_clock() -> None:
    clock = SimulatedClock()
    tracker = LivePerformanceTracker(clock)
    tracker.record_outcome("m", 1.0, 0.01)
    assert tracker.metrics("m").last_at == clock.now()
