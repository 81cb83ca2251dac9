"""BOCPD: the posterior against a brute-force recursion, its invariants, alarms and errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.drift import BOCPD, DriftDetector, make_detector
from ordinis.engines.learning.drift.bocpd import bocpd_posteriors_bruteforce


def _innovations(det: BOCPD, values: list[float], clip: float) -> list[float]:
    """The standardised (clipped) AR(1) innovations the model saw after the warm-up."""
    level, rho, scale = det.standardisation
    out = []
    for prev, x in itertools.pairwise(values):
        z = ((x - level) - rho * (prev - level)) / scale
        out.append(max(-clip, min(clip, z)))
    return out


def _ar1(seed: int, n: int, phi: float, shift_at: int | None = None, shift: float = 0.0
         ) -> list[float]:
    rng = np.random.default_rng(seed)
    out, prev = [], 0.0
    for i in range(n):
        prev = phi * prev + rng.normal()
        out.append(prev + (shift if shift_at is not None and i >= shift_at else 0.0))
    return out


@pytest.mark.parametrize(
    ("seed", "phi", "hazard_lambda", "prewhiten", "clip"),
    [(0, 0.0, 20.0, False, math.inf), (3, 0.9, 50.0, True, math.inf), (2, 0.3, 10.0, True, 2.5)],
)
def test_posterior_matches_the_brute_force_recursion(
    seed: int, phi: float, hazard_lambda: float, prewhiten: bool, clip: float
) -> None:
    values = _ar1(seed, 40, phi, shift_at=22, shift=4.0)
    det = BOCPD(hazard_lambda=hazard_lambda, warmup=8, max_run_length=64,
                prewhiten=prewhiten, clip=clip, alpha0=1.5, beta0=0.8, kappa0=0.5)
    z = []
    for i, v in enumerate(values):
        det.update(v)
        if i >= 7:
            z = _innovations(det, values[: i + 1], clip)
            brute = bocpd_posteriors_bruteforce(z, 1 / hazard_lambda, 0.0, 0.5, 1.5, 0.8)[-1]
            post = det.run_length_posterior
            np.testing.assert_allclose(post[: len(brute)], brute, rtol=1e-9, atol=1e-13)
            assert np.all(post[len(brute):] == 0.0)
    if prewhiten and phi > 0.5:
        assert det.standardisation[1] > 0.1  # the lag-1 autocorrelation was learnt
    # The short-run statistic is the brute-force mass of run lengths 1..alarm_window.
    brute = bocpd_posteriors_bruteforce(z, 1 / hazard_lambda, 0.0, 0.5, 1.5, 0.8)[-1]
    expected = sum(brute[1:21]) / (1 - 1 / hazard_lambda)
    assert det.short_run_mass == pytest.approx(expected, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=12, max_size=160
    ),
    max_run_length=st.integers(min_value=8, max_value=40),
)
def test_posterior_is_a_distribution_over_a_bounded_number_of_run_lengths(
    values: list[float], max_run_length: int
) -> None:
    det = BOCPD(max_run_length=max_run_length, alarm_window=5, warmup=5)
    for v in values:
        det.update(v)
        post = det.run_length_posterior
        if post.size:
            assert post.shape == (max_run_length,)  # memory does not grow with the stream
            assert np.all(post >= 0.0)
            assert float(post.sum()) == pytest.approx(1.0, abs=1e-9)
            assert 0.0 <= det.short_run_mass <= 1.0 + 1e-12


def test_truncation_merges_old_run_lengths_without_losing_mass() -> None:
    det = BOCPD(max_run_length=16, alarm_window=5)
    for v in _ar1(3, 400, 0.0):
        det.update(v)
    post = det.run_length_posterior
    assert post.shape == (16,)
    assert float(post.sum()) == pytest.approx(1.0, abs=1e-12)
    assert int(np.argmax(post)) == 15  # a long quiet stretch lives in the last slot


def test_finds_a_mean_shift_once_and_locates_it() -> None:
    values = _ar1(4, 600, 0.3, shift_at=400, shift=3.0)
    det = BOCPD()
    assert isinstance(det, DriftDetector)
    found = []
    for i, v in enumerate(values):
        det.update(v)
        if det.drift_detected:
            found.append((i, det.change_point))
    assert len(found) == 1, found
    alarm, located = found[0]
    assert 400 <= alarm <= 420
    assert abs(located - 400) <= 2
    assert det.n_detections == 1
    assert det.last_alarm_statistic == "short_run_mass"


def test_drift_detected_is_true_only_after_the_detecting_update() -> None:
    values = _ar1(5, 300, 0.0, shift_at=200, shift=6.0)
    det = BOCPD()
    for v in values[:200]:
        det.update(v)
        assert not det.drift_detected
    hit = None
    for i, v in enumerate(values[200:], start=200):
        det.update(v)
        if det.drift_detected:
            hit = i
            break
    assert hit is not None
    det.update(values[hit + 1])
    assert not det.drift_detected


def test_infinite_values_are_skipped_like_nan() -> None:
    values = _ar1(8, 300, 0.0, shift_at=200, shift=5.0)
    clean, dirty = BOCPD(), BOCPD()
    found_clean, found_dirty = [], []
    for i, v in enumerate(values):
        clean.update(v)
        if clean.drift_detected:
            found_clean.append(clean.change_point)
        for extra in ((math.inf, -math.inf) if i in (3, 150) else ()):
            dirty.update(extra)
        dirty.update(v)
        if dirty.drift_detected:
            found_dirty.append(dirty.change_point - 4)  # four skipped values shift the index
    assert found_clean and [c for c in found_dirty if c > 150] == [
        c for c in found_clean if c > 150]
    np.testing.assert_allclose(clean.run_length_posterior, dirty.run_length_posterior)


def test_warmup_raises_no_alarm_and_nan_is_skipped() -> None:
    det = BOCPD(warmup=10)
    for v in [0.0, 100.0, -50.0, math.nan, 3.0, 9.0, 1.0, 2.0, 5.0, 4.0]:
        det.update(v)
        assert not det.drift_detected
    assert det.run_length_posterior.size == 0  # nine finite values: still warming up
    det.update(1.0)
    assert det.run_length_posterior.size == det.run_length_posterior.shape[0] > 0
    before = det.run_length_posterior
    det.update(math.nan)
    np.testing.assert_array_equal(det.run_length_posterior, before)
    assert det.n_seen == 12


def test_scale_free_a_level_of_a_million_behaves_like_zero() -> None:
    values = _ar1(6, 500, 0.2, shift_at=300, shift=3.0)
    small, large = BOCPD(), BOCPD()
    found_small, found_large = [], []
    for i, v in enumerate(values):
        small.update(v)
        large.update(1e6 + 1e3 * v)
        if small.drift_detected:
            found_small.append(i)
        if large.drift_detected:
            found_large.append(i)
    assert found_small == found_large
    assert found_small


def test_reset_forgets_the_scale_but_keeps_the_count() -> None:
    det = BOCPD()
    for v in _ar1(7, 400, 0.0, shift_at=200, shift=5.0):
        det.update(v)
    assert det.n_detections >= 1
    n = det.n_detections
    det.reset()
    assert det.run_length_posterior.size == 0
    assert det.n_detections == n


def test_invalid_parameters_are_refused_with_every_problem_named() -> None:
    with pytest.raises(ValidationError) as err:
        BOCPD(hazard_lambda=1.0, threshold=1.5, max_run_length=4, warmup=1, beta0=-1.0,
              max_rho=1.0, clip=0.0)
    text = str(err.value)
    for name in ("hazard_lambda", "threshold", "max_run_length", "warmup", "beta0",
                 "max_rho", "clip"):
        assert name in text


def test_make_detector_builds_bocpd() -> None:
    det = make_detector("bocpd", threshold=0.9)
    assert isinstance(det, BOCPD)
    assert det.threshold == 0.9
