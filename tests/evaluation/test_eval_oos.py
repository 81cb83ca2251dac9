"""Point-in-time and out-of-sample cuts of a pack (evaluation.oos), on the real S&P 500 pack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.evaluation import BenchmarkRegistry, OutOfSample, scope_pack

PACK = BenchmarkRegistry().get("pack_01_bull")  # 2003-04..2007-06 and 2013..2017
DAY0 = datetime(2002, 1, 1, tzinfo=UTC)
days = st.integers(0, 365 * 17)


@given(now=days, start=days, length=st.integers(0, 365 * 6))
@settings(max_examples=60, deadline=None)
def test_no_used_row_is_after_now_or_inside_the_training_window(
    now: int, start: int, length: int
) -> None:
    as_of = DAY0 + timedelta(days=now)
    lo, hi = DAY0 + timedelta(days=start), DAY0 + timedelta(days=start + length)
    cut, cov = scope_pack(PACK, OutOfSample(as_of, lo, hi), min_rows=60)
    idx = PACK.close.index
    assert cov.rows == len(idx)
    assert cov.rows_after_now == int((idx > pd.Timestamp(as_of).tz_localize(None)).sum())
    if cut is None:
        assert (cov.skipped and cov.rows_used < 60) or "after the clock" in cov.skipped
        return
    assert not cov.skipped and cov.rows_used >= 60
    used = pd.DatetimeIndex([])
    for a, b in cut.segments:
        used = used.append(idx[(idx >= a) & (idx <= b)])
        assert b > a
    assert len(used) == cov.rows_used
    assert (used <= pd.Timestamp(as_of).tz_localize(None)).all()
    assert not ((used >= pd.Timestamp(lo).tz_localize(None))
                & (used <= pd.Timestamp(hi).tz_localize(None))).any()


def test_training_window_is_widened_by_purge_and_embargo() -> None:
    rule = OutOfSample.for_version(
        datetime(2023, 1, 2, tzinfo=UTC),
        {"window_start": "2010-01-04T00:00:00+00:00", "window_end": "2010-12-31T00:00:00+00:00"},
        {"cv_purge": 2, "cv_embargo": 0.01},
    )
    assert rule.excluded_start is not None and rule.excluded_end is not None
    assert rule.excluded_start.date() == datetime(2009, 12, 31).date()  # 2 business days
    # 261 business days x 1 % -> 3 bars of embargo, plus the purge of 2
    assert rule.excluded_end.date() == datetime(2011, 1, 7).date()
    assert OutOfSample.for_version(datetime(2023, 1, 2, tzinfo=UTC), {}).excluded_start is None


def test_a_future_pack_is_skipped_and_says_so() -> None:
    cut, cov = scope_pack(PACK, OutOfSample(datetime(1999, 1, 4, tzinfo=UTC)), min_rows=60)
    assert cut is None and cov.rows_after_now == cov.rows
    assert cov.skipped.startswith("wholly after the clock's now (1999-01-04)")


def test_a_cut_splits_segments_and_keeps_what_is_left() -> None:
    rule = OutOfSample(
        datetime(2016, 6, 30, tzinfo=UTC),
        datetime(2005, 1, 1, tzinfo=UTC),
        datetime(2005, 12, 31, tzinfo=UTC),
    )
    cut, cov = scope_pack(PACK, rule, min_rows=60)
    assert cut is not None and len(cut.segments) == 3  # 2003-04..2004, 2006..2007-06, 2013..now
    assert cov.rows_in_training_window == pytest.approx(252, abs=3)
    assert cut.segments[-1][1] <= pd.Timestamp("2016-06-30")
