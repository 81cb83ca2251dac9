"""encode_event: every bad field is refused with its name and a fix; good events serialise once."""

from __future__ import annotations

import enum
import gc
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import orjson
import pandas as pd
import pytest
from event_helpers import T0, make_event
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.errors import InvalidEventError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.store import (
    ROW_EVENT_ID,
    ROW_EVENT_TYPE,
    ROW_LABELS,
    ROW_OUTCOME,
    ROW_PAYLOAD,
    ROW_SOURCE_ENGINE,
    ROW_SYMBOL,
    ROW_TS_US,
)

MAX = 64 * 1024


def _problem_fields(exc: InvalidEventError) -> list[str]:
    return [p.field for p in exc.problems]


def test_canonical_event_serialises_to_a_row() -> None:
    ev = make_event(1, timestamp=T0 + timedelta(microseconds=7))
    row = encode_event(ev, MAX)
    assert row[ROW_EVENT_ID] == ev.event_id
    assert row[ROW_EVENT_TYPE] == "signal_generated"
    assert row[ROW_SOURCE_ENGINE] == "signal_engine"
    assert row[ROW_SYMBOL] == "AAPL"
    assert row[ROW_TS_US] == round(T0.timestamp() * 1e6) + 7
    assert json.loads(row[ROW_PAYLOAD]) == ev.payload
    assert json.loads(row[ROW_LABELS]) == {"strategy": "momentum"}
    assert row[ROW_OUTCOME] == ev.outcome


def test_accepted_variants_are_normalised() -> None:
    eastern = timezone(timedelta(hours=-5))
    ev = make_event(
        event_type="order_filled",  # one of the EventType string values
        outcome=3,  # an int outcome becomes a float
        timestamp=datetime(2020, 1, 2, 9, 30, tzinfo=eastern),  # any aware zone
        payload={"when": T0, "side": EventType.ORDER_FILLED, "arr": np.array([1.5, 2.0]),
                 "f32": np.float32(0.5), "none": None},
        labels={},
    )
    row = encode_event(ev, MAX)
    assert row[ROW_EVENT_TYPE] == "order_filled"
    assert row[ROW_OUTCOME] == 3.0 and isinstance(row[ROW_OUTCOME], float)
    assert row[ROW_TS_US] == round(datetime(2020, 1, 2, 14, 30, tzinfo=UTC).timestamp() * 1e6)
    assert json.loads(row[ROW_PAYLOAD]) == {
        "when": T0.isoformat(), "side": "order_filled", "arr": [1.5, 2.0], "f32": 0.5,
        "none": None,
    }
    assert row[ROW_LABELS] == "{}"
    pandas_ts = encode_event(make_event(timestamp=pd.Timestamp("2020-01-02 14:30", tz="UTC")), MAX)
    assert pandas_ts[ROW_TS_US] == round(T0.timestamp() * 1e6)


def test_naive_timestamp_is_refused_with_the_fix() -> None:
    with pytest.raises(InvalidEventError) as err:
        encode_event(make_event(timestamp=datetime(2020, 1, 2, 14, 30)), MAX)
    assert _problem_fields(err.value) == ["timestamp"]
    assert "timestamp must be timezone-aware (UTC), e.g. datetime.now(timezone.utc)" in str(
        err.value
    )


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"event_type": "signal"}, "event_type", "EventType"),
        ({"event_type": 3}, "event_type", "EventType"),
        ({"source_engine": ""}, "source_engine", "non-empty"),
        ({"source_engine": None}, "source_engine", "non-empty"),
        ({"symbol": 42}, "symbol", "string"),
        ({"timestamp": "2020-01-02"}, "timestamp", "datetime"),
        ({"outcome": math.nan}, "outcome", "finite"),
        ({"outcome": math.inf}, "outcome", "finite"),
        ({"outcome": "0.1"}, "outcome", "finite float"),
        ({"outcome": True}, "outcome", "finite float"),
        ({"event_id": ""}, "event_id", "non-empty"),
        ({"labels": {"k": 1}}, "labels['k']", "str to str"),
        ({"labels": ["a"]}, "labels", "dict"),
        ({"payload": [1, 2]}, "payload", "dict"),
        ({"payload": {"x": object()}}, "payload.x", "not JSON-serialisable"),
        ({"payload": {"a": {"b": [1.0, math.nan]}}}, "payload.a.b[1]", "finite"),
        ({"payload": {"a": -math.inf}}, "payload.a", "finite"),
        ({"payload": {"a": np.float64(math.nan)}}, "payload.a", "finite"),
        ({"payload": {1: "int key"}}, "payload[1]", "keys must be strings"),
        ({"payload": {"s": "nul\x00byte"}}, "payload.s", "NUL"),
        ({"source_engine": "a\x00b"}, "source_engine", "NUL"),
    ],
)
def test_each_bad_field_is_named(overrides: dict, field: str, words: str) -> None:
    with pytest.raises(InvalidEventError) as err:
        encode_event(make_event(**overrides), MAX)
    assert _problem_fields(err.value) == [field]
    assert words in str(err.value)


def test_dataclass_payload_value_gets_a_hint() -> None:
    @dataclass
    class Point:
        x: float

    with pytest.raises(InvalidEventError, match=r"dataclasses\.asdict"):
        encode_event(make_event(payload={"p": Point(1.0)}), MAX)


def test_oversize_payload_is_refused_with_its_size() -> None:
    with pytest.raises(InvalidEventError) as err:
        encode_event(make_event(payload={"blob": "x" * 2000}), 1024)
    assert _problem_fields(err.value) == ["payload"]
    assert "max_payload_bytes=1024" in str(err.value)
    # exactly at the limit is fine
    payload = {"blob": "x" * (1024 - len('{"blob":""}'))}
    assert len(encode_event(make_event(payload=payload), 1024)[ROW_PAYLOAD]) == 1024


def test_every_problem_is_listed_at_once() -> None:
    bad = LearningEvent(
        event_type="nope",  # type: ignore[arg-type]
        source_engine="",
        timestamp=datetime(2020, 1, 1),
        outcome=math.nan,
        payload={"v": math.nan},
    )
    with pytest.raises(InvalidEventError) as err:
        encode_event(bad, MAX)
    assert _problem_fields(err.value) == [
        "event_type", "source_engine", "timestamp", "outcome", "payload.v",
    ]


def test_not_an_event_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="LearningEvent"):
        encode_event({"event_type": "signal_generated"}, MAX)  # type: ignore[arg-type]


class _Color(enum.Enum):
    RED = "red"


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
)
_json_values = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=8), _json_values, max_size=6))
def test_any_json_payload_round_trips(payload: dict) -> None:
    row = encode_event(make_event(payload=payload), 10**7)
    assert orjson.loads(row[ROW_PAYLOAD]) == payload


@settings(max_examples=200, deadline=None)
@given(
    payload=st.dictionaries(st.text(max_size=8), _json_values, max_size=6),
    bad=st.sampled_from([math.nan, math.inf, -math.inf]),
    key=st.text(min_size=1, max_size=5),
)
def test_a_non_finite_float_anywhere_is_refused(payload: dict, bad: float, key: str) -> None:
    payload = {"outer": [payload, {key: bad}]}
    with pytest.raises(InvalidEventError) as err:
        encode_event(make_event(payload=payload), 10**7)
    assert err.value.problems[0].field == f"payload.outer[1].{key}"


@settings(max_examples=300, deadline=None)
@given(
    ts=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9000, 1, 1)),
    offset_min=st.integers(-23 * 60, 23 * 60),
)
def test_timestamp_is_stored_to_the_exact_microsecond(ts: datetime, offset_min: int) -> None:
    from ordinis.engines.learning.events.store import from_us

    aware = ts.replace(tzinfo=timezone(timedelta(minutes=offset_min)))
    row = encode_event(make_event(timestamp=aware), MAX)
    exact = (aware - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert row[ROW_TS_US] == exact  # float seconds would drift by several µs in year 9000
    assert from_us(row[ROW_TS_US]) == aware


def test_labels_are_encoded_from_their_current_items() -> None:
    labels = {"strategy": "momentum", "model": "v1"}
    first = encode_event(make_event(labels=labels), MAX)
    labels["model"] = "v2"  # same dict, new value: must not reuse the first encoding
    second = encode_event(make_event(labels=labels), MAX)
    assert json.loads(first[ROW_LABELS]) == {"strategy": "momentum", "model": "v1"}
    assert json.loads(second[ROW_LABELS]) == {"strategy": "momentum", "model": "v2"}
    # a non-str value that follows an accepted str one is still refused, naming the key
    with pytest.raises(InvalidEventError) as err:
        encode_event(make_event(labels={"strategy": "momentum", "model": 2}), MAX)
    assert _problem_fields(err.value) == ["labels['model']"]
    with pytest.raises(InvalidEventError):
        encode_event(make_event(labels={"strategy": "momentum", "model": "a\x00b"}), MAX)


def test_encoded_rows_leave_the_garbage_collector_alone() -> None:
    """Rows are plain tuples of atoms, which CPython untracks at its next collection.

    A tuple subclass (NamedTuple) stays tracked, is promoted to the oldest generation while
    buffered and sets off full collections over the host's whole heap (~20% of throughput).
    """
    fast = [encode_event(make_event(i), MAX) for i in range(100)]
    slow = [  # int outcome and numpy payload: the field-by-field path
        encode_event(make_event(i, outcome=i, payload={"x": np.float32(i)}), MAX)
        for i in range(100)
    ]
    gc.collect()
    assert [type(r) for r in fast + slow] == [tuple] * 200
    assert not any(gc.is_tracked(r) for r in fast + slow)
