"""Live metrics against a direct pandas computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.drift.tracker import LivePerformanceTracker

outcome = st.tuples(
    st.one_of(st.none(), st.sampled_from([-1.0, 0.0, 0.5, 1.0])),
    st.floats(-0.2, 0.2, allow_nan=False),
    st.one_of(st.none(), st.floats(-100, 100, allow_nan=False)),
)


@given(rows=st.lists(outcome, min_size=1, max_size=80), window=st.integers(2, 30))
@settings(max_examples=80, deadline=None)
def test_metrics_match_pandas(
    rows: list[tuple[float | None, float, float | None]], window: int
) -> None:
    tracker = LivePerformanceTracker(SimulatedClock(), window=window)
    for sig, ret, pnl in rows:
        tracker.record_outcome("m", sig, ret, pnl)
    m = tracker.metrics("m")

    df = pd.DataFrame(rows, columns=["sig", "ret", "pnl"]).tail(window)
    sign = np.sign(df["sig"].astype(float))
    strat = np.where(df["sig"].isna(), df["ret"], sign * df["ret"])
    strat_s = pd.Series(strat)
    called = df["sig"].notna() & (sign != 0)
    hits = (sign * df["ret"] > 0)[called]
    win = np.where(df["pnl"].isna(), strat > 0, df["pnl"].astype(float) > 0)
    equity = (1 + strat_s).cumprod()
    peak = pd.concat([pd.Series([1.0]), equity]).cummax().iloc[1:].reset_index(drop=True)
    dd = float((1 - equity / peak).max())
    losses = 0
    for w in win[::-1]:
        if w:
            break
        losses += 1

    assert m.n == len(df)
    assert m.win_rate == pytest.approx(win.mean())
    assert m.mean_return == pytest.approx(strat_s.mean(), abs=1e-12)
    assert m.max_drawdown == pytest.approx(max(dd, 0.0), abs=1e-12)
    assert m.consecutive_losses == losses
    if called.any():
        assert m.accuracy == pytest.approx(hits.mean())
    else:
        assert math.isnan(m.accuracy)
    sd = strat_s.std(ddof=1)
    if len(df) >= 2 and sd > 1e-9:
        assert m.sharpe == pytest.approx(strat_s.mean() / sd * math.sqrt(252), rel=1e-6)


def test_empty_model_and_bad_input() -> None:
    tracker = LivePerformanceTracker(SimulatedClock())
    assert tracker.metrics("nobody").n == 0
    with pytest.raises(ValidationError) as err:
        tracker.record_outcome("", math.nan, math.inf, pnl=math.nan)
    text = str(err.value)
    assert "model_name" in text and "realised_return" in text and "pnl" in text
    assert tracker.models() == []
    with pytest.raises(ValidationError, match="window"):
        LivePerformanceTracker(SimulatedClock(), window=1)


def test_timestamps_come_from_the_clock() -> None:
    clock = SimulatedClock()
    tracker = LivePerformanceTracker(clock)
    tracker.record_outcome("m", 1.0, 0.01)
    assert tracker.metrics("m").last_at == clock.now()
