"""Validate and serialise a LearningEvent once, at record time, into a storable EventRow.

This is the hot path of ``record_event``: the common case (canonical types, finite floats)
takes one branch and one orjson call; anything unusual falls to a thorough second pass that
either normalises the value (a string event type, an int outcome, a pandas Timestamp) or
raises one InvalidEventError listing every problem with its field, value and fix.
"""

from __future__ import annotations

import enum
import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import is_dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from ordinis.engines.learning.core.errors import FieldProblem, InvalidEventError
from ordinis.engines.learning.core.models import EVENT_TYPE_VALUES, EventType, LearningEvent
from ordinis.engines.learning.events.store import MAX_TS_US, MIN_TS_US, EventRow, to_us

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Dataclasses go to the slow path (refused there with a hint) so both paths accept the same.
_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATACLASS
_MAX_DEPTH = 64
_NAIVE_FIX = "timestamp must be timezone-aware (UTC), e.g. datetime.now(timezone.utc)"
_dumps = orjson.dumps


def encode_event(event: LearningEvent, max_payload_bytes: int) -> EventRow:
    """Validate ``event`` and serialise it once; raises InvalidEventError naming every bad field."""
    try:
        ts = event.timestamp
        outcome = event.outcome
        source = event.source_engine
        symbol = event.symbol
        labels = event.labels
        event_id = event.event_id
        event_type = event.event_type
        if (
            type(event_type) is EventType
            and type(source) is str
            and source
            and (symbol is None or (type(symbol) is str and "\x00" not in symbol))
            and type(ts) is datetime
            and ts.tzinfo is not None
            and (outcome is None or (type(outcome) is float and outcome - outcome == 0.0))
            and type(event_id) is str
            and event_id
            and type(labels) is dict
        ):
            labels_json = _LABELS_JSON.get(tuple(labels.items())) if labels else "{}"
            if labels_json is None:
                labels_json = _labels_json(labels)
            payload = event.payload
            raw = _dumps(payload, option=_ORJSON_OPTIONS)
            text = raw.decode()  # orjson writes UTF-8; str searches beat bytes ones
            # orjson writes NaN/Infinity as null: when a null shows up, look for a
            # non-finite float before accepting (a real None is fine).
            if (
                labels_json is not None
                and type(payload) is dict
                and len(raw) <= max_payload_bytes
                and ("null" not in text or _all_finite(payload, 0))
                and ("\\" not in text or "\\u0000" not in text)  # one-char search first
                and "\x00" not in source
            ):
                d = ts - _EPOCH  # exact µs, and a bad tzinfo raises here
                ts_us = d.days * 86_400_000_000 + d.seconds * 1_000_000 + d.microseconds
                if MIN_TS_US <= ts_us <= MAX_TS_US:
                    return (
                        event_id,
                        event_type._value_,
                        source,
                        symbol,
                        ts_us,
                        text,
                        labels_json,
                        outcome,
                    )
    except Exception:  # anything odd is examined field by field below
        pass
    return _encode_slow(event, max_payload_bytes)


# Labels repeat (strategy, model, ...): their JSON is kept by their items, so the common case
# is one tuple and one dict lookup. Only all-str, NUL-free labels are ever kept.
_LABELS_JSON: dict[tuple[tuple[str, str], ...], str] = {}
_LABELS_JSON_MAX = 4096


def _labels_json(labels: dict[str, str]) -> str | None:
    """JSON text of str-to-str ``labels`` (remembered), or None for the thorough pass."""
    for k, v in labels.items():
        if type(k) is not str or type(v) is not str or "\x00" in k or "\x00" in v:
            return None
    text: str = _dumps(labels).decode()
    if len(_LABELS_JSON) >= _LABELS_JSON_MAX:
        _LABELS_JSON.clear()
    _LABELS_JSON[tuple(labels.items())] = text
    return text


def _all_finite(value: Any, depth: int) -> bool:
    """True when no float inside ``value`` is NaN or infinite (plain containers only)."""
    if depth > _MAX_DEPTH:
        return False
    if type(value) is float:
        return value - value == 0.0
    if type(value) is dict:
        return all(_all_finite(v, depth + 1) for v in value.values())
    if type(value) is list or type(value) is tuple:
        return all(_all_finite(v, depth + 1) for v in value)
    # anything else (numpy, subclasses) is left to the thorough pass
    return value is None or type(value) is str or type(value) is int or type(value) is bool


# ---------------------------------------------------------------------------- the thorough pass


def _encode_slow(event: Any, max_payload_bytes: int) -> EventRow:
    """Check every field, normalise accepted variants, and raise listing all problems."""
    if not isinstance(event, LearningEvent):
        raise InvalidEventError(
            "event",
            [FieldProblem("event", _short(event), "must be a LearningEvent instance")],
        )
    problems: list[FieldProblem] = []

    event_type = event.event_type
    type_value: str = ""
    if isinstance(event_type, EventType):
        type_value = event_type.value
    elif type(event_type) is str and event_type in EVENT_TYPE_VALUES:
        type_value = event_type
    else:
        problems.append(
            FieldProblem(
                "event_type", _short(event_type),
                "must be an EventType (or one of its string values), e.g. "
                "EventType.SIGNAL_GENERATED; known: " + ", ".join(sorted(EVENT_TYPE_VALUES)),
            )
        )

    source = event.source_engine
    if not isinstance(source, str) or not source.strip():
        problems.append(
            FieldProblem(
                "source_engine", _short(source),
                "must be a non-empty string naming the emitting engine, e.g. 'signal_engine'",
            )
        )
    elif "\x00" in source:
        problems.append(FieldProblem("source_engine", _short(source), _NUL_FIX))

    symbol = event.symbol
    if symbol is not None and not isinstance(symbol, str):
        problems.append(
            FieldProblem("symbol", _short(symbol), "must be a string such as 'AAPL', or None")
        )
    elif symbol is not None and "\x00" in symbol:
        problems.append(FieldProblem("symbol", _short(symbol), _NUL_FIX))

    ts = event.timestamp
    ts_us = 0
    if not isinstance(ts, datetime):
        problems.append(
            FieldProblem("timestamp", _short(ts), "must be a datetime; " + _NAIVE_FIX)
        )
    elif ts.tzinfo is None or ts.utcoffset() is None:
        problems.append(FieldProblem("timestamp", ts, _NAIVE_FIX))
    else:
        ts_us = to_us(ts)
        if not MIN_TS_US <= ts_us <= MAX_TS_US:
            problems.append(
                FieldProblem(
                    "timestamp", ts.isoformat(),
                    "is outside the representable UTC range 0001-01-01T00:00:00Z .. "
                    "9999-12-31T23:59:59.999999Z once converted to UTC (stored events must be "
                    "readable back as datetimes); check the value and its UTC offset",
                )
            )

    outcome = event.outcome
    outcome_value: float | None = None
    if outcome is not None:
        numeric = isinstance(outcome, int | float) or _is_np_real(outcome)
        if isinstance(outcome, bool) or not numeric:
            problems.append(
                FieldProblem("outcome", _short(outcome), "must be a finite float or None")
            )
        elif not math.isfinite(float(outcome)):
            problems.append(
                FieldProblem(
                    "outcome", outcome,
                    "must be finite (NaN and infinity cannot be stored); use None when unknown",
                )
            )
        else:
            outcome_value = float(outcome)

    event_id = event.event_id
    if not isinstance(event_id, str) or not event_id:
        problems.append(
            FieldProblem(
                "event_id", _short(event_id),
                "must be a non-empty string; leave it out to get a new UUIDv7",
            )
        )

    labels_json = "{}"
    labels = event.labels
    if not isinstance(labels, dict):
        problems.append(
            FieldProblem("labels", _short(labels), "must be a dict of str to str, e.g. {}")
        )
    else:
        bad = [
            (k, v) for k, v in labels.items() if not isinstance(k, str) or not isinstance(v, str)
        ]
        if bad:
            k, v = bad[0]
            problems.append(
                FieldProblem(
                    f"labels[{k!r}]", _short(v),
                    "labels must map str to str; convert the value with str() or move it "
                    "into payload",
                )
            )
        elif any("\x00" in k or "\x00" in v for k, v in labels.items()):
            problems.append(FieldProblem("labels", _short(labels), _NUL_FIX))
        elif labels:
            labels_json = json.dumps(labels, separators=(",", ":"), ensure_ascii=False)

    payload_json = "{}"
    payload = event.payload
    if not isinstance(payload, dict):
        problems.append(
            FieldProblem("payload", _short(payload), "must be a dict of JSON-serialisable values")
        )
    else:
        problem = next(_payload_problems(payload, "payload", 0), None)
        if problem is not None:
            problems.append(problem)
        else:
            payload_json = json.dumps(
                payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                default=_to_json,
            )
            size = len(payload_json.encode("utf-8"))
            if size > max_payload_bytes:
                problems.append(
                    FieldProblem(
                        "payload", f"<{size} bytes serialised>",
                        f"is larger than max_payload_bytes={max_payload_bytes}; store large "
                        "objects elsewhere and put a reference in the payload, or raise "
                        "max_payload_bytes",
                    )
                )

    if problems:
        raise InvalidEventError(f"event {_short(event_id)!r}", problems)
    return (
        str(event_id), type_value, str(source), symbol, ts_us, payload_json, labels_json,
        outcome_value,
    )


_NUL_FIX = "must not contain the NUL character \\x00 (PostgreSQL cannot store it)"


def _payload_problems(value: Any, path: str, depth: int) -> Iterator[FieldProblem]:
    """Yield what makes ``value`` unstorable as JSON, with the path to it."""
    if depth > _MAX_DEPTH:
        yield FieldProblem(path, "<nested>", f"is nested deeper than {_MAX_DEPTH} levels "
                           "(a reference cycle?); flatten it")
        return
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, str):
        if "\x00" in value:
            yield FieldProblem(path, _short(value), _NUL_FIX)
        elif not _utf8_ok(value):
            yield FieldProblem(path, _short(value), "is not valid Unicode (lone surrogate)")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            yield FieldProblem(
                path, value,
                "must be finite: NaN and infinity are not JSON (PostgreSQL JSONB refuses "
                "them); use None for a missing value",
            )
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                yield FieldProblem(
                    f"{path}[{k!r}]", _short(k), "payload keys must be strings; use str(key)"
                )
                return
            yield from _payload_problems(v, f"{path}.{k}", depth + 1)
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _payload_problems(v, f"{path}[{i}]", depth + 1)
        return
    if isinstance(value, datetime | date | uuid.UUID | enum.Enum):
        return
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalar or array
        yield from _payload_problems(value.tolist(), path, depth + 1)
        return
    hint = " (convert it with dataclasses.asdict)" if is_dataclass(value) else ""
    yield FieldProblem(
        path, _short(value),
        f"a {type(value).__name__} is not JSON-serialisable{hint}; use str, int, float, bool, "
        "None, list or dict",
    )


def _to_json(obj: Any) -> Any:
    """json.dumps default for the extra types the payload check accepts."""
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _is_np_real(value: object) -> bool:
    return hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "fiu"  # type: ignore[attr-defined]


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(value: object, limit: int = 80) -> object:
    """The value itself when small, else a truncated repr (messages stay readable)."""
    if isinstance(value, str | int | float | bool) or value is None:
        if isinstance(value, str) and len(value) > limit:
            return value[:limit] + "..."
        return value
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
