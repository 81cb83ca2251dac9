"""Data validation of the training window: schema, null rate, PSI drift (on real S&P data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ordinis.engines.learning.features.bar_features import FEATURE_NAMES
from ordinis.engines.learning.feedback import (
    DataValidationStage,
    check_feature_drift,
    population_stability_index,
    validate_training_data,
)

STAGE = DataValidationStage(required_features=list(FEATURE_NAMES))


def test_psi_is_small_for_one_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(0, 1, 5000)
    assert population_stability_index(ref, rng.normal(0, 1, 5000)) < 0.02
    assert population_stability_index(ref, rng.normal(1.0, 1, 5000)) > 0.25
    assert np.isnan(population_stability_index(np.array([np.nan]), ref))
    const = np.full(100, 3.0)
    assert population_stability_index(const, const) < 1e-9
    assert population_stability_index(const, ref) > 1.0


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(20, 300), elements=st.floats(-1e6, 1e6)),
       arrays(np.float64, st.integers(20, 300), elements=st.floats(-1e6, 1e6)))
def test_psi_is_non_negative_and_zero_on_itself(a: np.ndarray, b: np.ndarray) -> None:
    assert population_stability_index(a, b) >= 0.0
    assert population_stability_index(a, a) < 1e-9


def test_clean_recent_window_passes(sp500_features: pd.DataFrame) -> None:
    window = sp500_features.loc["2010":"2011"]
    reference = window.sample(frac=0.5, random_state=3)
    report = validate_training_data(window, reference, STAGE)
    assert report.passed, report.summary()
    assert report.rows == len(window) and report.failed_check is None
    assert report.drift is not None and set(report.drift.psi) == set(FEATURE_NAMES)
    assert "passed" in report.summary() and "max PSI" in report.summary()


def test_schema_check_names_missing_and_non_numeric_features(sp500_features: pd.DataFrame) -> None:
    window = sp500_features.loc["2010"].drop(columns=["rsi_14"]).copy()
    window["vol_20"] = "high"
    report = validate_training_data(window, None, STAGE)
    assert not report.passed and report.failed_check == "schema"
    assert report.schema is not None
    assert report.schema.missing == ["rsi_14"] and report.schema.non_numeric == ["vol_20"]
    assert "missing required feature(s) rsi_14" in report.summary()
    assert "non-numeric feature(s) vol_20" in report.summary()


def test_null_rate_above_the_limit_fails_with_the_rate(sp500_features: pd.DataFrame) -> None:
    window = sp500_features.loc["2010"].copy()
    window.iloc[::20, window.columns.get_loc("mom_60")] = np.nan  # 5 % missing
    window.iloc[:1, window.columns.get_loc("ret_1")] = np.nan  # 0.4 %: within 1 %
    report = validate_training_data(window, None, STAGE)
    assert not report.passed and report.failed_check == "null_rate"
    assert report.nulls is not None and report.nulls.worst is not None
    assert report.nulls.worst[0] == "mom_60"
    assert "mom_60=5.16%" in report.summary() and "ret_1" not in report.summary()
    assert "max_null_rate=0.01" in report.summary()
    empty = validate_training_data(window.iloc[:0], None, STAGE)
    assert not empty.passed and "no rows" in empty.summary()


def test_training_window_drifted_from_reference_fails(sp500_features: pd.DataFrame) -> None:
    calm = sp500_features.loc["2005":"2006"]  # the quiet bull market
    crisis = sp500_features.loc["2008-09":"2009-06"]  # the crash
    report = validate_training_data(calm, crisis, STAGE)
    assert not report.passed and report.failed_check == "feature_drift"
    assert report.drift is not None and report.drift.worst is not None
    assert report.drift.psi["vol_20"] > 1.0
    assert "vol_20=" in report.summary() and "max_feature_drift=0.1" in report.summary()


def test_skips_are_explicit() -> None:
    assert "no training-window features" in validate_training_data(None, None, STAGE).summary()
    off = validate_training_data(None, None, DataValidationStage(enabled=False))
    assert off.passed and "disabled" in off.summary()
    drift = check_feature_drift(pd.DataFrame({"a": [1.0]}), None, ["a"], 0.1)
    assert drift.passed and drift.skipped_reason == "no reference features"


def test_without_a_pipeline_list_the_models_own_features_are_required() -> None:
    window = pd.DataFrame({"ret_0": np.linspace(0, 1, 50), "vol_20": np.nan})
    report = validate_training_data(window, None, DataValidationStage())
    assert report.schema is not None and report.schema.required == ["ret_0", "vol_20"]
    assert report.failed_check == "null_rate" and "vol_20=100.00%" in report.summary()
    named = validate_training_data(window[["ret_0"]], None, DataValidationStage(),
                                   required=["ret_0", "skew"])
    assert named.schema is not None and named.schema.missing == ["skew"]
