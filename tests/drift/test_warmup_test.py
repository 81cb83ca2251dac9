"""warmup_shift_test and WarmupTestedCUSUM: a shift inside the warm-up is found, not learnt."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.drift import (
    AutocorrelatedCUSUM,
    DriftDetector,
    WarmupTestedCUSUM,
    make_detector,
    warmup_shift_test,
)
from ordinis.engines.learning.drift.calibrated import WARMUP_SHIFT_THRESHOLD


def _rss_leaving_one_out(X: np.ndarray, z: np.ndarray) -> float:
    """Refit without each value in turn; the smallest residual sum of squares (from scratch)."""
    best = math.inf
    for i in range(len(z)):
        keep = np.arange(len(z)) != i
        beta, *_ = np.linalg.lstsq(X[keep], z[keep], rcond=None)
        e = z[keep] - X[keep] @ beta
        best = min(best, float(e @ e))
    return best


def _brute_force(values: np.ndarray, m: int) -> tuple[float, dict[int, float]]:
    """The statistic, and the shift model's RSS per split (keyed by the change index), with
    every model refitted from scratch for every left-out value."""
    y = (values - values.mean()) / values.std()
    x, z = y[:-1], y[1:]
    n = len(z)
    one = np.ones((n, 1))
    null = min(_rss_leaving_one_out(one, z),
               _rss_leaving_one_out(np.column_stack([one, x]), z),
               _rss_leaving_one_out(np.column_stack([one, np.arange(n)]), z))
    by_split = {}
    for k in range(m, n - m + 1):
        design = np.zeros((n, 2))
        design[:k, 0] = 1.0
        design[k:, 1] = 1.0
        by_split[k + 1] = _rss_leaving_one_out(design, z)
    return 0.5 * n * (math.log(null) - math.log(min(by_split.values()))), by_split


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(11, 40),
    step=st.floats(-4.0, 4.0),
    phi=st.sampled_from([0.0, 0.6, 1.0]),
    m=st.integers(2, 5),
)
def test_statistic_and_split_match_the_brute_force(seed: int, n: int, step: float, phi: float,
                                                   m: int) -> None:
    if n < 2 * m + 1:
        m = (n - 1) // 2
    rng = np.random.default_rng(seed)
    e = rng.standard_t(4, n)
    y = np.empty(n)
    prev = 0.0
    for i in range(n):
        prev = phi * prev + e[i]
        y[i] = prev
    y[n // 2:] += step
    got = warmup_shift_test(y, min_segment=m)
    want, by_split = _brute_force(y, m)
    assert got.statistic == pytest.approx(want, rel=1e-7, abs=1e-7)
    best = min(by_split.values())  # a split of equal cost (a tie) is as good; a worse one is not
    assert by_split[got.change_index] <= best + 1e-9 * max(1.0, best)


def test_a_step_in_noise_passes_the_threshold_at_its_place() -> None:
    rng = np.random.default_rng(3)
    y = np.concatenate([rng.normal(0, 1, 22), rng.normal(3, 1, 18)])
    got = warmup_shift_test(y)
    assert got.statistic > WARMUP_SHIFT_THRESHOLD
    assert abs(got.change_index - 22) <= 1


@pytest.mark.parametrize("kind", ["random_walk", "trend", "shock"])
def test_persistence_trend_and_one_shock_do_not_pass_for_a_shift(kind: str) -> None:
    rng = np.random.default_rng(5)
    if kind == "random_walk":
        y = np.cumsum(rng.normal(0, 1, 40))
    elif kind == "trend":
        y = 0.3 * np.arange(40) + rng.normal(0, 1, 40)
    else:  # one large shock decaying slowly, as in a persistent heavy-tailed series
        y = rng.normal(0, 1, 40)
        y[20:] += 6.0 * 0.9 ** np.arange(20)
    assert warmup_shift_test(y).statistic < WARMUP_SHIFT_THRESHOLD


def test_a_constant_window_scores_minus_infinity() -> None:
    assert warmup_shift_test([2.0] * 30).statistic == -math.inf


def test_the_test_refuses_what_it_cannot_fit() -> None:
    with pytest.raises(ValueError, match=r"values: need at least 2 \* min_segment \+ 1 = 11"):
        warmup_shift_test([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="values: must be finite"):
        warmup_shift_test([1.0] * 10 + [math.nan] + [2.0] * 10)
    with pytest.raises(ValueError, match="min_segment"):
        warmup_shift_test([1.0] * 30, min_segment=0)


def _alarms(det: DriftDetector, values: list[float]) -> list[tuple[int, int, str]]:
    out = []
    for i, v in enumerate(values):
        det.update(v)
        if det.drift_detected:
            out.append((i, int(det.change_point),  # type: ignore[attr-defined]
                        str(det.last_alarm_statistic)))  # type: ignore[attr-defined]
    return out


def _shift_in_warmup(seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    return [*rng.normal(10.0, 1.0, 28).tolist(), *rng.normal(13.0, 1.0, 172).tolist()]


def test_the_tested_cusum_finds_a_shift_the_plain_one_learns() -> None:
    values = _shift_in_warmup()
    plain = AutocorrelatedCUSUM()
    assert _alarms(plain, values) == []  # the shift at 28 became part of its reference
    det = WarmupTestedCUSUM()
    alarms = _alarms(det, values)
    assert len(alarms) == 1
    at, cp, statistic = alarms[0]
    assert statistic == "warmup_shift"
    assert 28 < at <= 40 and cp == 28
    mean, _, _ = det.reference  # learnt from the values after the shift only
    assert abs(mean - 13.0) < 0.5


def test_change_points_count_skipped_nans_and_restarted_values() -> None:
    values = _shift_in_warmup()
    with_nans = [*values[:10], math.nan, math.nan, *values[10:]]
    alarms = _alarms(WarmupTestedCUSUM(), with_nans)
    assert alarms[0][1] == 30  # index in the stream fed, NaNs included
    det = WarmupTestedCUSUM()
    for v in [0.0] * 100:
        det.update(v)
    det.restart(values[:20])  # a change found elsewhere: these are the latest 20 values
    alarms = _alarms(det, values[20:])
    assert alarms[0][1] == 108  # values[0] was index 80, so values[28] is 108


@pytest.mark.parametrize("factory", [AutocorrelatedCUSUM, WarmupTestedCUSUM])
def test_infinite_values_are_skipped_like_nans(factory: type[AutocorrelatedCUSUM]) -> None:
    values = _shift_in_warmup() + [16.0] * 60  # a change in the warm-up, one after it
    clean = _alarms(factory(), values)
    assert clean  # something to compare
    dirty = [*values[:5], math.inf, *values[5:100], -math.inf, math.nan, *values[100:]]

    def shift(i: int) -> int:
        return i + (i >= 5) + 2 * (i >= 100)

    assert _alarms(factory(), dirty) == [(shift(a), shift(c), s) for a, c, s in clean]


def test_warmup_test_parameters_are_checked() -> None:
    with pytest.raises(ValidationError, match="warmup_test_from"):
        AutocorrelatedCUSUM(warmup_test=7.0, warmup_test_from=50)
    with pytest.raises(ValidationError, match="warmup_test"):
        AutocorrelatedCUSUM(warmup_test=math.nan)
    assert isinstance(make_detector("warmup_tested_cusum"), WarmupTestedCUSUM)
