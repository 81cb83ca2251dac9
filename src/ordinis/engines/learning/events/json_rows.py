"""Decoded JSON event objects (the HTTP API's batches) straight to storable EventRows.

The batch path of the service: no LearningEvent per event and no second validation pass. JSON
cannot hold NaN or infinities, so payloads are finite by construction; what is checked is what
a JSON object can get wrong (types, the time, sizes, NUL characters). Every problem names the
event's index and field, and a batch with any bad event yields no rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ordinis.engines.learning.core.errors import FieldProblem
from ordinis.engines.learning.core.ids import new_ids
from ordinis.engines.learning.core.models import EVENT_TYPE_VALUES
from ordinis.engines.learning.events.store import MAX_TS_US, MIN_TS_US, EventRow

FIELDS = frozenset(
    ("event_type", "source_engine", "symbol", "timestamp", "payload", "labels", "outcome",
     "event_id")
)
MAX_PROBLEMS = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_TIME_FIX = "must be an ISO 8601 time with zone, e.g. 2024-01-02T14:30:00Z"
_dumps = orjson.dumps
_LABELS: dict[tuple[tuple[str, str], ...], str] = {}


def rows_from_json(
    items: list[Any], max_payload_bytes: int, now: datetime
) -> tuple[list[EventRow], list[FieldProblem]]:
    """Rows for ``items`` (dicts as JSON decodes them), or the problems (then no rows).

    A missing ``timestamp`` is ``now`` (the engine clock's); a missing ``event_id`` a new
    UUIDv7 (an id the caller sends is its idempotency key). An event as engines send it takes
    one test of every field at once; anything else goes field by field through ``_row``,
    which accepts the same events (and names what is wrong with the others).
    """
    problems: list[FieldProblem] = []
    rows: list[EventRow] = []
    ids = iter(new_ids(sum(1 for d in items if type(d) is not dict or not d.get("event_id"))))
    d_now = now - _EPOCH
    now_us = d_now.days * 86_400_000_000 + d_now.seconds * 1_000_000 + d_now.microseconds
    types = EVENT_TYPE_VALUES
    fields, labels_cache, dumps, parse_ts = FIELDS, _LABELS, _dumps, datetime.fromisoformat
    epoch, one_us, append = _EPOCH, _ONE_US, rows.append
    for i, d in enumerate(items):
        try:
            if type(d) is dict and d.keys() <= fields:
                get = d.get
                et, src, raw_ts, symbol = (
                    get("event_type"), get("source_engine"), get("timestamp"), get("symbol"))
                outcome, eid, payload, labels = (
                    get("outcome"), get("event_id"), get("payload"), get("labels"))
                if (
                    et in types
                    and type(src) is str and src and len(src) <= 256 and "\x00" not in src
                    and type(raw_ts) is str
                    and (symbol is None or (type(symbol) is str and "\x00" not in symbol))
                    and (outcome is None or type(outcome) is float)
                    and (not eid or (type(eid) is str and len(eid) <= 128
                                     and "\x00" not in eid))
                    and type(payload) is dict
                ):
                    ts = parse_ts(raw_ts)
                    raw = dumps(payload)
                    text = raw.decode()
                    if not labels:
                        labels_json: str | None = "{}"
                    elif type(labels) is dict:  # seen before, or checked by _row below
                        labels_json = labels_cache.get(tuple(labels.items()))
                    else:
                        labels_json = None
                    if (
                        ts.tzinfo is not None
                        and len(raw) <= max_payload_bytes and "\\u0000" not in text
                        and labels_json is not None
                    ):
                        ts_us = (ts - epoch) // one_us
                        if MIN_TS_US <= ts_us <= MAX_TS_US:
                            append((eid or next(ids), et, src, symbol, ts_us, text,
                                    labels_json, outcome))
                            continue
        except Exception:  # anything odd is examined field by field below
            pass
        if type(d) is not dict:
            problems.append(FieldProblem(f"[{i}]", type(d).__name__, "must be an event object"))
        else:
            row = _row(i, d, ids, now_us, max_payload_bytes, types, problems)
            if row is not None:
                append(row)
        if len(problems) >= MAX_PROBLEMS:
            break
    return ([] if problems else rows), problems


def _row(
    i: int, d: dict[str, Any], ids: Any, now_us: int, max_payload: int,
    types: frozenset[str], problems: list[FieldProblem],
) -> EventRow | None:
    if not d.keys() <= FIELDS:
        problems.append(FieldProblem(f"[{i}]", sorted(d.keys() - FIELDS),
                                     f"unknown field(s); allowed: {sorted(FIELDS)}"))
        return None
    et = d.get("event_type")
    if et not in types:
        problems.append(FieldProblem(f"[{i}].event_type", et, f"must be one of {sorted(types)}"))
        return None
    src = d.get("source_engine")
    if type(src) is not str or not src or "\x00" in src or len(src) > 256:
        problems.append(FieldProblem(f"[{i}].source_engine", src,
                                     "must be a non-empty string (at most 256 characters)"))
        return None
    ts_us = _ts_us(i, d.get("timestamp"), now_us, problems)
    if ts_us is None:
        return None
    symbol = d.get("symbol")
    if symbol is not None and (type(symbol) is not str or "\x00" in symbol):
        problems.append(FieldProblem(f"[{i}].symbol", symbol, "must be a string or null"))
        return None
    outcome = d.get("outcome")
    if outcome is not None:
        if type(outcome) is int:
            outcome = float(outcome)
        elif type(outcome) is not float:
            problems.append(FieldProblem(f"[{i}].outcome", outcome, "must be a number or null"))
            return None
    eid = d.get("event_id")
    if not eid:
        eid = next(ids)
    elif type(eid) is not str or len(eid) > 128 or "\x00" in eid:
        problems.append(FieldProblem(f"[{i}].event_id", eid,
                                     "must be a string id (at most 128 characters)"))
        return None
    payload = d.get("payload")
    if payload is None:
        text = "{}"
    elif type(payload) is not dict:
        problems.append(FieldProblem(f"[{i}].payload", type(payload).__name__,
                                     "must be a JSON object"))
        return None
    else:
        raw = _dumps(payload)
        text = raw.decode()
        if len(raw) > max_payload or ("\\" in text and "\\u0000" in text):
            why = (f"is {len(raw)} bytes; at most {max_payload}" if len(raw) > max_payload
                   else "must not contain NUL characters")
            problems.append(FieldProblem(f"[{i}].payload", None, why))
            return None
    labels = d.get("labels")
    labels_json = _labels_json(labels) if labels else "{}"
    if labels_json is None:
        problems.append(FieldProblem(f"[{i}].labels", labels,
                                     "must be an object of strings to strings"))
        return None
    return (eid, et, src, symbol, ts_us, text, labels_json, outcome)


def _ts_us(i: int, raw: Any, now_us: int, problems: list[FieldProblem]) -> int | None:
    if raw is None:
        return now_us
    try:
        ts = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        problems.append(FieldProblem(f"[{i}].timestamp", raw, _TIME_FIX))
        return None
    if ts.tzinfo is None:
        problems.append(FieldProblem(f"[{i}].timestamp", raw,
                                     "must carry a time zone (add Z for UTC)"))
        return None
    d = ts - _EPOCH
    us = d.days * 86_400_000_000 + d.seconds * 1_000_000 + d.microseconds
    if not MIN_TS_US <= us <= MAX_TS_US:
        problems.append(FieldProblem(f"[{i}].timestamp", raw,
                                     "is out of the storable range (years 1 to 9999 UTC)"))
        return None
    return us


def _labels_json(labels: Any) -> str | None:
    """JSON of str-to-str labels (remembered: labels repeat), None when not str-to-str."""
    if type(labels) is not dict:
        return None
    key = tuple(labels.items())
    try:
        text = _LABELS.get(key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable value (a list): not a label
        return None
    if text is not None:
        return text
    for k, v in key:
        if type(v) is not str or "\x00" in k or "\x00" in v:
            return None
    text = _dumps(labels).decode()
    if len(_LABELS) >= 4096:
        _LABELS.clear()
    _LABELS[key] = text
    return text
