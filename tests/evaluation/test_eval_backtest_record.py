"""The backtest parity compares with: the engine's own from a forward holdout (traded as the
live evidence book trades a prediction), grouped into rollout periods, and the host's checked
at the edge."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.core.strategy import PositionMapping, PositionPolicy
from ordinis.engines.learning.engine.forward_holdout import forward_holdout
from ordinis.engines.learning.evaluation.backtest_record import (
    MIN_PERIODS,
    StoredBacktest,
    grouped_returns,
    holdout_backtest,
    host_backtest,
)
from ordinis.engines.learning.evaluation.parity import BacktestRecord
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore

T0 = datetime(2021, 3, 1, 21, tzinfo=UTC)
AT = datetime(2021, 6, 1, tzinfo=UTC)


class Tilt:
    """Signal = 3 * a - b (clipped by the policy); a DataFrame model like the trainers'."""

    feature_names = ("a", "b")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return 3.0 * X["a"].to_numpy() - X["b"].to_numpy()


def _events(days: int = 30, symbols: int = 3) -> list[LearningEvent]:
    rng = np.random.default_rng(7)
    out = []
    for d in range(days):
        for s in range(symbols):
            if (d + s) % 5 == 0:
                continue  # not every symbol trades every day
            out.append(LearningEvent(
                EventType.SIGNAL_GENERATED, "signal", symbol=f"S{s}",
                timestamp=T0 + timedelta(days=d),
                payload={"features": {"a": float(rng.normal(0, 0.3)),
                                      "b": float(rng.normal(0, 0.3))}},
                outcome=float(rng.normal(0.0, 0.01)),
            ))
    return out


def _holdout(tmp_path: Path, events: list[LearningEvent]) -> Any:
    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}", init=True)
    store.open()
    try:
        store.append_events([encode_event(e, 64 * 1024) for e in events])
        return forward_holdout(store, T0 - timedelta(days=1), T0 + timedelta(days=400), ["a", "b"])
    finally:
        store.close()


@pytest.mark.parametrize("mapping", [PositionMapping.CLIP, PositionMapping.SIGN])
def test_the_holdout_is_traded_as_the_live_book_trades_each_prediction(
    tmp_path: Path, mapping: PositionMapping
) -> None:
    events = _events()
    policy = PositionPolicy(mapping=mapping)
    stored = holdout_backtest(Tilt(), _holdout(tmp_path, events), policy, "m:v1", AT)
    assert stored is not None and stored.source == "forward_holdout"
    # by hand from the events: position(signal) * the event's own outcome, per timestamp; the
    # last day has no realised return in the pack and is left out
    last = max(e.timestamp for e in events)
    sums: dict[datetime, float] = defaultdict(float)
    counts: dict[datetime, int] = defaultdict(int)
    for e in events:
        if e.timestamp == last:
            continue
        f = e.payload["features"]
        signal = 3.0 * f["a"] - f["b"]
        pos = float(np.sign(signal)) if mapping is PositionMapping.SIGN else \
            max(-1.0, min(1.0, signal))
        assert e.outcome is not None
        sums[e.timestamp] += pos * e.outcome
        counts[e.timestamp] += 1
    days = sorted(sums)
    assert stored.times == tuple(d.timestamp() for d in days)
    np.testing.assert_allclose(stored.sums, [sums[d] for d in days], rtol=1e-12, atol=1e-15)
    assert stored.counts == tuple(counts[d] for d in days)
    assert "held-out signal events" in stored.description
    # grouped into daily periods: the mean PnL per event of each day
    record = stored.as_record(86400.0)
    np.testing.assert_allclose(record.returns.to_numpy(),
                               [sums[d] / counts[d] for d in days], rtol=1e-12)
    assert len(record.returns) == len(days)


def test_a_holdout_too_short_for_parity_gives_no_record(tmp_path: Path) -> None:
    events = _events(days=MIN_PERIODS)  # the last day drops: one day short
    stored = holdout_backtest(Tilt(), _holdout(tmp_path, events), PositionPolicy(), "m:v1", AT)
    assert stored is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 20 * 86400), st.floats(-1, 1), st.integers(1, 9)),
        min_size=1, max_size=80, unique_by=lambda r: r[0],
    ),
    st.sampled_from([3600.0, 86400.0, 7 * 86400.0]),
)
def test_grouping_keeps_every_event_and_gives_the_mean_per_event(
    rows: list[tuple[int, float, int]], period: float
) -> None:
    rows.sort()
    times = [float(r[0]) for r in rows]
    sums = [r[1] for r in rows]
    counts = [r[2] for r in rows]
    out = grouped_returns(times, sums, counts, period)
    by_period: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for t, s, c in rows:
        acc = by_period[math.floor(t / period)]
        acc[0] += s
        acc[1] += c
    keys = sorted(by_period)
    assert list(out.index) == [pd.Timestamp(k * period, unit="s", tz="UTC") for k in keys]
    np.testing.assert_allclose(out.to_numpy(), [by_period[k][0] / by_period[k][1] for k in keys],
                               rtol=1e-9, atol=1e-12)


def test_stored_backtest_round_trips() -> None:
    stored = StoredBacktest("m:v2", "forward_holdout", AT, (1.0, 2.0), (0.5, -0.25), (2, 1),
                            252.0, "two rows")
    assert StoredBacktest.from_dict(stored.to_dict()) == stored
    host = host_backtest("m:v2", BacktestRecord(pd.Series(np.linspace(-0.01, 0.01, 12))), AT)
    assert StoredBacktest.from_dict(host.to_dict()) == host
    assert host.times is None
    pd.testing.assert_series_equal(host.as_record(86400.0).returns,
                                   pd.Series(np.linspace(-0.01, 0.01, 12)))


def test_a_host_record_with_dates_keeps_them() -> None:
    index = pd.date_range("2020-01-01", periods=15, freq="B")
    returns = pd.Series(np.full(15, 0.001), index=index)
    host = host_backtest("m:v2", BacktestRecord(returns, periods_per_year=260.0), AT)
    record = host.as_record(86400.0)
    assert list(record.returns.index) == list(index.tz_localize("UTC"))
    assert record.periods_per_year == 260.0


def _days(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2020-01-01", periods=n, freq="D")


@pytest.mark.parametrize(
    ("record", "field", "fix"),
    [
        ({"returns": [0.1] * 20}, "record", "must be a BacktestRecord"),
        (BacktestRecord(pd.Series([0.01] * 5)), "record.returns", "at least 10 periods"),
        (BacktestRecord(pd.Series([0.01] * 11 + [math.nan])), "record.returns", "must be finite"),
        (BacktestRecord(pd.Series([0.01] * 12), periods_per_year=0.0),
         "record.periods_per_year", "must be a number > 0"),
        (BacktestRecord(np.zeros(12)),  # type: ignore[arg-type]
         "record.returns", "must be a pandas Series"),
        (BacktestRecord(pd.Series([0.01] * 12, index=_days(12)[::-1])),
         "record.returns.index", "2020-01-11 00:00:00 at position 1 is not after 2020-01-12"),
        (BacktestRecord(pd.Series([0.01] * 12, index=_days(11).insert(5, _days(11)[4]))),
         "record.returns.index", "position 5 is not after"),  # a day given twice
        (BacktestRecord(pd.Series([0.01] * 12, index=_days(11).insert(3, pd.NaT))),
         "record.returns.index", "1 missing time(s)"),
    ],
)
def test_a_bad_host_record_is_refused_naming_the_field_and_the_fix(
    record: object, field: str, fix: str
) -> None:
    with pytest.raises(ValidationError) as info:
        host_backtest("m:v2", record, AT)
    problems = {p.field: f"{p.value}: {p.problem}" for p in info.value.problems}
    assert field in problems and fix in problems[field]
