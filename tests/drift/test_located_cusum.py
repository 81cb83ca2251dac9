"""LocatedCUSUM and locate_change: where a change began, found from the values since the restart."""

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
    LocatedCUSUM,
    locate_change,
    make_detector,
)


def _alarms(det: DriftDetector, values: list[float]) -> list[tuple[int, int]]:
    """(alarm index, reported change point) of every alarm."""
    out = []
    for i, v in enumerate(values):
        det.update(v)
        if det.drift_detected:
            out.append((i, int(det.change_point)))  # type: ignore[attr-defined]
    return out


def _cost(y: np.ndarray, tau: int, kind: str) -> float:
    """The two-segment cost of one split, from scratch (np.var, variance floor as documented)."""
    a, b = y[:tau], y[tau:]
    if kind == "mean":
        return float(np.sum((a - a.mean()) ** 2) + np.sum((b - b.mean()) ** 2))
    floor = 1e-9 * np.var(y) + 1e-300
    return float(len(a) * np.log(max(np.var(a), floor)) + len(b) * np.log(max(np.var(b), floor)))


def _brute_force(y: np.ndarray, kind: str, m: int) -> int:
    """Every split fitted from scratch: the argmin of the two-segment cost."""
    best, best_tau = math.inf, -1
    for tau in range(m, len(y) - m + 1):
        cost = _cost(y, tau, kind)
        if best_tau < 0 or cost < best - 1e-9 * max(1.0, abs(best)):
            best, best_tau = cost, tau
    return best_tau


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=6, max_size=60),
    kind=st.sampled_from(["mean", "scale"]),
    m=st.integers(1, 3),
)
def test_locate_change_is_the_brute_force_best_split(values: list[float], kind: str,
                                                     m: int) -> None:
    y = np.asarray(values)
    tau = locate_change(y, kind, m)  # type: ignore[arg-type]
    assert m <= tau <= len(y) - m
    ref = _brute_force(y, kind, m)
    if ref != tau:  # equal cost up to rounding is allowed, a worse split is not
        best = _cost(y, ref, kind)
        assert _cost(y, tau, kind) <= best + 1e-6 * max(1.0, abs(best))


def test_locate_change_finds_a_step_and_a_scale_change() -> None:
    rng = np.random.default_rng(0)
    step = np.concatenate([rng.normal(0, 1, 70), rng.normal(2.5, 1, 30)])
    assert locate_change(step, "mean") == 70
    scale = np.concatenate([rng.normal(0, 1, 80), rng.normal(0, 4, 40)])
    assert abs(locate_change(scale, "scale") - 80) <= 2
    # a level far from zero does not cost precision
    assert locate_change(step + 1e9, "mean") == 70


def test_locate_change_refuses_what_it_cannot_split() -> None:
    with pytest.raises(ValueError, match="values"):
        locate_change([1.0, 2.0, 3.0], "mean", 2)
    with pytest.raises(ValueError, match="finite"):
        locate_change([1.0, math.nan, 3.0, 4.0, 5.0], "mean")
    with pytest.raises(ValueError, match="kind"):
        locate_change([1.0, 2.0, 3.0, 4.0], "median")  # type: ignore[arg-type]


def test_located_cusum_reports_where_a_shift_began() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, 1, 300), rng.normal(1.5, 1, 200)]).tolist()
    found = _alarms(LocatedCUSUM(), values)
    after = [(a, cp) for a, cp in found if a >= 300]
    assert after, found
    alarm, cp = after[0]
    assert alarm > 310  # the alarm comes late, the located change does not
    assert abs(cp - 300) <= 2


def test_a_variance_change_is_located_at_least_as_often_as_by_the_last_zero() -> None:
    # sd x2 and sd /3, 30 seeds each: located within the 5-point margin 50 times of 60
    # (the last zero of the statistic that fired: 44)
    within = {300: 0, 0: 0}
    for ratio in (2.0, 1 / 3):
        for seed in range(30):
            rng = np.random.default_rng(100 + seed)
            values = np.concatenate([rng.normal(0, 1, 400), rng.normal(0, ratio, 200)]).tolist()
            for window in within:
                hits = [cp for a, cp in _alarms(LocatedCUSUM(locate_window=window), values)
                        if a >= 400]
                within[window] += bool(hits) and abs(hits[0] - 400) <= 5
    assert within[300] == 50
    assert within[0] == 44


def test_a_unit_root_level_is_located_on_its_differences() -> None:
    # a random walk whose drift changes at 500: the change is a mean change of the differences
    rng = np.random.default_rng(7)
    steps = np.concatenate([rng.normal(0.0, 1.0, 500), rng.normal(1.5, 1.0, 200)])
    found = _alarms(LocatedCUSUM(), np.cumsum(steps).tolist())
    after = [cp for a, cp in found if a >= 500]
    assert after and abs(after[0] - 500) <= 3


def test_nan_values_are_skipped_and_do_not_shift_the_location() -> None:
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(0, 1, 300), rng.normal(3, 1, 100)]).tolist()
    holes = list(values)
    for i in (50, 120, 290):
        holes[i] = math.nan
    clean = [cp for a, cp in _alarms(LocatedCUSUM(), values) if a >= 300]
    gappy = [cp for a, cp in _alarms(LocatedCUSUM(), holes) if a >= 300]
    assert clean and gappy and clean[0] == gappy[0] == 300


def test_the_base_cusum_keeps_its_behaviour_by_default() -> None:
    # locate_window=0 and learn_gate=0.5 are the AutocorrelatedCUSUM of before
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.normal(0, 1, 500), rng.normal(2, 1, 300),
                             rng.normal(2, 3, 300)]).tolist()
    base = _alarms(AutocorrelatedCUSUM(), values)
    explicit = _alarms(AutocorrelatedCUSUM(learn_gate=0.5, locate_window=0), values)
    assert base == explicit and base


def test_invalid_parameters_name_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        LocatedCUSUM(learn_gate=1.5, locate_window=4)
    text = str(err.value)
    assert "learn_gate" in text and "locate_window" in text


def test_make_detector_builds_it() -> None:
    det = make_detector("located_cusum")
    assert isinstance(det, LocatedCUSUM) and isinstance(det, DriftDetector)
