"""The event store protocol: events (the hot path), typed records and the append-only audit table.

Stores are synchronous; the pipeline and the engine call them from a worker thread. SQLite is
the embedded default, PostgreSQL the store at scale; both pass
``tests/events/test_store_contract.py``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol, TypeAlias, runtime_checkable

import orjson

from ordinis.engines.learning.core.models import (
    AuditRecord,
    EventType,
    LearningEvent,
    StoredRecord,
)

EventRow: TypeAlias = tuple[str, str, str, str | None, int, str, str, float | None]
"""An event already validated and serialised, ready for a batch insert: the values of
EVENT_ROW_FIELDS in that order (index with the ROW_* positions below).

A plain tuple on purpose. CPython's cycle collector stops tracking a tuple that holds only
str/int/float/None at the first collection it survives, but never a tuple subclass such as a
NamedTuple: buffered NamedTuple rows were promoted to the oldest generation and set off full
collections that walk the host's whole heap, about 20% of durable throughput
(``benchmarks/event_throughput.py``)."""

EVENT_ROW_FIELDS: tuple[str, ...] = (
    "event_id", "event_type", "source_engine", "symbol", "ts_us", "payload", "labels", "outcome",
)
ROW_EVENT_ID: Final = 0
ROW_EVENT_TYPE: Final = 1
ROW_SOURCE_ENGINE: Final = 2
ROW_SYMBOL: Final = 3
ROW_TS_US: Final = 4
ROW_PAYLOAD: Final = 5
ROW_LABELS: Final = 6
ROW_OUTCOME: Final = 7


@dataclass(slots=True)
class EventQuery:
    """Filters of ``query_events``; ``None`` means any. ``start`` inclusive, ``end`` exclusive."""

    event_type: EventType | None = None
    start: datetime | None = None
    end: datetime | None = None
    symbol: str | None = None
    source_engine: str | None = None
    limit: int | None = 1000
    descending: bool = False
    event_types: tuple[EventType, ...] = ()


@dataclass(slots=True)
class EventStats:
    """What the store holds."""

    total: int
    by_type: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None


class AuditConflictError(Exception):
    """An audit sequence number already exists: the audit table is append-only."""


@runtime_checkable
class EventStore(Protocol):
    """What every store offers; see the contract tests for the exact behaviour."""

    url: str
    # Optional class attribute ``max_batch_rows: int | None``: the most rows the store
    # commits in one statement; the pipeline then takes at most that many per commit.

    def open(self) -> None: ...

    def close(self) -> None: ...

    # events
    def append_events(self, rows: Sequence[EventRow]) -> int:
        """Insert in one transaction; an existing event_id is skipped. Returns rows newly stored."""
        ...

    def query_events(self, query: EventQuery) -> list[LearningEvent]: ...

    def count_events(self, query: EventQuery | None = None) -> int: ...

    def event_stats(self) -> EventStats: ...

    def purge_events_before(self, cutoff: datetime) -> int: ...

    # typed records (jobs, breaker state, alerts, evaluations, ...)
    def put_record(self, record: StoredRecord) -> None:
        """Insert or replace (kind, key); committed on return."""
        ...

    def insert_record(self, record: StoredRecord) -> bool:
        """Insert (kind, key) only if absent, atomically; True when this call inserted it."""
        ...

    def get_record(self, kind: str, key: str) -> StoredRecord | None: ...

    def list_records(
        self,
        kind: str,
        tag: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[StoredRecord]:
        """Records of a kind in creation order, optionally by tag and creation-time range."""
        ...

    def delete_record(self, kind: str, key: str) -> bool: ...

    # audit (append-only)
    def append_audit(self, record: AuditRecord) -> None:
        """Append; raises AuditConflictError when the sequence number exists."""
        ...

    def list_audit(
        self, start_sequence: int = 0, limit: int | None = None
    ) -> list[AuditRecord]: ...

    def last_audit(self) -> AuditRecord | None: ...


# ------------------------------------------------------------------ helpers shared by stores


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_log = logging.getLogger(__name__)


def to_us(ts: datetime) -> int:
    """Microseconds since the epoch of a datetime, exactly (integer arithmetic, any year).

    A naive datetime is taken as local time, as ``datetime.timestamp`` does.
    """
    if ts.tzinfo is None or ts.utcoffset() is None:
        ts = ts.astimezone()
    d = ts - _EPOCH
    return d.days * 86_400_000_000 + d.seconds * 1_000_000 + d.microseconds


MIN_TS_US: Final = -62135596800000000  # 0001-01-01T00:00:00Z, datetime.min as a UTC instant
MAX_TS_US: Final = 253402300799999999  # 9999-12-31T23:59:59.999999Z, datetime.max in UTC
"""The UTC instants Python (and so every reader) can represent; encode refuses the rest."""


class BadEventRowError(ValueError):
    """A stored event row that cannot be decoded; names its event id."""

    def __init__(self, event_id: object, reason: str) -> None:
        self.event_id = event_id
        super().__init__(
            f"stored event {event_id!r} cannot be read ({reason}); it is skipped by reads. "
            "It was written before timestamps were range-checked or by another writer: "
            "delete it with the store's SQL tools or restore it from a backup."
        )


def from_us(us: int) -> datetime:
    """The aware UTC datetime of a microsecond timestamp (exact, no float rounding)."""
    return _EPOCH + timedelta(microseconds=int(us))


def row_to_event(
    event_id: str,
    event_type: str,
    source_engine: str,
    symbol: str | None,
    ts_us: int,
    payload: str,
    labels: str,
    outcome: float | None,
) -> LearningEvent:
    """Rebuild a LearningEvent from a stored row (payload and labels as JSON text)."""
    try:
        return _row_to_event(
            event_id, event_type, source_engine, symbol, ts_us, payload, labels, outcome
        )
    except (ValueError, TypeError, OverflowError, orjson.JSONDecodeError) as exc:
        raise BadEventRowError(event_id, f"{type(exc).__name__}: {exc}") from exc


def decode_rows(
    rows: Sequence[Sequence[Any]], bad_rows: dict[str, str], decode: Any = None
) -> list[LearningEvent]:
    """Decode stored rows, skipping (and logging, naming the id) any row that cannot be read.

    One bad row must never make the whole store unreadable: the others are returned, and
    each bad one is logged once with its event id and kept in ``bad_rows`` (id -> reason).
    """
    fn = decode or row_to_event
    out: list[LearningEvent] = []
    append = out.append
    for r in rows:
        try:
            append(fn(*r))
        except BadEventRowError as exc:
            key = str(exc.event_id)
            if key not in bad_rows:
                _log.error("%s", exc)
                if len(bad_rows) < 10_000:
                    bad_rows[key] = str(exc)
    return out


def safe_from_us(us: int | None) -> datetime | None:
    """``from_us`` for summaries: None (not an OverflowError) for an unrepresentable instant."""
    if us is None or not MIN_TS_US <= int(us) <= MAX_TS_US:
        return None
    return from_us(us)


# value -> member: a dict lookup per row instead of EnumType.__call__ (half a row's decode)
_EVENT_TYPES: dict[str, EventType] = {t.value: t for t in EventType}


def _row_to_event(
    event_id: str,
    event_type: str,
    source_engine: str,
    symbol: str | None,
    ts_us: int,
    payload: str,
    labels: str,
    outcome: float | None,
) -> LearningEvent:
    kind = _EVENT_TYPES.get(event_type)
    if kind is None:
        raise ValueError(f"{event_type!r} is not a known event type")
    return LearningEvent(
        event_id=event_id,
        event_type=kind,
        source_engine=source_engine,
        symbol=symbol,
        timestamp=from_us(int(ts_us)),
        payload=orjson.loads(payload),
        labels=orjson.loads(labels) if labels != "{}" else {},
        outcome=None if outcome is None or math.isnan(outcome) else float(outcome),
    )


def dump_json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat()
    if hasattr(obj, "value"):
        return obj.value
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
