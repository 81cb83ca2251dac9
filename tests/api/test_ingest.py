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


_TEXT = st.sampled_from(["sig", "", "a\x00b", "x" * 300, "SPY"])
_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "event_type": st.sampled_from(["signal_generated", "order_filled", "nope", 5]),
    "source_engine": _TEXT | st.just(7),
    "timestamp": st.datetimes(timezones=st.sampled_from([UTC, None])).map(
        lambda t: t.isoformat()) | st.sampled_from(["yesterday", 5, "0001-01-01T00:00:00+01:00"]),
    "symbol": _TEXT | st.sampled_from([None, 5]),
    "outcome": st.floats(allow_nan=False, allow_infinity=False) | st.integers()
    | st.sampled_from(["high", None, True]),
    "event_id": _TEXT | st.sampled_from([None, 7]),
    "payload": st.dictionaries(st.text(max_size=3), st.floats(allow_nan=False,
                               allow_infinity=False) | st.text(max_size=3), max_size=3)
    | st.sampled_from([[1], None, {"t": "a\x00"}, {"big": "x" * 80}]),
    "labels": st.dictionaries(st.text(max_size=2), st.text(max_size=2) | st.integers(),
                              max_size=2) | st.sampled_from([None, "x", [], {"a": [1]}]),
    "colour": st.just("red"),
}


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional=_FIELD_VALUES),
       st.sets(st.sampled_from(sorted(GOOD))))
def test_the_fast_path_equals_the_field_by_field_checks(
    changes: dict[str, Any], dropped: set[str]
) -> None:
    """rows_from_json tests an event's fields at once and sends anything else to ``_row``:
    for any object the two give the same row (the id aside: new ones are random) or the
    same problems, whether or not its labels were seen before."""
    from ordinis.engines.learning.core.models import EVENT_TYPE_VALUES
    from ordinis.engines.learning.events import json_rows

    now_us = int(NOW.timestamp()) * 1_000_000
    base = {**GOOD, "labels": {"strategy": "m"}, "event_id": "e1"}
    item = {k: v for k, v in {**base, **changes}.items() if k not in dropped}
    for _ in range(2):  # the second time its labels' JSON is remembered
        rows, problems = rows_from_json([item], 64, NOW)
        ref_problems: list[Any] = []
        ref = json_rows._row(0, item, iter(["new-id"]), now_us, 64, EVENT_TYPE_VALUES,
                             ref_problems)
        assert problems == ref_problems
        assert [r[1:] for r in rows] == ([ref[1:]] if ref is not None else [])
        if rows:
            sent = item.get("event_id")
            assert rows[0][0] == (sent if sent else rows[0][0]) and len(rows[0][0]) >= 1


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([orjson.dumps(GOOD), b"{}", b"[1]", b"  ", b"", b"{bad"]),
                max_size=6),
       st.sampled_from([b"\n", b"\r\n", b"\n\n", b"\r"]))
def test_ndjson_is_its_non_blank_lines(lines: list[bytes], sep: bytes) -> None:
    """One parse of the whole body gives the items of its non-blank lines, or names the
    first bad line, whatever the line endings and blank lines."""
    body = sep.join(lines)
    kept = [line for line in body.splitlines() if line.strip()]
    try:
        want: Any = [orjson.loads(line) for line in kept]
    except orjson.JSONDecodeError:
        with pytest.raises(ValidationError) as err:
            decode_batch(body, ndjson=True)
        assert err.value.problems[0].field.startswith("line ")
        return
    assert decode_batch(body, ndjson=True) == want


def test_a_batch_wrapped_in_an_object_is_refused_naming_the_key_and_the_fix() -> None:
    """{"events": [...]} is a common guess; it is refused as a whole, not read as one event
    with an unknown field, and nothing of it is taken."""
    body = orjson.dumps({"events": [GOOD, GOOD]})
    with pytest.raises(ValidationError) as err:
        decode_batch(body, ndjson=False)
    (problem,) = err.value.problems
    assert problem.field == "body" and "'events'" in problem.problem
    assert "send the list itself" in problem.problem
    assert decode_batch(orjson.dumps(GOOD), ndjson=False) == [GOOD]  # one event alone is fine
