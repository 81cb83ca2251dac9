"""The backtest a version's live evidence is compared with (parity), as the engine keeps it.

Two sources, one shape:

* ``host``: the host's own backtest, given with ``engine.set_backtest_record``;
* ``forward_holdout``: derived by the engine when it judges a version it trained on the
  production gates. Each held-out signal event (after the training window, up to the
  verdict's clock time) is traded the way the live evidence book trades a prediction: the
  version's position for its signal times the event's realised return, gross. So the
  backtest and the live record measure the same thing on the same kind of data.

The derived record keeps one row per event timestamp (sum and count of the events' PnL), so
it can be grouped into the rollout's periods later, as the live book groups outcomes: the mean
PnL of the outcomes of a period.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.protocol import PredictiveModel
from ordinis.engines.learning.core.strategy import PositionPolicy
from ordinis.engines.learning.evaluation.benchmarks import BenchmarkDataset
from ordinis.engines.learning.evaluation.parity import (
    BacktestRecord,
    LiveRecord,
    ParityResult,
    ParityValidator,
)

BACKTEST_KIND = "backtest_record"
MAX_ROWS = 20_000  # newest rows kept: plenty for a bootstrap, bounded in the store
MIN_PERIODS = 10  # what ParityValidator needs on each side
DAY_SECONDS = 86400.0  # a rollout's period (RolloutPlan.period_seconds)
_YEAR_SECONDS = 365.25 * 86400.0

Source = Literal["host", "forward_holdout"]


@dataclass(frozen=True, slots=True)
class StoredBacktest:
    """One version's backtest as stored: per row a time (epoch seconds, or None when the host
    gave no times), the PnL summed over the row's events and their count."""

    version_id: str
    source: Source
    recorded_at: datetime
    times: tuple[float, ...] | None
    sums: tuple[float, ...]
    counts: tuple[int, ...]
    periods_per_year: float
    description: str = ""

    @property
    def rows(self) -> int:
        return len(self.sums)

    def as_record(self, period_seconds: float = DAY_SECONDS) -> BacktestRecord:
        """The record parity compares with: the host's periods as given; the derived one grouped
        into ``period_seconds`` periods (mean PnL per event in each period, as the live book)."""
        if self.times is None or self.source == "host":
            return BacktestRecord(
                returns=pd.Series(np.asarray(self.sums, dtype=float), index=self._index()),
                periods_per_year=self.periods_per_year,
            )
        returns = grouped_returns(self.times, self.sums, self.counts, period_seconds)
        return BacktestRecord(returns=returns,
                              periods_per_year=periods_per_year_of(returns, period_seconds))

    def _index(self) -> pd.Index:
        if self.times is None:
            return pd.RangeIndex(self.rows)
        return pd.DatetimeIndex(pd.to_datetime(list(self.times), unit="s", utc=True))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "source": self.source,
            "recorded_at": self.recorded_at.isoformat(),
            "times": None if self.times is None else list(self.times),
            "sums": list(self.sums),
            "counts": list(self.counts),
            "periods_per_year": self.periods_per_year,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StoredBacktest:
        times = d.get("times")
        source = str(d["source"])
        if source not in ("host", "forward_holdout"):
            raise ValueError(f"unknown backtest source {source!r}")
        return cls(
            version_id=str(d["version_id"]),
            source="host" if source == "host" else "forward_holdout",
            recorded_at=datetime.fromisoformat(str(d["recorded_at"])),
            times=None if times is None else tuple(float(t) for t in times),
            sums=tuple(float(x) for x in d["sums"]),
            counts=tuple(int(c) for c in d["counts"]),
            periods_per_year=float(d["periods_per_year"]),
            description=str(d.get("description", "")),
        )


def grouped_returns(
    times: Sequence[float], sums: Sequence[float], counts: Sequence[int], period_seconds: float
) -> pd.Series:
    """Mean PnL per event in each period ``floor(time / period_seconds)`` (empty periods are
    absent, as in the live book), indexed by the period's start."""
    t = np.asarray(times, dtype=float)
    s = np.asarray(sums, dtype=float)
    c = np.asarray(counts, dtype=float)
    periods = np.floor(t / period_seconds).astype(np.int64)
    keys, inverse = np.unique(periods, return_inverse=True)
    total = np.bincount(inverse, weights=s, minlength=keys.size)
    n = np.bincount(inverse, weights=c, minlength=keys.size)
    index = pd.DatetimeIndex(pd.to_datetime(keys * period_seconds, unit="s", utc=True))
    return pd.Series(total / n, index=index, name="backtest_pnl")


def periods_per_year_of(returns: pd.Series, period_seconds: float) -> float:
    """Non-empty periods per year over the record's span (a calendar year of periods when the
    span is too short to tell). Live and backtest use the same figure, so the Sharpe ratio
    between them does not depend on it."""
    calendar = _YEAR_SECONDS / period_seconds
    if len(returns) < 2:
        return calendar
    index = pd.DatetimeIndex(returns.index)
    span = (index[-1] - index[0]).total_seconds() + period_seconds
    return min(calendar, len(returns) / (span / _YEAR_SECONDS)) if span > 0 else calendar


def holdout_backtest(
    model: PredictiveModel,
    holdout: BenchmarkDataset,
    policy: PositionPolicy,
    version_id: str,
    at: datetime,
) -> StoredBacktest | None:
    """The version's gross PnL on its forward holdout, per event timestamp.

    An event at row ``i`` of the pack earned the return of row ``i + 1`` (the pack's grid);
    events of the last timestamp have no realised return in the pack and are left out.
    None when fewer than ``MIN_PERIODS`` timestamps remain.
    """
    names = [str(n) for n in model.feature_names]
    feats = holdout.features[names]
    stamps = holdout.returns.index
    nxt = pd.Series(np.arange(1, len(stamps) + 1), index=stamps)
    event_times = feats.index.get_level_values(0)
    assets = feats.index.get_level_values(1)
    row_of_next = nxt.reindex(event_times).to_numpy()
    keep = row_of_next < len(stamps)
    if keep.sum() == 0:
        return None
    signals = np.asarray(model.predict(feats[keep]), dtype=float).reshape(-1)
    col = {a: j for j, a in enumerate(holdout.returns.columns)}
    rets = holdout.returns.to_numpy(dtype=float)
    earned = rets[row_of_next[keep].astype(int), [col[a] for a in assets[keep]]]
    pnl = policy.positions(signals) * earned
    if not np.isfinite(pnl).all():
        return None
    frame = pd.DataFrame({"t": event_times[keep], "pnl": pnl})
    by_time = frame.groupby("t", sort=True)["pnl"].agg(["sum", "count"]).tail(MAX_ROWS)
    if len(by_time) < MIN_PERIODS:
        return None
    times = tuple(float(pd.Timestamp(t).timestamp()) for t in by_time.index)
    return StoredBacktest(
        version_id=version_id,
        source="forward_holdout",
        recorded_at=at,
        times=times,
        sums=tuple(float(x) for x in by_time["sum"]),
        counts=tuple(int(x) for x in by_time["count"]),
        periods_per_year=float(policy.periods_per_year),
        description=f"{int(by_time['count'].sum())} held-out signal events, "
        f"{pd.Timestamp(times[0], unit='s', tz='UTC'):%Y-%m-%d}.."
        f"{pd.Timestamp(times[-1], unit='s', tz='UTC'):%Y-%m-%d}, traded gross with the "
        "version's position policy",
    )


def host_backtest(version_id: str, record: object, at: datetime) -> StoredBacktest:
    """The host's record, checked at the edge: every problem named with its fix."""
    if not isinstance(record, BacktestRecord):
        raise ValidationError("set_backtest_record", [FieldProblem(
            "record", type(record).__name__,
            "must be a BacktestRecord(returns=pd.Series of per-period strategy returns)")])
    problems: list[FieldProblem] = []
    returns = record.returns
    if not isinstance(returns, pd.Series):
        problems.append(FieldProblem("record.returns", type(returns).__name__,
                                     "must be a pandas Series of per-period returns"))
    else:
        problem = _returns_problem("record.returns", returns)
        if problem is not None:
            problems.append(problem)
    ppy = record.periods_per_year
    if not (isinstance(ppy, int | float) and math.isfinite(ppy) and ppy > 0):
        problems.append(FieldProblem("record.periods_per_year", ppy, "must be a number > 0"))
    if problems:
        raise ValidationError("set_backtest_record", problems)
    values = returns.to_numpy(dtype=float)[-MAX_ROWS:]
    times: tuple[float, ...] | None = None
    if isinstance(returns.index, pd.DatetimeIndex):
        idx = returns.index[-MAX_ROWS:]
        idx = idx.tz_localize("UTC") if idx.tz is None else idx
        times = tuple(float(t.timestamp()) for t in idx)
    return StoredBacktest(
        version_id=version_id,
        source="host",
        recorded_at=at,
        times=times,
        sums=tuple(float(x) for x in values),
        counts=tuple(1 for _ in values),
        periods_per_year=float(ppy),
        description=f"{values.size} periods given by the host",
    )


def live_returns(values: object, what: str = "measure_parity") -> pd.Series:
    """A live run's per-period returns, checked at the edge (at least ``MIN_PERIODS`` finite
    numbers, one per rollout period)."""
    if isinstance(values, str | bytes) or not hasattr(values, "__len__"):
        raise ValidationError(what, [FieldProblem(
            "live_returns", type(values).__name__,
            "must be a sequence (list, array or pandas Series) of per-period returns")])
    items = values if isinstance(values, pd.Series) else list(values)  # type: ignore[call-overload]
    series = pd.Series(items)
    problem = _returns_problem("live_returns", series)
    if problem is not None:
        raise ValidationError(what, [problem])
    return pd.Series(series.to_numpy(dtype=float), dtype=float)


def _returns_problem(field: str, returns: pd.Series) -> FieldProblem | None:
    """What is wrong with per-period returns for parity (None: nothing): too few, not all
    finite numbers, or dated out of order."""
    numbers = pd.to_numeric(returns, errors="coerce").to_numpy(dtype=float)
    if numbers.size < MIN_PERIODS:
        return FieldProblem(field, int(numbers.size),
                            f"need at least {MIN_PERIODS} periods for parity")
    bad = int((~np.isfinite(numbers)).sum())
    if bad:
        return FieldProblem(field, f"{bad} NaN/inf/non-numeric",
                            "must be finite numbers; drop the missing periods")
    return _times_problem(f"{field}.index", returns.index)


def _times_problem(field: str, index: pd.Index) -> FieldProblem | None:
    """Dated returns must be one per period in time order: a missing, repeated or earlier
    time would be grouped into the wrong period (or summed with another) without a word."""
    if not isinstance(index, pd.DatetimeIndex):
        return None
    if index.hasnans:
        return FieldProblem(field, f"{int(np.count_nonzero(index.isna()))} missing time(s)",
                            "give every return its time, or none of them")
    ns = index.asi8
    out_of_order = np.flatnonzero(ns[1:] <= ns[:-1])
    if out_of_order.size:
        i = int(out_of_order[0]) + 1
        return FieldProblem(field, f"{index[i]} at position {i} is not after {index[i - 1]}",
                            "must be strictly increasing: sort by time and keep one return "
                            "per period")
    return None


def no_backtest(version_id: str) -> str:
    """Why parity cannot be measured for a version without a backtest record, and the fix."""
    return (f"no backtest record for {version_id}: judge it on the production gates "
            "(engine.evaluate_model keeps the forward holdout of a version the engine trained) "
            "or give one with engine.set_backtest_record")


def parity_of(
    stored: StoredBacktest, live: pd.Series, period_seconds: float = DAY_SECONDS,
    periods_per_year: float | None = None,
) -> ParityResult:
    """A live run (one return per ``period_seconds``) against the stored backtest, grouped into
    the same periods, with the production thresholds (``ParityValidator``)."""
    backtest = stored.as_record(period_seconds)
    record = LiveRecord(returns=pd.Series(live, dtype=float),
                        periods_per_year=periods_per_year or backtest.periods_per_year)
    return ParityValidator().validate(None, backtest, record)
