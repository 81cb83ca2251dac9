"""build_signal_dataset: rows from real market events, drops counted, clear refusal when too few."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.errors import InsufficientDataError
from ordinis.engines.learning.core.models import EventType, LearningEvent, TrainingJob
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.training.dataset import (
    build_signal_dataset,
    events_dataset_builder,
    validate_dataset_config,
)


def test_dataset_from_market_events(market_events: list[LearningEvent],
                                    feature_names: tuple[str, ...]) -> None:
    ds = build_signal_dataset(market_events, min_samples=100)
    assert list(ds.X.columns) == list(feature_names)
    assert len(ds.X) == len(ds.y) == len(ds.timestamps) == len(ds.symbols)
    # Early rows (no 60-day history) and the last day (no outcome) are dropped and counted.
    assert ds.n_dropped == len(market_events) - ds.n_samples
    assert ds.drop_reasons["missing or non-finite features"] >= 3 * 59
    assert ds.drop_reasons["no finite outcome (realised next return)"] == 3
    assert ds.timestamps.is_monotonic_increasing
    assert ds.window_start == ds.timestamps.iloc[0].to_pydatetime()
    assert ds.window_end == ds.timestamps.iloc[-1].to_pydatetime()
    assert set(ds.symbols) == {"AAPL", "JPM", "XOM"}
    assert ds.X.notna().all().all()
    assert ds.feature_set == "bar_features"
    assert len(ds.fingerprint()) == 64


def test_insufficient_data_message_says_counts_and_which_events(
    market_events: list[LearningEvent],
) -> None:
    usable = build_signal_dataset(market_events, min_samples=1).n_samples
    with pytest.raises(InsufficientDataError) as err:
        build_signal_dataset(market_events, min_samples=usable + 1)
    msg = str(err.value)
    assert f"{usable} usable samples" in msg
    assert f"at least {usable + 1} needed" in msg
    assert "SIGNAL_GENERATED" in msg and "payload['features']" in msg and "outcome" in msg
    assert "missing or non-finite features" in msg


def test_other_event_types_and_missing_payload_are_not_rows() -> None:
    t0 = datetime(2021, 1, 4, tzinfo=UTC)
    good = {"a": 1.0, "b": 2.0}
    events = [
        LearningEvent(EventType.SIGNAL_GENERATED, "e", "X", t0, {"features": good}, outcome=0.01),
        LearningEvent(EventType.ORDER_FILLED, "e", "X", t0, {"features": good}, outcome=0.01),
        LearningEvent(EventType.SIGNAL_GENERATED, "e", "X", t0, {}, outcome=0.01),
        LearningEvent(EventType.SIGNAL_GENERATED, "e", "X", t0, {"features": {"a": 1.0}},
                      outcome=0.01),
        LearningEvent(EventType.SIGNAL_GENERATED, "e", "X", t0, {"features": good}, outcome=None),
        LearningEvent(EventType.SIGNAL_GENERATED, "e", "X", t0,
                      {"features": {"a": "1", "b": 2.0}}, outcome=0.02),
    ]
    ds = build_signal_dataset(events, min_samples=1, feature_names=("a", "b"))
    assert ds.n_samples == 1
    assert ds.drop_reasons == {
        "not a SIGNAL_GENERATED event": 1,
        "no payload['features'] mapping": 1,
        "missing or non-finite features": 2,
        "no finite outcome (realised next return)": 1,
    }


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50),
                          st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
                          st.floats(-0.1, 0.1)), max_size=40))
def test_rows_are_exactly_the_finite_ones_in_time_order(
    rows: list[tuple[int, float | None, float]],
) -> None:
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    events = [
        LearningEvent(EventType.SIGNAL_GENERATED, "e", "S", t0 + timedelta(days=d),
                      {"features": {"f": f}}, outcome=y)
        for d, f, y in rows
    ]
    expected = sorted(
        (t0 + timedelta(days=d), y) for d, f, y in rows if f is not None and math.isfinite(f)
    )
    ds = build_signal_dataset(events, min_samples=0, feature_names=("f",))
    assert ds.n_samples == len(expected)
    assert ds.n_dropped == len(rows) - len(expected)
    assert [t.to_pydatetime() for t in ds.timestamps] == [t for t, _ in expected]
    assert ds.timestamps.is_monotonic_increasing


def test_events_dataset_builder_reads_the_store(
    tmp_path: object, market_events: list[LearningEvent]
) -> None:
    store = SQLiteEventStore(f"sqlite:///{tmp_path}/e.db")
    store.open()
    try:
        store.append_events([encode_event(e, 64 * 1024) for e in market_events])
        build = events_dataset_builder(store, min_samples=50)
        job = TrainingJob("j", "m", "signal", config={"symbols": ["AAPL"],
                                                      "start": "2022-06-01T00:00:00+00:00"})
        ds = build(job)
        assert set(ds.symbols) == {"AAPL"}
        assert ds.window_start is not None
        assert ds.window_start >= datetime(2022, 6, 1, tzinfo=UTC)
        too_many = TrainingJob("j2", "m", "signal", config={"min_samples": 10**6})
        with pytest.raises(InsufficientDataError, match="at least 1000000 needed"):
            build(too_many)
    finally:
        store.close()


def test_dataset_config_problems_name_the_field() -> None:
    problems = validate_dataset_config(
        {"min_samples": 0, "start": "yesterday", "symbols": "AAPL", "source_engine": 3})
    fields = {p.field for p in problems}
    assert fields == {"config.min_samples", "config.start", "config.symbols",
                      "config.source_engine"}
    assert validate_dataset_config({"min_samples": 5, "end": "2020-01-01T00:00:00"}) == []
