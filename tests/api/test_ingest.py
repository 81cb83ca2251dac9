"""Batch parsing: JSON arrays and NDJSON give the same events; bad input names index and field."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordinis.engines.learning import EventType, ValidationError
from ordinis.engines.learning.api.ingest import parse_batch

GOOD = {"event_type": "signal_generated", "source_engine": "signal", "symbol": "SPY",
        "timestamp": "2024-01-02T14:30:00+00:00", "payload": {"x": 1.5}, "outcome": 0.01}


def test_json_and_ndjson_agree() -> None:
    rows = [GOOD, {**GOOD, "event_id": "abc", "symbol": None}]
    a = parse_batch(orjson.dumps(rows), ndjson=False)
    b = parse_batch(b"\n".join(orjson.dumps(r) for r in rows) + b"\n", ndjson=True)
    assert [(e.event_type, e.symbol, e.payload, e.outcome) for e in a] == [
        (e.event_type, e.symbol, e.payload, e.outcome) for e in b
    ]
    assert a[0].event_type is EventType.SIGNAL_GENERATED
    assert a[1].event_id == "abc" == b[1].event_id


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({**GOOD, "event_type": "nope"}, "[1].event_type"),
        ({**GOOD, "source_engine": ""}, "[1].source_engine"),
        ({**GOOD, "timestamp": "2024-01-02T14:30:00"}, "[1].timestamp"),
        ({**GOOD, "colour": "red"}, "[1]"),
    ],
)
def test_bad_event_names_its_index_and_field(row: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_batch(orjson.dumps([GOOD, row]), ndjson=False)
    assert [p.field for p in err.value.problems] == [field]


def test_bad_ndjson_line_is_named() -> None:
    body = orjson.dumps(GOOD) + b"\n{not json\n"
    with pytest.raises(ValidationError) as err:
        parse_batch(body, ndjson=True)
    assert err.value.problems[0].field == "line 2"


@given(st.binary(max_size=200), st.booleans())
def test_any_bytes_parse_or_raise_validation_error(body: bytes, ndjson: bool) -> None:
    try:
        events = parse_batch(body, ndjson)
    except ValidationError:
        return
    assert all(e.source_engine for e in events)


def test_service_env_vars_are_not_engine_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from ordinis.engines.learning import LearningEngineConfig

    monkeypatch.setenv("ORDINIS_LEARNING_TOKENS", "{}")
    monkeypatch.setenv("ORDINIS_LEARNING_URL", "http://127.0.0.1:8765")
    monkeypatch.setenv("ORDINIS_LEARNING_TOKEN", "t")
    assert LearningEngineConfig.load().data_dir is not None
