"""FeatureStore: append-only ingestion, versioned backfills, point-in-time reads, online reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.errors import NotFoundError, ValidationError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.features import FeatureSource, FeatureStore

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def hours(h: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=h)


def frame(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "entity": [r[0] for r in rows],
        "timestamp": [hours(r[1]) for r in rows],
        "x": [r[2] for r in rows],
    })


@pytest.fixture
def store() -> FeatureStore:
    s = FeatureStore(None)
    s.create_feature_set("px", ["x"])
    s.ingest_frame("px", frame([("A", 0, 1.0), ("A", 2, 2.0), ("B", 1, 10.0)]))
    return s


def labels(rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"entity": [r[0] for r in rows], "timestamp": [hours(r[1]) for r in rows]})


def test_asof_join_takes_latest_value_at_or_before_each_row(store: FeatureStore) -> None:
    out = store.get_historical_features(
        "px", labels([("A", -1), ("A", 0), ("A", 1.5), ("A", 5), ("B", 0.5), ("B", 3), ("C", 9)]),
        with_feature_timestamp=True)
    np.testing.assert_array_equal(out["x"].to_numpy(),
                                  [np.nan, 1.0, 1.0, 2.0, np.nan, 10.0, np.nan])
    assert out["feature_timestamp"].iloc[2] == hours(0)
    assert pd.isna(out["feature_timestamp"].iloc[0])


def test_ttl_hides_values_older_than_it(store: FeatureStore) -> None:
    out = store.get_historical_features("px", labels([("A", 2.5), ("A", 3.5)]), ttl=3600)
    np.testing.assert_array_equal(out["x"].to_numpy(), [2.0, np.nan])


def test_result_keeps_the_rows_index_and_order(store: FeatureStore) -> None:
    rows = labels([("B", 3), ("A", 1)])
    rows.index = pd.Index([10, 7])
    out = store.get_historical_features("px", rows)
    assert list(out.index) == [10, 7]
    assert out["x"].tolist() == [10.0, 1.0]


def test_ingest_refuses_rows_that_would_rewrite_history(store: FeatureStore) -> None:
    with pytest.raises(ValidationError, match="backfill"):
        store.ingest_frame("px", frame([("A", 1, 99.0)]))
    with pytest.raises(ValidationError, match="duplicated"):
        store.ingest_frame("px", frame([("A", 7, 1.0), ("A", 7, 2.0)]))
    assert store.count_rows("px") == 3  # nothing half-written
    assert store.ingest_frame("px", frame([("A", 3, 3.0), ("C", 0, 5.0)])) == 2


def test_backfill_writes_a_new_version_and_keeps_the_old(store: FeatureStore) -> None:
    v2 = store.backfill("px", frame([("A", 0, 100.0), ("A", 1, 150.0)]))
    assert (v2.version, v2.source) == (2, FeatureSource.STORE)
    q = labels([("A", 0.5), ("A", 1.5), ("A", 2.5)])
    assert store.get_historical_features("px", q, version=1)["x"].tolist() == [1.0, 1.0, 2.0]
    assert store.get_historical_features("px", q)["x"].tolist() == [100.0, 150.0, 2.0]
    assert store.count_rows("px", 1) == 3
    assert store.count_rows("px", 2) == 4


def test_bad_frames_are_refused_naming_the_field() -> None:
    s = FeatureStore(None)
    s.create_feature_set("px", ["x", "y"])
    with pytest.raises(ValidationError) as err:
        s.ingest_frame("px", pd.DataFrame({"entity": ["A"], "when": [T0], "x": [1.0]}))
    text = str(err.value)
    assert "timestamp_column" in text and "'y'" in text
    with pytest.raises(ValidationError, match="non-numeric"):
        s.ingest_frame("px", pd.DataFrame({"entity": ["A"], "timestamp": [T0], "x": ["a"],
                                           "y": [1.0]}))
    with pytest.raises(NotFoundError, match="create_feature_set"):
        s.ingest_frame("nope", pd.DataFrame())


def test_online_get_reads_memory_and_never_returns_the_future(store: FeatureStore) -> None:
    assert store.get_features("A", ["x"]) == {"x": 2.0}
    assert store.get_features("A", ["x"], at=hours(1).to_pydatetime()) == {"x": 1.0}
    assert store.get_features("A", ["x"], at=hours(-1).to_pydatetime()) == {"x": None}
    assert store.get_features("Z", ["x"]) == {"x": None}
    with pytest.raises(ValidationError, match="feature_set"):
        store.get_features("A", ["nope"])


def test_online_get_applies_the_ttl_against_the_clock() -> None:
    clock = SimulatedClock(datetime(2024, 1, 1, 1, tzinfo=UTC))
    s = FeatureStore(None, clock=clock)
    s.create_feature_set("px", ["x"], ttl_seconds=7200)
    s.ingest_frame("px", frame([("A", 0, 1.0)]))
    assert s.get_features("A", ["x"]) == {"x": 1.0}
    clock.advance(timedelta(hours=2, seconds=1))
    assert s.get_features("A", ["x"]) == {"x": None}


def test_store_persists_sets_versions_and_latest_rows(tmp_path: Path) -> None:
    path = tmp_path / "f.duckdb"
    with FeatureStore(path) as s:
        s.create_feature_set("px", ["x"], ttl_seconds=60)
        s.ingest_frame("px", frame([("A", 0, 1.0), ("B", 1, 2.0)]))
        s.backfill("px", frame([("A", 0, 5.0)]))
    with FeatureStore(path, read_only=True) as s:
        assert [f.ref for f in s.feature_sets()] == ["px@v1", "px@v2"]
        assert s.feature_set("px").ttl_seconds == 60
        assert s.get_features("A", ["x"], feature_set="px", version=1) == {"x": 1.0}
        assert s.get_features("A", ["x"]) == {"x": 5.0}
        with pytest.raises(ValidationError, match="read-only"):
            s.ingest_frame("px", frame([("A", 9, 1.0)]))


def test_ingest_events_uses_symbol_and_time() -> None:
    s = FeatureStore(None)
    s.create_feature_set("host", ["ret_0"])
    events = [
        LearningEvent(EventType.SIGNAL_GENERATED, "sig", symbol="NDX", timestamp=hours(i),
                      payload={"features": {"ret_0": float(i), "other": 1.0}})
        for i in range(3)
    ]
    assert s.ingest_events("host", events) == 3
    assert s.get_features("NDX", ["ret_0"]) == {"ret_0": 2.0}


# ---------------------------------------------------------------- property: no lookahead
feature_rows = st.lists(
    st.tuples(st.sampled_from("ABC"), st.integers(0, 200), st.floats(-1e6, 1e6)),
    min_size=0, max_size=60, unique_by=lambda r: (r[0], r[1]))
label_rows = st.lists(st.tuples(st.sampled_from("ABCD"), st.integers(-5, 210)),
                      min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feature_rows, label_rows, st.one_of(st.none(), st.integers(1, 50)))
def test_no_value_stamped_after_its_row_is_ever_returned(
    feats: list[tuple[str, int, float]], rows: list[tuple[str, int]], ttl_minutes: int | None
) -> None:
    s = FeatureStore(None)
    s.create_feature_set("p", ["x"])
    minute = pd.Timedelta(minutes=1)
    if feats:
        s.ingest_frame("p", pd.DataFrame({
            "entity": [f[0] for f in feats], "timestamp": [T0 + f[1] * minute for f in feats],
            "x": [f[2] for f in feats]}))
    q = pd.DataFrame({"entity": [r[0] for r in rows], "timestamp": [T0 + r[1] * minute
                                                                    for r in rows]})
    ttl = None if ttl_minutes is None else ttl_minutes * 60
    out = s.get_historical_features("p", q, ttl=ttl, with_feature_timestamp=True)
    for (entity, t), got, stamp in zip(rows, out["x"], out["feature_timestamp"], strict=True):
        earlier = [f for f in feats if f[0] == entity and f[1] <= t
                   and (ttl_minutes is None or t - f[1] <= ttl_minutes)]
        if pd.notna(stamp):
            assert stamp <= T0 + t * minute  # never after the row
        if not earlier:
            assert np.isnan(got) and pd.isna(stamp)
        else:
            best = max(earlier, key=lambda f: f[1])
            assert got == best[2] and stamp == T0 + best[1] * minute
        online = s.get_features(entity, ["x"], at=(T0 + t * minute).to_pydatetime(),
                                feature_set="p") if entity in "ABC" else {"x": None}
        latest = [f for f in feats if f[0] == entity and f[1] <= t]
        assert online["x"] == (max(latest, key=lambda f: f[1])[2] if latest else None)
