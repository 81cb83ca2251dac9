"""Point-in-time and out-of-sample cuts of a benchmark pack.

At clock time ``as_of`` a pack's rows after ``as_of`` are not used, and no row inside the
version's training window (widened by the trainer's purge and embargo) is used. What remains is
kept as contiguous segments (a backtest never carries a position across a cut), and a pack with
fewer than the minimum out-of-sample rows is skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.models import PackCoverage
from ordinis.engines.learning.evaluation.benchmarks import BenchmarkDataset

# The trainer's defaults (training.time_cv): purge 1 bar (the target is the next bar's return),
# embargo 1 % of the window's bars. Kept here as numbers so evaluation does not import training.
DEFAULT_PURGE_BARS = 1
DEFAULT_EMBARGO = 0.01


@dataclass(frozen=True, slots=True)
class OutOfSample:
    """As of when an evaluation runs and which (widened) training window it must not touch."""

    as_of: datetime
    excluded_start: datetime | None = None
    excluded_end: datetime | None = None

    @classmethod
    def for_version(
        cls,
        as_of: datetime,
        lineage: Mapping[str, str],
        parameters: Mapping[str, Any] | None = None,
    ) -> OutOfSample:
        """The rule for a version: its lineage window widened by its purge and embargo (bars).

        Bars are business days. The embargo is a number of bars, or a fraction of the window's
        bars (the trainer's form). A version without a window excludes nothing (say so in docs:
        the engine cannot see how an externally trained model was fitted).
        """
        start = _time(lineage.get("window_start"))
        end = _time(lineage.get("window_end"))
        if start is None or end is None:
            return cls(as_of)
        params = parameters or {}
        purge = _number(params.get("cv_purge"), DEFAULT_PURGE_BARS)
        embargo_raw = _number(params.get("cv_embargo"), DEFAULT_EMBARGO)
        window_bars = max(len(pd.bdate_range(start.date(), end.date())), 1)
        embargo = (
            math.ceil(embargo_raw * window_bars) if 0 < embargo_raw < 1 else int(embargo_raw)
        )
        widened_start = pd.Timestamp(start) - pd.offsets.BDay(int(purge))
        widened_end = pd.Timestamp(end) + pd.offsets.BDay(int(purge) + int(embargo))
        return cls(as_of, widened_start.to_pydatetime(), widened_end.to_pydatetime())


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _number(value: Any, default: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) and v >= 0 else default


def _on_index(index: pd.DatetimeIndex, when: datetime) -> pd.Timestamp:
    """``when`` in the index's time zone (a naive index is read as UTC)."""
    ts = pd.Timestamp(when)
    if index.tz is None:
        return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts
    return ts.tz_convert(index.tz) if ts.tzinfo else ts.tz_localize(index.tz)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) positions of the runs of True in ``mask``."""
    if not mask.any():
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


def scope_pack(
    dataset: BenchmarkDataset, rule: OutOfSample, min_rows: int
) -> tuple[BenchmarkDataset | None, PackCoverage]:
    """The pack cut to ``rule`` (None when skipped) and what was excluded and why."""
    index = dataset.close.index
    if not isinstance(index, pd.DatetimeIndex):
        used = int(index.shape[0])
        return dataset, PackCoverage(dataset.name, dataset.version, used, rows_used=used)
    n = int(index.shape[0])
    after = np.asarray(index > _on_index(index, rule.as_of))
    inside = np.zeros(n, dtype=bool)
    if rule.excluded_start is not None and rule.excluded_end is not None:
        lo, hi = _on_index(index, rule.excluded_start), _on_index(index, rule.excluded_end)
        inside = np.asarray((index >= lo) & (index <= hi)) & ~after
    keep = ~after & ~inside
    segments: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    used = 0
    for a, b in dataset.segments:
        in_segment = np.asarray((index >= a) & (index <= b)) & keep
        for first, last in _runs(in_segment):
            if last > first:  # one bar alone holds no period
                segments.append((pd.Timestamp(index[first]), pd.Timestamp(index[last])))
                used += last - first + 1
    coverage = PackCoverage(
        dataset.name, dataset.version, n, int(after.sum()), int(inside.sum()), used
    )
    if after.all():
        reason = f"wholly after the clock's now ({rule.as_of:%Y-%m-%d}): it has not happened yet"
    elif used < min_rows:
        reason = (
            f"{used} out-of-sample rows left ({int(after.sum())} after now, "
            f"{int(inside.sum())} in the training window); at least {min_rows} needed"
        )
    else:
        reason = ""
    if reason:
        return None, dataclasses.replace(coverage, skipped=reason)
    if used == n:
        return dataset, coverage
    return dataclasses.replace(dataset, segments=tuple(segments)), coverage
