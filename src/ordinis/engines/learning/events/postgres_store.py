"""PostgreSQL event store (psycopg 3): the store at scale, same contract as the SQLite default.

Events keep payload as JSON (validated, stored as sent) and labels as JSONB. A batch is COPYed
(binary format) straight into ``events``; when an id is already stored it is COPYed into a
per-connection temporary table instead and moved with ``INSERT ... ON CONFLICT (event_id) DO
NOTHING``, in one transaction either way, so a retried batch never duplicates. The schema is
versioned (``schema_version`` table) and the audit table refuses UPDATE, DELETE and TRUNCATE
through a trigger.

Isolation: ``postgresql://...?schema=name`` (or ``PostgresEventStore(url, schema=name)``) puts
every table in that schema, created if missing; libpq's ``?options=-csearch_path=name`` works
too when the schema already exists.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from ordinis.engines.learning.core.errors import ReadOnlyError, StoreIdentityError
from ordinis.engines.learning.core.models import (
    AuditRecord,
    EventType,
    LearningEvent,
    StoredRecord,
)
from ordinis.engines.learning.events.store import (
    EVENT_ROW_FIELDS,
    MAX_TS_US,
    MIN_TS_US,
    AuditConflictError,
    BadEventRowError,
    EventQuery,
    EventRow,
    EventStats,
    decode_rows,
    dump_json,
    from_us,
    safe_from_us,
    to_us,
)

# Each migration moves the schema from version i to i+1; never edit a shipped one, append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS events (
        event_id text PRIMARY KEY,
        event_type text NOT NULL,
        source_engine text NOT NULL,
        symbol text,
        ts_us bigint NOT NULL,
        payload jsonb NOT NULL,
        labels jsonb NOT NULL,
        outcome double precision
    );
    CREATE INDEX IF NOT EXISTS ix_events_type_ts ON events (event_type, ts_us);
    CREATE INDEX IF NOT EXISTS ix_events_ts ON events (ts_us);
    CREATE INDEX IF NOT EXISTS ix_events_symbol_ts ON events (symbol, ts_us);
    CREATE TABLE IF NOT EXISTS records (
        kind text NOT NULL,
        key text NOT NULL,
        tag text NOT NULL DEFAULT '',
        created_us bigint NOT NULL,
        updated_us bigint NOT NULL,
        body jsonb NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE INDEX IF NOT EXISTS ix_records_kind_tag ON records (kind, tag, created_us);
    CREATE INDEX IF NOT EXISTS ix_records_kind_created ON records (kind, created_us);
    CREATE TABLE IF NOT EXISTS audit_log (
        seq bigint PRIMARY KEY,
        ts_us bigint NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        target text NOT NULL,
        decision text NOT NULL,
        reason text NOT NULL,
        details text NOT NULL,
        prev_hash text NOT NULL,
        record_hash text NOT NULL
    );
    CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
        END
        $$;
    CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    """,
    # v2, the insert path's cost per row (issue 18): the text keys compare bytewise (COLLATE
    # "C": memcmp instead of strcoll in the primary key and both text indexes; the order of
    # ids and symbols is never shown to a user), and the payload is ``json`` (validated text,
    # stored as sent) instead of ``jsonb``, whose parse turned every float feature into a
    # numeric and cost about as much as the heap insert itself. Labels stay ``jsonb`` (short
    # strings, cheap to parse, and what an operator filters on with ``@>``).
    """
    ALTER TABLE events
        ALTER COLUMN event_id TYPE text COLLATE "C",
        ALTER COLUMN event_type TYPE text COLLATE "C",
        ALTER COLUMN source_engine TYPE text COLLATE "C",
        ALTER COLUMN symbol TYPE text COLLATE "C",
        ALTER COLUMN payload TYPE json USING payload::json;
    """,
)

_EVENT_COLUMNS = ", ".join(EVENT_ROW_FIELDS)
_RECORD_COLUMNS = "kind, key, tag, created_us, updated_us, body"
_AUDIT_COLUMNS = (
    "seq, ts_us, actor, action, target, decision, reason, details, prev_hash, record_hash"
)
_STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS _ordinis_event_stage (event_id text, event_type text, "
    "source_engine text, symbol text, ts_us bigint, payload json, labels jsonb, "
    "outcome double precision) ON COMMIT DELETE ROWS"
)
_MOVE_STAGE = (
    f"INSERT INTO events ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS} FROM _ordinis_event_stage "
    "ON CONFLICT (event_id) DO NOTHING"
)


_COPY_EVENTS = f"COPY events ({_EVENT_COLUMNS}) FROM STDIN WITH (FORMAT binary)"
_COPY_STAGE = f"COPY _ordinis_event_stage ({_EVENT_COLUMNS}) FROM STDIN WITH (FORMAT binary)"
_COPY_CHUNK_ROWS = 1000

# COPY's binary format: a signature and two zero int32 (flags, header extension) first, an
# int16 -1 last; each row is an int16 field count, then per field an int32 byte length (-1
# for NULL) and the value as the type's binary input reads it.
COPY_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_BINARY_TRAILER = struct.pack(">h", -1)
_FIELDS = struct.pack(">h", len(EVENT_ROW_FIELDS))
_LEN = struct.Struct(">i").pack
_BIGINT = struct.Struct(">iq").pack  # length 8, then the value
_FLOAT8 = struct.Struct(">id").pack
_NULL_FIELD = _LEN(-1)
_LENGTHS = tuple(_LEN(n) for n in range(2048))  # the length prefix of short values, made once
# The field bytes of values that repeat from row to row (event types, sources, symbols, label
# sets): built once, kept in a bounded map.
_TEXT_FIELDS: dict[str, bytes] = {}
_JSONB_FIELDS: dict[str, bytes] = {}
_MAX_CACHED = 4096


def _text_field(text: str) -> bytes:
    """A text (or json) value as a binary COPY field: length, UTF-8 bytes (remembered)."""
    data = text.encode()
    field = _LEN(len(data)) + data
    if len(_TEXT_FIELDS) >= _MAX_CACHED:
        _TEXT_FIELDS.clear()
    _TEXT_FIELDS[text] = field
    return field


def _jsonb_field(text: str) -> bytes:
    """A jsonb value as a binary COPY field: length, format version 1, the JSON text."""
    data = b"\x01" + text.encode()
    field = _LEN(len(data)) + data
    if len(_JSONB_FIELDS) >= _MAX_CACHED:
        _JSONB_FIELDS.clear()
    _JSONB_FIELDS[text] = field
    return field


def copy_binary(rows: Sequence[EventRow]) -> bytes:
    """The rows as COPY binary tuples (no signature, no trailer: ``append_events`` adds them).

    No escaping and no number formatting: the server reads ids, types and symbols as bytes,
    ``ts_us`` and ``outcome`` as 8-byte integers and floats (it parses only the JSON), which
    saves it ~15% of its work per row against COPY text; and building these bytes costs the
    writer thread, which shares the GIL with the host's producers, about half the time of
    the text format. Repeating values (types, sources, symbols, labels) come from a cache.
    """
    out: list[bytes] = []
    extend = out.extend
    text_field, jsonb_field = _TEXT_FIELDS.get, _JSONB_FIELDS.get
    lengths, n_lengths = _LENGTHS, len(_LENGTHS)
    head, null, bigint, float8, length = _FIELDS, _NULL_FIELD, _BIGINT, _FLOAT8, _LEN
    for event_id, event_type, source, symbol, ts_us, payload, labels, outcome in rows:
        eid = event_id.encode()
        body = payload.encode()
        n_eid, n_body = len(eid), len(body)
        extend((
            head,
            lengths[n_eid] if n_eid < n_lengths else length(n_eid), eid,
            text_field(event_type) or _text_field(event_type),
            text_field(source) or _text_field(source),
            null if symbol is None else text_field(symbol) or _text_field(symbol),
            bigint(8, ts_us),
            lengths[n_body] if n_body < n_lengths else length(n_body), body,
            jsonb_field(labels) or _jsonb_field(labels),
            null if outcome is None else float8(8, outcome),
        ))
    return b"".join(out)


class PostgresEventStore:
    """Event store in PostgreSQL; one connection behind a lock, reconnected after a failure."""

    def __init__(
        self,
        url: str,
        schema: str | None = None,
        connect_timeout: int = 10,
        read_only: bool = False,
    ) -> None:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"store_url={url!r}: PostgresEventStore needs postgresql://...")
        self.url = url
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        url_schema = [v for k, v in query if k == "schema"]
        self.schema = schema if schema is not None else (url_schema[-1] if url_schema else None)
        if self.schema is not None and not self.schema.strip():
            raise ValueError(f"store_url={url!r}: schema must be a non-empty name")
        self._conninfo = urlunsplit(
            parts._replace(query=urlencode([(k, v) for k, v in query if k != "schema"]))
        )
        self.connect_timeout = connect_timeout
        self._conn: psycopg.Connection[Any] | None = None
        self._open = False
        self._lock = threading.RLock()
        self.read_only = read_only  # inspection: no migrations, every transaction read-only
        self.bad_rows: dict[str, str] = {}  # event id -> why it cannot be read (skipped)

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        """Connect and apply pending migrations (safe to call again)."""
        with self._lock:
            if self._open:
                return
            self._connection()
            if self.read_only:
                self._check_schema_readable()
            else:
                self._migrate()
            self._open = True

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._open = False
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        """The live connection, reconnecting if the previous one broke."""
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if conn is not None:
            conn.close()
        conn = psycopg.connect(  # UTF8: the COPY data is UTF-8 bytes, whatever the server's default
            self._conninfo, autocommit=True, connect_timeout=self.connect_timeout,
            client_encoding="UTF8",
        )
        if self.read_only:
            if self.schema is not None:
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            conn.execute("SET default_transaction_read_only = on")
            self._conn = conn
            return conn
        if self.schema is not None:
            name = sql.Identifier(self.schema)
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
            conn.execute(sql.SQL("SET search_path TO {}").format(name))
        conn.execute(_STAGE_DDL)
        self._conn = conn
        return conn

    @property
    def _c(self) -> psycopg.Connection[Any]:
        if not self._open and self._conn is None:
            raise RuntimeError(f"store {self.url} is not open; call open() first")
        return self._connection()

    @property
    def schema_version(self) -> int:
        with self._lock:
            row = self._c.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
            return int(row[0]) if row else 0

    def _migrate(self) -> None:
        conn = self._connection()
        with conn.transaction():
            # one migrator at a time per schema, across processes
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('ordinis_learning:' || current_schema()))"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
            current = int(row[0]) if row else 0
            if current > len(MIGRATIONS):
                raise RuntimeError(
                    f"store {self.url} has schema version {current}, newer than this code "
                    f"knows ({len(MIGRATIONS)}); upgrade ordinis-learning"
                )
            for version in range(current, len(MIGRATIONS)):
                conn.execute(MIGRATIONS[version])
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version + 1,))

    def _check_schema_readable(self) -> None:
        conn = self._connection()
        row = conn.execute(
            "SELECT to_regclass('schema_version') IS NOT NULL"
        ).fetchone()
        current = 0
        if row and row[0]:
            got = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
            current = int(got[0]) if got else 0
        if current != len(MIGRATIONS):
            raise StoreIdentityError(
                f"store {self.url} has schema version {current}, this code reads "
                f"{len(MIGRATIONS)}: open it once with a writing engine of this version, or "
                f"check store_url"
            )

    def _writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError(f"store {self.url} is open read-only (inspection); no writes")

    def _run(self, fn: Any) -> Any:
        """Run ``fn(conn)`` under the lock. A connection found broken (terminated session,
        restarted server) is replaced and ``fn`` runs once more: every operation here is
        idempotent (event ids, upserts, audit sequence numbers checked by hash)."""
        with self._lock:
            for attempt in (0, 1):
                conn = self._c
                try:
                    return fn(conn)
                except psycopg.OperationalError:
                    if not (conn.broken or conn.closed):
                        raise
                    self._conn = None
                    if attempt:
                        raise
            raise AssertionError("unreachable")

    # ------------------------------------------------------------------ events
    def append_events(self, rows: Sequence[EventRow]) -> int:
        """Insert ``rows`` in one transaction; ids already stored are skipped.

        The common case is one COPY straight into ``events``, its own transaction on the
        autocommit connection: the server commits before it reports the COPY complete, in two
        round trips (BEGIN, SAVEPOINT, RELEASE and COMMIT each cost one more, and the writer
        thread waits for the GIL after each). When it meets an id that is already stored (a
        retried batch whose acknowledgement was lost, or an id recorded twice), that COPY
        rolls back whole and the batch goes the idempotent way, in one transaction: COPY into
        the staging table, then ``INSERT ... ON CONFLICT (event_id) DO NOTHING``.
        """
        if not rows:
            return 0
        self._writable()
        step = _COPY_CHUNK_ROWS
        chunks: list[bytes] = []

        def send(copy: psycopg.Copy) -> None:
            # Streamed in chunks: the server inserts one chunk while the next is built. The
            # first chunk carries the format's signature and the last its trailer, so the
            # same chunks serve the staging COPY if the first one meets a stored id.
            n = len(rows)
            for start in range(0, n, step):
                if len(chunks) * step <= start:
                    data = copy_binary(rows[start : start + step])
                    if not start:
                        data = COPY_BINARY_HEADER + data
                    if start + step >= n:
                        data += COPY_BINARY_TRAILER
                    chunks.append(data)
                copy.write(chunks[start // step])

        def write(conn: psycopg.Connection[Any]) -> int:
            with conn.cursor() as cur:
                try:
                    # autocommit: the COPY is its own transaction, committed before the
                    # server reports it complete (two round trips, not six)
                    with cur.copy(_COPY_EVENTS) as copy:
                        send(copy)
                    return len(rows)
                except psycopg.errors.UniqueViolation:
                    pass  # some ids are stored already: take the idempotent path below
                with conn.transaction():
                    with cur.copy(_COPY_STAGE) as copy:
                        send(copy)
                    cur.execute(_MOVE_STAGE)
                    return max(cur.rowcount, 0)

        return int(self._run(write))

    def query_events(self, query: EventQuery) -> list[LearningEvent]:
        where, params = _where(query)
        order = "DESC" if query.descending else "ASC"
        text = (
            f"SELECT {_EVENT_COLUMNS} FROM events{where} "
            f"ORDER BY ts_us {order}, event_id {order}"
        )
        if query.limit is not None:
            text += " LIMIT %s"
            params.append(int(query.limit))
        rows = self._run(lambda c: c.execute(text, params).fetchall())
        return decode_rows(rows, self.bad_rows, _event)

    def count_events(self, query: EventQuery | None = None) -> int:
        where, params = _where(query or EventQuery(limit=None))
        text = f"SELECT COUNT(*) FROM events{where}"
        row = self._run(lambda c: c.execute(text, params).fetchone())
        return int(row[0])

    def event_stats(self) -> EventStats:
        def read(conn: psycopg.Connection[Any]) -> tuple[Any, Any, Any]:
            by_type = conn.execute(
                "SELECT event_type, COUNT(*) FROM events GROUP BY event_type"
            ).fetchall()
            by_source = conn.execute(
                "SELECT source_engine, COUNT(*) FROM events GROUP BY source_engine"
            ).fetchall()
            bounds = conn.execute(
                "SELECT MIN(ts_us), MAX(ts_us) FROM events WHERE ts_us BETWEEN %s AND %s",
                (MIN_TS_US, MAX_TS_US),
            ).fetchone()
            return by_type, by_source, bounds

        by_type, by_source, (lo, hi) = self._run(read)
        types = {str(k): int(v) for k, v in by_type}
        return EventStats(
            total=sum(types.values()),
            by_type=types,
            by_source={str(k): int(v) for k, v in by_source},
            first_timestamp=safe_from_us(lo),
            last_timestamp=safe_from_us(hi),
        )

    def purge_events_before(self, cutoff: datetime) -> int:
        """Delete events with timestamp < ``cutoff``; returns how many."""
        self._writable()
        cutoff_us = to_us(cutoff)
        cur = self._run(lambda c: c.execute("DELETE FROM events WHERE ts_us < %s", (cutoff_us,)))
        return int(cur.rowcount)

    # ------------------------------------------------------------------ records
    def insert_record(self, record: StoredRecord) -> bool:
        """Insert (kind, key) only if absent, atomically; True when this call inserted it."""
        self._writable()
        cur = self._run(
            lambda c: c.execute(
                f"INSERT INTO records ({_RECORD_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (kind, key) DO NOTHING",
                (
                    record.kind, record.key, record.tag, to_us(record.created_at),
                    to_us(record.updated_at), Jsonb(record.body, dumps=dump_json),
                ),
            )
        )
        return bool(cur.rowcount > 0)

    def put_record(self, record: StoredRecord) -> None:
        self._writable()
        self._run(
            lambda c: c.execute(
                f"INSERT INTO records ({_RECORD_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (kind, key) DO UPDATE SET tag=EXCLUDED.tag, "
                "updated_us=EXCLUDED.updated_us, body=EXCLUDED.body",
                (
                    record.kind, record.key, record.tag, to_us(record.created_at),
                    to_us(record.updated_at), Jsonb(record.body, dumps=dump_json),
                ),
            )
        )

    def get_record(self, kind: str, key: str) -> StoredRecord | None:
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_RECORD_COLUMNS} FROM records WHERE kind=%s AND key=%s", (kind, key)
            ).fetchone()
        )
        return None if row is None else _record(row)

    def list_records(
        self,
        kind: str,
        tag: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[StoredRecord]:
        text = f"SELECT {_RECORD_COLUMNS} FROM records WHERE kind=%s"
        params: list[object] = [kind]
        if tag is not None:
            text += " AND tag=%s"
            params.append(tag)
        if start is not None:
            text += " AND created_us >= %s"
            params.append(to_us(start))
        if end is not None:
            text += " AND created_us < %s"
            params.append(to_us(end))
        text += " ORDER BY created_us, key"
        if limit is not None:
            text += " LIMIT %s"
            params.append(int(limit))
        rows = self._run(lambda c: c.execute(text, params).fetchall())
        return [_record(r) for r in rows]

    def delete_record(self, kind: str, key: str) -> bool:
        self._writable()
        cur = self._run(
            lambda c: c.execute("DELETE FROM records WHERE kind=%s AND key=%s", (kind, key))
        )
        return bool(cur.rowcount > 0)

    # ------------------------------------------------------------------ audit
    def append_audit(self, record: AuditRecord) -> None:
        """Append; AuditConflictError when the sequence exists. Details kept as exact JSON text.

        When the first try met a broken session and the retry finds the sequence taken by
        this very record (same hash), the first try had committed: that is success.
        """
        self._writable()
        attempts = 0

        def insert(c: psycopg.Connection[Any]) -> None:
            nonlocal attempts
            attempts += 1
            c.execute(
                f"INSERT INTO audit_log ({_AUDIT_COLUMNS}) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (
                    record.sequence, to_us(record.timestamp), record.actor, record.action,
                    record.target, record.decision, record.reason,
                    dump_json(record.details), record.prev_hash, record.record_hash,
                ),
            )

        try:
            self._run(insert)
        except psycopg.errors.UniqueViolation as exc:
            if attempts > 1:
                stored = self._run(lambda c: c.execute(
                    "SELECT record_hash FROM audit_log WHERE seq=%s", (record.sequence,)
                ).fetchone())
                if stored is not None and stored[0] == record.record_hash:
                    return
            raise AuditConflictError(
                f"audit sequence {record.sequence} already exists (append-only)"
            ) from exc

    def list_audit(self, start_sequence: int = 0, limit: int | None = None) -> list[AuditRecord]:
        text = f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE seq >= %s ORDER BY seq"
        params: list[object] = [start_sequence]
        if limit is not None:
            text += " LIMIT %s"
            params.append(int(limit))
        rows = self._run(lambda c: c.execute(text, params).fetchall())
        return [_audit(r) for r in rows]

    def last_audit(self) -> AuditRecord | None:
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        )
        return None if row is None else _audit(row)

    # ------------------------------------------------------------------ test support
    def drop_schema(self) -> None:
        """Drop this store's schema and everything in it (for isolated test schemas)."""
        if self.schema is None:
            raise ValueError("drop_schema needs a store opened with schema=...")
        with self._lock:
            conn = self._c
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )


def _where(q: EventQuery) -> tuple[str, list[object]]:
    """The WHERE clause (with %s placeholders) and parameters of an EventQuery."""
    clauses: list[str] = []
    params: list[object] = []
    types = [t.value for t in q.event_types]
    if q.event_type is not None:
        types.append(q.event_type.value)
    if types:
        clauses.append("event_type = ANY(%s)")
        params.append(types)
    if q.start is not None:
        clauses.append("ts_us >= %s")
        params.append(to_us(q.start))
    if q.end is not None:
        clauses.append("ts_us < %s")
        params.append(to_us(q.end))
    if q.symbol is not None:
        clauses.append("symbol = %s")
        params.append(q.symbol)
    if q.source_engine is not None:
        clauses.append("source_engine = %s")
        params.append(q.source_engine)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _json(value: Any) -> Any:
    """psycopg returns jsonb already loaded; text columns hold JSON text."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _event(*row: Any) -> LearningEvent:
    """A LearningEvent of a stored row; BadEventRowError (naming the id) when unreadable."""
    try:
        return _decode_event(*row)
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadEventRowError(row[0] if row else None, f"{type(exc).__name__}: {exc}") from exc


def _decode_event(
    event_id: Any, event_type: Any, source: Any, symbol: Any, ts_us: Any, payload: Any,
    labels: Any, outcome: Any,
) -> LearningEvent:
    return LearningEvent(
        event_id=event_id,
        event_type=EventType(event_type),
        source_engine=source,
        symbol=symbol,
        timestamp=from_us(int(ts_us)),
        payload=_json(payload),
        labels=_json(labels),
        outcome=None if outcome is None else float(outcome),
    )


def _record(row: Sequence[Any]) -> StoredRecord:
    kind, key, tag, created, updated, body = row
    return StoredRecord(
        kind=kind, key=key, tag=tag, created_at=from_us(created), updated_at=from_us(updated),
        body=_json(body),
    )


def _audit(row: Sequence[Any]) -> AuditRecord:
    seq, ts, actor, action, target, decision, reason, details, prev_hash, record_hash = row
    return AuditRecord(
        sequence=int(seq), timestamp=from_us(ts), actor=actor, action=action, target=target,
        decision=decision, reason=reason, details=_json(details), prev_hash=prev_hash,
        record_hash=record_hash,
    )
