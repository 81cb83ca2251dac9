"""Job datasets on the host's own features: named, listed, discovered, or read from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from ordinis.engines.learning.core.errors import InsufficientDataError, ValidationError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.features import (
    FeatureStore,
    default_feature_sets,
    make_feature_set,
)
from ordinis.engines.learning.training.dataset import dataset_for_job, validate_dataset_config

T0 = datetime(2024, 1, 1, tzinfo=UTC)
HOST = ("ret_0", "ret_1", "vol_20")


def host_events(n: int = 40) -> list[LearningEvent]:
    rng = np.random.default_rng(0)
    return [
        LearningEvent(EventType.SIGNAL_GENERATED, "signal", symbol="NDX",
                      timestamp=T0 + timedelta(days=i),
                      payload={"features": {k: float(rng.standard_normal()) for k in HOST}},
                      outcome=float(rng.standard_normal()) / 100)
        for i in range(n)
    ]


def test_discovered_features_train_with_the_choice_reported() -> None:
    ds = dataset_for_job({}, host_events(), 10, default_feature_sets())
    assert ds.feature_names == HOST
    assert ds.feature_set == "discovered"
    assert "discovered 3 feature(s)" in ds.feature_report


def test_named_set_records_name_and_version() -> None:
    reg = default_feature_sets()
    reg.register(make_feature_set("host", ["ret_0", "vol_20"]))
    reg.register(make_feature_set("host", list(HOST), version=2))
    ds = dataset_for_job({"feature_set": "host@v1"}, host_events(), 10, reg)
    assert (ds.feature_set, ds.feature_set_version, ds.feature_names) == (
        "host", 1, ("ret_0", "vol_20"))


def test_listed_feature_missing_from_events_says_which() -> None:
    with pytest.raises(InsufficientDataError, match="features: ret_0, skew"):
        dataset_for_job({"features": ["ret_0", "skew"]}, host_events(), 10,
                        default_feature_sets())


def test_store_sourced_set_joins_point_in_time() -> None:
    store = FeatureStore(None)
    fs = store.create_feature_set("px", ["close_z"], ttl_seconds=2 * 86400)
    events = host_events(10)
    # values stamped half a day after each event: a row may only see the previous day's value
    store.ingest_frame("px", pd.DataFrame({
        "entity": "NDX", "timestamp": [e.timestamp + timedelta(hours=12) for e in events],
        "close_z": np.arange(10, dtype=float)}))
    reg = default_feature_sets()
    reg.register(fs)
    ds = dataset_for_job({"feature_set": "px"}, events, 5, reg, store)
    assert ds.feature_set == "px" and ds.feature_set_version == 1
    assert ds.X["close_z"].tolist() == list(np.arange(9, dtype=float))  # day i sees value i-1
    assert ds.drop_reasons == {
        "no stored value at or before the event (within the TTL) for every feature": 1}
    with pytest.raises(ValidationError, match="feature store"):
        dataset_for_job({"feature_set": "px"}, events, 5, reg, None)


def test_feature_config_is_checked_at_submit() -> None:
    problems = validate_dataset_config({"features": "ret_0", "min_feature_coverage": 2})
    assert {p.field for p in problems} == {"config.features", "config.min_feature_coverage"}
