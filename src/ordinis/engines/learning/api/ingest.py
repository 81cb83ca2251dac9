"""Decoding of event batches (JSON array or NDJSON) with orjson, in one call per batch.

What the events say is checked where they become store rows (``record_json_events``), with
each problem naming the event's index and field; here only the body's format is.
"""

from __future__ import annotations

from typing import Any

import orjson

from ordinis.engines.learning import FieldProblem, ValidationError

MAX_BATCH = 100_000


def decode_batch(body: bytes, ndjson: bool) -> list[Any]:
    """The decoded items of a request body; ValidationError names a bad line or the body."""
    if ndjson:
        try:  # one parse of the whole batch, lines joined by commas (no copy per line)
            items: Any = orjson.loads(b"[" + body.strip().replace(b"\n", b",") + b"]")
        except orjson.JSONDecodeError:  # blank lines, or a bad line to name in the message
            lines = [line for line in body.splitlines() if line.strip()]
            try:
                items = orjson.loads(b"[" + b",".join(lines) + b"]")
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
    if len(items) == 1:
        _refuse_a_wrapper(items[0])
    if len(items) > MAX_BATCH:
        raise ValidationError("events", [FieldProblem(
            "body", len(items), f"has more than {MAX_BATCH} events; split the batch")])
    return list(items)


def _refuse_a_wrapper(item: Any) -> None:
    """``{"events": [...]}`` is a common guess at the format: refuse it as a whole, naming
    the key and the fix, rather than as one event with an unknown field."""
    if not isinstance(item, dict) or "event_type" in item:
        return
    wrapped = [k for k, v in item.items() if isinstance(v, list)]
    if wrapped:
        raise ValidationError("events", [FieldProblem(
            "body", f"{{{wrapped[0]!r}: [...]}}",
            f"is an object holding a list under {wrapped[0]!r}; send the list itself (a JSON "
            "array of events) or NDJSON, one event per line (Content-Type: "
            "application/x-ndjson)")])


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
