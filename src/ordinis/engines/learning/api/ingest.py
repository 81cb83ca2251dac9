"""Fast parsing of event batches (JSON array or NDJSON) with orjson, without pydantic per event.

Every problem names the event's index and field; nothing is recorded when any event is bad.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from ordinis.engines.learning import EventType, FieldProblem, LearningEvent, ValidationError

_TYPES = {t.value: t for t in EventType}
_FIELDS = frozenset(
    ("event_type", "source_engine", "symbol", "timestamp", "payload", "labels", "outcome",
     "event_id")
)
MAX_BATCH = 100_000


def parse_batch(body: bytes, ndjson: bool) -> list[LearningEvent]:
    """Events of a request body; ValidationError lists every bad field with its index."""
    if ndjson:
        lines = [line for line in body.splitlines() if line.strip()]
        try:  # one parse of the whole batch; on failure find the bad line for the message
            items: Any = orjson.loads(b"[" + b",".join(lines) + b"]")
        except orjson.JSONDecodeError:
            _raise_bad_line(lines)
    else:
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValidationError("events", [FieldProblem(
                "body", body[:60].decode("utf-8", "replace"),
                f"is not JSON ({exc}); send a JSON array of events or NDJSON "
                "(Content-Type: application/x-ndjson)")]) from None
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise ValidationError("events", [FieldProblem(
                "body", type(items).__name__, "must be a JSON array of event objects")])
    if len(items) > MAX_BATCH:
        raise ValidationError("events", [FieldProblem(
            "body", len(items), f"has more than {MAX_BATCH} events; split the batch")])
    problems: list[FieldProblem] = []
    events: list[LearningEvent] = []
    for i, item in enumerate(items):
        ev = _event(i, item, problems)
        if ev is not None:
            events.append(ev)
        if len(problems) >= 20:
            break
    if problems:
        raise ValidationError("events", problems)
    return events


def _raise_bad_line(lines: list[bytes]) -> None:
    for n, line in enumerate(lines):
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ValidationError("events", [FieldProblem(
                f"line {n + 1}", line[:60].decode("utf-8", "replace"),
                f"is not JSON ({exc}); send one JSON object per line")]) from None
    raise ValidationError("events", [FieldProblem(
        "body", None, "is not NDJSON; send one JSON object per line")])


def _event(i: int, d: Any, problems: list[FieldProblem]) -> LearningEvent | None:
    if not isinstance(d, dict):
        problems.append(FieldProblem(f"[{i}]", type(d).__name__, "must be an event object"))
        return None
    if not d.keys() <= _FIELDS:
        extra = d.keys() - _FIELDS
        problems.append(FieldProblem(f"[{i}]", sorted(extra), f"unknown field(s); allowed: "
                                     f"{sorted(_FIELDS)}"))
        return None
    et = _TYPES.get(d.get("event_type"))  # type: ignore[arg-type]
    if et is None:
        problems.append(FieldProblem(f"[{i}].event_type", d.get("event_type"),
                                     f"must be one of {sorted(_TYPES)}"))
        return None
    src = d.get("source_engine")
    if not isinstance(src, str) or not src:
        problems.append(FieldProblem(f"[{i}].source_engine", src, "must be a non-empty string"))
        return None
    ts_raw = d.get("timestamp")
    if ts_raw is None:
        ts = datetime.now(UTC)
    else:
        try:
            ts = datetime.fromisoformat(ts_raw)
        except (TypeError, ValueError):
            problems.append(FieldProblem(f"[{i}].timestamp", ts_raw,
                                         "must be an ISO 8601 time with zone, e.g. "
                                         "2024-01-02T14:30:00Z"))
            return None
        if ts.tzinfo is None:
            problems.append(FieldProblem(f"[{i}].timestamp", ts_raw,
                                         "must carry a time zone (add Z for UTC)"))
            return None
    payload = d.get("payload") or {}
    labels = d.get("labels") or {}
    outcome = d.get("outcome")
    symbol = d.get("symbol")
    eid = d.get("event_id")
    if (not isinstance(payload, dict) or not isinstance(labels, dict)
            or (outcome is not None and not isinstance(outcome, int | float))
            or (symbol is not None and not isinstance(symbol, str))
            or (eid is not None and not isinstance(eid, str))):
        problems.append(FieldProblem(f"[{i}]", None, "payload and labels must be objects, "
                                     "outcome a number, symbol and event_id strings"))
        return None
    out = None if outcome is None else float(outcome)
    if eid:
        return LearningEvent(et, src, symbol, ts, payload, labels, out, eid)
    return LearningEvent(et, src, symbol, ts, payload, labels, out)
