"""Batch parsing: JSON arrays and NDJSON give the same rows; bad input names index and field,
and a batch with a bad event gives no rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordinis.engines.learning import ValidationError
from ordinis.engines.learning.api.ingest import decode_batch
from ordinis.engines.learning.events.json_rows import rows_from_json
from ordinis.engines.learning.events.store import EventRow

NOW = datetime(2024, 1, 3, tzinfo=UTC)


def parse_batch(body: bytes, ndjson: bool) -> list[EventRow]:
    """Decode (the API) then encode to rows (the engine), as ``POST /v1/events/batch`` does."""
    rows, problems = rows_from_json(decode_batch(body, ndjson), 1 << 20, NOW)
    if problems:
        raise ValidationError("events", problems)
    return rows

GOOD = {"event_type": "signal_generated", "source_engine": "signal", "symbol": "SPY",
        "timestamp": "2024-01-02T14:30:00+00:00", "payload": {"x": 1.5}, "outcome": 0.01}


def test_json_and_ndjson_agree() -> None:
    rows = [GOOD, {**GOOD, "event_id": "abc", "symbol": None}]
    a = parse_batch(orjson.dumps(rows), ndjson=False)
    b = parse_batch(b"\n".join(orjson.dumps(r) for r in rows) + b"\n", ndjson=True)
    assert [r[1:] for r in a] == [r[1:] for r in b]
    assert a[0][1:] == ("signal_generated", "signal", "SPY", 1704205800000000, '{"x":1.5}',
                        "{}", 0.01)
    assert a[1][0] == "abc" == b[1][0]
    assert a[0][0] != b[0][0] and len(a[0][0]) == 36  # new UUIDv7 ids


def test_defaults_and_number_normalisation() -> None:
    (row,) = parse_batch(orjson.dumps([{"event_type": "order_filled", "source_engine": "x",
                                        "outcome": 2}]), ndjson=False)
    assert row[4] == int(NOW.timestamp() * 1_000_000)  # the engine clock's now
    assert row[7] == 2.0 and type(row[7]) is float and row[5] == "{}"


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({**GOOD, "event_type": "nope"}, "[1].event_type"),
        ({**GOOD, "source_engine": ""}, "[1].source_engine"),
        ({**GOOD, "timestamp": "2024-01-02T14:30:00"}, "[1].timestamp"),
        ({**GOOD, "colour": "red"}, "[1]"),
        ({**GOOD, "timestamp": "yesterday"}, "[1].timestamp"),
        ({**GOOD, "outcome": "high"}, "[1].outcome"),
        ({**GOOD, "payload": [1, 2]}, "[1].payload"),
        ({**GOOD, "labels": {"a": 1}}, "[1].labels"),
        ({**GOOD, "labels": {"a": [1]}}, "[1].labels"),
        ({**GOOD, "symbol": 5}, "[1].symbol"),
        ({**GOOD, "event_id": 7}, "[1].event_id"),
        ({**GOOD, "payload": {"t": "a\u0000b"}}, "[1].payload"),
        (17, "[1]"),
    ],
)
def test_bad_event_names_its_index_and_field(row: Any, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_batch(orjson.dumps([GOOD, row]), ndjson=False)
    assert [p.field for p in err.value.problems] == [field]


def test_bad_ndjson_line_is_named() -> None:
    body = orjson.dumps(GOOD) + b"\n{not json\n"
    with pytest.raises(ValidationError) as err:
        parse_batch(body, ndjson=True)
    assert err.value.problems[0].field == "line 2"


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.booleans())
def test_any_bytes_parse_or_raise_validation_error(body: bytes, ndjson: bool) -> None:
    try:
        rows = parse_batch(body, ndjson)
    except ValidationError:
        return
    assert all(r[2] for r in rows)


def test_service_env_vars_are_not_engine_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from ordinis.engines.learning import LearningEngineConfig

    monkeypatch.setenv("ORDINIS_LEARNING_TOKENS", "{}")
    monkeypatch.setenv("ORDINIS_LEARNING_URL", "http://127.0.0.1:8765")
    monkeypatch.setenv("ORDINIS_LEARNING_TOKEN", "t")
    assert LearningEngineConfig.load().data_dir is not None


def test_a_bad_event_refuses_its_batch_over_http(live: Any) -> None:
    import httpx
    from server_helpers import bearer

    with httpx.Client(base_url=live.url) as c:
        before = c.get("/v1/events/stats", headers=bearer("tok-reader")).json()["total"]
        body = b"\n".join(orjson.dumps(r) for r in (GOOD, {**GOOD, "event_type": "nope"}))
        r = c.post("/v1/events/batch", content=body, headers={
            **bearer("tok-writer"), "Content-Type": "application/x-ndjson"})
        assert r.status_code == 422
        assert [e["field"] for e in r.json()["errors"]] == ["[1].event_type"]
        assert c.get("/v1/events/stats", headers=bearer("tok-reader")).json()["total"] == before
        r = c.post("/v1/events/batch", content=orjson.dumps([GOOD, GOOD]),
                   headers=bearer("tok-writer"))
        assert r.status_code == 201 and r.json() == {
            "accepted": 2, "committed": True, "buffered": False, "event_ids": []}
        after = c.get("/v1/events/stats", headers=bearer("tok-reader")).json()["total"]
        assert after == before + 2
