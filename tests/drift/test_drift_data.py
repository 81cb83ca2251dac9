"""PSI, Kolmogorov-Smirnov and Wasserstein against hand-computed and scipy values."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.core.models import DriftSeverity
from ordinis.engines.learning.drift.data_drift import (
    DataDriftThresholds,
    ReferenceProfile,
    bin_proportions,
    build_profile,
    build_reference,
    compare_feature,
    psi,
)

T0 = datetime(2020, 1, 1, tzinfo=UTC)
samples = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=30, max_size=200)


def test_psi_hand_computed() -> None:
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(expected)
    assert expected == pytest.approx(0.27465, abs=1e-5)


def test_psi_floors_empty_bins() -> None:
    value = psi(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    assert math.isfinite(value) and value > 1.0


def test_bins_are_fixed_at_reference_time() -> None:
    ref = build_reference("f", np.arange(100, dtype=float), n_bins=4)
    assert ref.bin_edges == pytest.approx([24.75, 49.5, 74.25])
    assert ref.proportions == pytest.approx([0.25, 0.25, 0.25, 0.25])
    assert bin_proportions(np.array([-5.0, 30.0, 200.0]), np.array(ref.bin_edges)).tolist() == [
        pytest.approx(1 / 3), pytest.approx(1 / 3), 0.0, pytest.approx(1 / 3)
    ]


@given(a=samples, b=samples)
@settings(max_examples=60, deadline=None)
def test_psi_is_non_negative_and_zero_on_itself(a: list[float], b: list[float]) -> None:
    ref = build_reference("f", a)
    edges = np.array(ref.bin_edges)
    assert psi(np.array(ref.proportions), bin_proportions(np.array(b), edges)) >= 0.0
    assert psi(np.array(ref.proportions), bin_proportions(np.array(a), edges)) == pytest.approx(
        0.0, abs=1e-12
    )


@given(a=samples, b=samples)
@settings(max_examples=60, deadline=None)
def test_ks_matches_scipy_on_the_stored_sample(a: list[float], b: list[float]) -> None:
    ref = build_reference("f", a, sample_size=1000)  # n <= sample_size: the sample is the data
    assert sorted(ref.sample) == sorted(a)
    res = compare_feature(ref, b, DataDriftThresholds())
    expected = stats.ks_2samp(a, b)
    assert res.ks.statistic == pytest.approx(float(expected.statistic))
    assert res.ks.p_value == pytest.approx(float(expected.pvalue))


def test_wasserstein_hand_computed_in_reference_sd_units() -> None:
    base = np.tile([0.0, 1.0, 2.0, 3.0], 10)
    ref = build_reference("f", base)
    res = compare_feature(ref, base + 1.0, DataDriftThresholds())
    assert res.wasserstein.statistic == pytest.approx(1.0 / np.std(base))
    assert res.wasserstein.severity is DriftSeverity.CRITICAL


def test_same_distribution_is_not_drift_and_a_shift_is() -> None:
    rng = np.random.default_rng(0)
    ref = build_reference("f", rng.normal(0, 1, 5000))
    same = compare_feature(ref, rng.normal(0, 1, 2000), DataDriftThresholds())
    assert same.severity is None and same.recovered
    moved = compare_feature(ref, rng.normal(0.8, 1, 2000), DataDriftThresholds())
    assert moved.severity is DriftSeverity.CRITICAL
    assert moved.psi.drifted and moved.ks.drifted and moved.wasserstein.drifted
    assert moved.ks.p_value is not None and moved.ks.p_value < 1e-10


def test_profile_round_trip_and_validation() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": rng.normal(size=500), "b": rng.uniform(size=500), "s": ["x"] * 500})
    prof = build_profile("m", df, rng.normal(size=500), T0)
    assert set(prof.features) == {"a", "b"}  # non-numeric columns are not profiled
    again = ReferenceProfile.from_record(prof.to_record(T0))
    assert again == prof
    with pytest.raises(ValidationError, match="features"):
        build_profile("m", pd.DataFrame(), None, T0)
    with pytest.raises(ValidationError, match="at least 30"):
        compare_feature(prof.features["a"], [1.0, 2.0], DataDriftThresholds())
