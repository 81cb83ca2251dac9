"""The report's statistics: the paired test's sidedness and power, the equity bands."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.demo.record import BookSeries
from ordinis.engines.learning.demo.verdict import equity_band, paired_test


def _books(edge: float, seed: int = 0, n: int = 2000) -> tuple[BookSeries, BookSeries]:
    rng = np.random.default_rng(seed)
    static = rng.normal(0.0, 0.01, n)
    loop = static + edge + rng.normal(0.0, 0.002, n)
    return BookSeries("loop", loop), BookSeries("static", static)


def test_a_planted_edge_is_found_and_stated() -> None:
    loop, static = _books(edge=0.0005)
    v = paired_test(loop, static, resamples=500)
    assert v.beat and v.p_value < 0.01
    assert v.lower > 0 and abs(v.estimate - 0.0005 * 252) < 0.02
    assert v.sentence("closed loop", "static model").startswith("Yes")


def test_a_worse_loop_never_beats_one_sided() -> None:
    loop, static = _books(edge=-0.0005)
    v = paired_test(loop, static, resamples=500)
    assert not v.beat and v.p_value > 0.9
    assert "one-sided" in v.alternative
    assert v.sentence("closed loop", "static model").startswith("No: the closed loop did not")


def test_identical_books_do_not_beat() -> None:
    loop, _ = _books(edge=0.0)
    v = paired_test(loop, loop, resamples=200)
    assert not v.beat and v.estimate == 0.0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_false_positive_rate_under_the_null_is_bounded(seed: int) -> None:
    """Under H0 (no edge) a 5 % one-sided test rejects rarely; p-values are valid numbers."""
    loop, static = _books(edge=0.0, seed=seed, n=500)
    v = paired_test(loop, static, resamples=200, seed=seed)
    assert 0.0 < v.p_value <= 1.0
    assert v.lower <= v.estimate <= v.upper


def test_null_rejection_rate_near_alpha() -> None:
    rejected = sum(
        paired_test(*_books(edge=0.0, seed=s, n=300), resamples=200, seed=s).beat
        for s in range(60)
    )
    assert rejected <= 9  # 5 % of 60 is 3; 9 is beyond the binomial 99.9 % quantile


def test_equity_band_brackets_the_path_and_is_ordered() -> None:
    loop, _ = _books(edge=0.0003, n=800)
    band = equity_band(loop, level=0.9, resamples=200)
    assert band.lower.shape == band.upper.shape == (800,)
    assert np.all(band.lower <= band.upper)
    assert band.lower[-1] < loop.equity[-1] < band.upper[-1]
