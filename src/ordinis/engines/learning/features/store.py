"""FeatureStore: versioned feature tables in an embedded DuckDB file, read point-in-time.

* Ingestion (frames or events) only appends: a row stamped at or before the latest stored
  stamp of its entity would rewrite history a model may have trained on, and is refused.
  :meth:`FeatureStore.backfill` writes corrections into a new version instead; older versions
  stay as they were, and a model keeps reading the version its lineage names.
* Historical retrieval is a DuckDB ``ASOF LEFT JOIN`` of the feature table to (entity,
  timestamp) rows: the latest value stamped at or before each row, NULL when older than the
  TTL. Nothing stamped after a row is ever returned.
* Online reads (:meth:`FeatureStore.get_features`) come from an in-memory map of each entity's
  latest row; only a read ``at`` a time before that row goes to DuckDB.

Stamps are kept as integer microseconds since the epoch, UTC; entities as small integer ids
(one dictionary per store), which is what makes the ASOF join fast.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import FieldProblem, NotFoundError, ValidationError
from ordinis.engines.learning.core.models import LearningEvent
from ordinis.engines.learning.features.feature_set import (
    FeatureSet,
    FeatureSource,
    FeatureSpec,
    make_feature_set,
)

_SQL_TYPES = {"float64": "DOUBLE", "int64": "BIGINT", "bool": "BOOLEAN"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Ttl = float | timedelta | None


def to_micros(values: Any) -> np.ndarray:
    """Timestamps (datetime-likes; naive means UTC) as int64 microseconds since the epoch."""
    idx = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    if idx.hasnans:
        n = int(np.asarray(idx.isna()).sum())
        raise ValidationError("feature rows", [FieldProblem(
            "timestamp", "NaT", f"{n} missing timestamp(s); drop them")])
    return np.asarray(idx.as_unit("us").asi8, dtype=np.int64)


def _micros_of(at: datetime) -> int:
    ts = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _ttl_micros(ttl: Ttl) -> int | None:
    if ttl is None:
        return None
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
    if not seconds > 0:
        raise ValidationError("feature read", [FieldProblem("ttl", ttl, "must be > 0 or None")])
    return round(seconds * 1_000_000)


@dataclass(slots=True)
class _Table:
    """One stored version: its definition, DuckDB table and the latest row of each entity."""

    feature_set: FeatureSet
    table: str
    column: dict[str, int]
    latest: dict[str, tuple[int, tuple[Any, ...]]] = field(default_factory=dict)


class FeatureStore:
    """Versioned, point-in-time feature tables in one DuckDB file (``None``: in memory)."""

    def __init__(
        self, path: str | Path | None = None, *, clock: Clock | None = None,
        read_only: bool = False, threads: int | None = None,
    ) -> None:
        import duckdb

        self.path = Path(path) if path is not None else None
        self.clock = clock
        self.read_only = read_only
        if self.path is not None and not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {"threads": threads} if threads else {}
        self._con = duckdb.connect(
            str(self.path) if self.path is not None else ":memory:",
            read_only=read_only, config=config)
        self._lock = threading.RLock()
        self._tables: dict[tuple[str, int], _Table] = {}
        self._online_index: dict[tuple[tuple[str, ...], str | None], _Table] = {}
        self._entity_ids: dict[str, int] = {}
        self._entities: list[str] = []
        if not read_only:
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS feature_set_catalog (name VARCHAR, version INTEGER, "
                "table_name VARCHAR, definition VARCHAR, created_at TIMESTAMP, "
                "PRIMARY KEY (name, version))")
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS feature_entities (eid INTEGER PRIMARY KEY, "
                "entity VARCHAR UNIQUE)")
        self._load()

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load(self) -> None:
        try:
            for eid, entity in self._con.execute(
                    "SELECT eid, entity FROM feature_entities ORDER BY eid").fetchall():
                self._entity_ids[str(entity)] = int(eid)
                self._entities.append(str(entity))
            rows = self._con.execute(
                "SELECT name, version, table_name, definition FROM feature_set_catalog "
                "ORDER BY name, version").fetchall()
        except Exception:  # a read-only opener of a store that has no catalog yet
            return
        for name, version, table, definition in rows:
            fs = FeatureSet.from_dict(json.loads(definition))
            t = _Table(fs, str(table), {n: i for i, n in enumerate(fs.names)})
            self._tables[(str(name), int(version))] = t
            self._refresh_latest(t, str(table))

    # ------------------------------------------------------------------ definitions
    def feature_sets(self) -> list[FeatureSet]:
        """Every stored version, oldest first within each name."""
        return [self._tables[k].feature_set for k in sorted(self._tables)]

    def feature_set(self, name: str, version: int | None = None) -> FeatureSet:
        return self._table(name, version).feature_set

    def create_feature_set(
        self, name: str, features: Iterable[str | FeatureSpec], *,
        ttl_seconds: float | None = None, description: str = "",
    ) -> FeatureSet:
        """Define a store-sourced set (version 1); the same definition again returns it."""
        fs = make_feature_set(name, features, source=FeatureSource.STORE,
                              ttl_seconds=ttl_seconds, description=description)
        with self._lock:
            versions = [v for (n, v) in self._tables if n == name]
            if versions:
                latest = self._tables[(name, max(versions))].feature_set
                if latest.same_definition(fs):
                    return latest
                fs = make_feature_set(name, fs.features, version=max(versions) + 1,
                                      source=FeatureSource.STORE, ttl_seconds=ttl_seconds,
                                      description=description)
            self._create_version(fs)
        return fs

    def _create_version(self, fs: FeatureSet, copy_from: str | None = None) -> _Table:
        self._writable("define a feature set")
        table = f"fv_{len(self._tables) + 1}_{abs(hash((fs.name, fs.version))) % 10**8}"
        cols = ", ".join(f'"{f.name}" {_SQL_TYPES[f.dtype]}' for f in fs.features)
        self._con.execute(f"CREATE TABLE {table} (eid INTEGER, ts BIGINT, {cols})")
        if copy_from is not None:
            self._con.execute(f"INSERT INTO {table} SELECT * FROM {copy_from}")
        self._con.execute(
            "INSERT INTO feature_set_catalog VALUES (?, ?, ?, ?, ?)",
            [fs.name, fs.version, table, json.dumps(fs.to_dict()),
             (self.clock.now() if self.clock else datetime.now(UTC)).replace(tzinfo=None)])
        t = _Table(fs, table, {n: i for i, n in enumerate(fs.names)})
        self._tables[(fs.name, fs.version)] = t
        self._online_index.clear()
        return t

    def _table(self, name: str, version: int | None = None) -> _Table:
        versions = sorted(v for (n, v) in self._tables if n == name)
        if not versions:
            known = sorted({n for n, _ in self._tables})
            raise NotFoundError(f"feature set {name!r} is not in the feature store; known: "
                                f"{known}. Create it with create_feature_set.")
        v = versions[-1] if version is None else version
        if v not in versions:
            raise NotFoundError(f"feature set {name!r} has no stored version {v}; "
                                f"versions: {versions}")
        return self._tables[(name, v)]

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise ValidationError("feature store", [FieldProblem(
                "read_only", True, f"cannot {what}: opened read-only; open it without "
                "read_only=True (one writer per store)")])

    # ------------------------------------------------------------------ ingestion
    def ingest_frame(
        self, name: str, frame: pd.DataFrame, *, entity_column: str = "entity",
        timestamp_column: str = "timestamp", version: int | None = None,
    ) -> int:
        """Append rows (entity, timestamp, the set's features) to a version; returns the count.

        Refuses duplicates of (entity, timestamp) and rows at or before an entity's latest
        stored stamp (use :meth:`backfill`): history a model was trained on never changes.
        """
        with self._lock:
            self._writable("ingest")
            t = self._table(name, version)
            data = self._prepare(t.feature_set, frame, entity_column, timestamp_column)
            self._check_append_only(t, data)
            self._insert(t.table, data)
            self._update_latest(t, data)
            return len(data)

    def ingest_events(
        self, name: str, events: Iterable[LearningEvent], *, version: int | None = None
    ) -> int:
        """Append ``payload["features"]`` of events (entity = symbol, stamp = timestamp)."""
        t = self._table(name, version)
        rows: list[dict[str, Any]] = []
        for ev in events:
            feats = ev.payload.get("features")
            if not isinstance(feats, Mapping) or not ev.symbol:
                continue
            row: dict[str, Any] = {n: feats.get(n) for n in t.feature_set.names}
            row["entity"] = ev.symbol
            row["timestamp"] = ev.timestamp
            rows.append(row)
        if not rows:
            return 0
        return self.ingest_frame(name, pd.DataFrame(rows), version=t.feature_set.version)

    def backfill(
        self, name: str, frame: pd.DataFrame, *, entity_column: str = "entity",
        timestamp_column: str = "timestamp",
    ) -> FeatureSet:
        """Corrections and late rows go into a new version (a copy of the latest plus them).

        Rows at an existing (entity, timestamp) replace it in the new version only; every
        older version keeps what models were trained on. Returns the new version.
        """
        with self._lock:
            self._writable("backfill")
            old = self._table(name)
            data = self._prepare(old.feature_set, frame, entity_column, timestamp_column)
            fs = make_feature_set(
                name, old.feature_set.features, version=old.feature_set.version + 1,
                source=FeatureSource.STORE, ttl_seconds=old.feature_set.ttl_seconds,
                description=old.feature_set.description)
            self._con.register("_backfill_rows", data)
            self._con.execute("BEGIN TRANSACTION")  # the new version appears whole or not at all
            try:
                new = self._create_version(fs)
                self._con.execute(
                    f"INSERT INTO {new.table} SELECT o.* FROM {old.table} o ANTI JOIN "
                    "_backfill_rows b ON o.eid = b.eid AND o.ts = b.ts")
                self._con.execute(f"INSERT INTO {new.table} SELECT * FROM _backfill_rows")
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                self._tables.pop((fs.name, fs.version), None)
                self._online_index.clear()
                raise
            finally:
                self._con.unregister("_backfill_rows")
            self._refresh_latest(new, new.table)
            return fs

    def _prepare(
        self, fs: FeatureSet, frame: pd.DataFrame, entity_column: str, timestamp_column: str
    ) -> pd.DataFrame:
        """The rows as (entity, ts, features...) with every problem reported at once."""
        what = f"feature rows for {fs.ref}"
        if not isinstance(frame, pd.DataFrame):
            raise ValidationError(what, [FieldProblem("frame", type(frame).__name__,
                                                      "must be a pandas DataFrame")])
        problems: list[FieldProblem] = []
        cols = [str(c) for c in frame.columns]
        for col, label in ((entity_column, "entity_column"),
                           (timestamp_column, "timestamp_column")):
            if col not in cols:
                problems.append(FieldProblem(label, col, f"not a column; columns: {cols}"))
        missing = [n for n in fs.names if n not in cols]
        if missing:
            problems.append(FieldProblem("columns", missing, "the set's features are missing; "
                                         "add them (NaN where unknown)"))
        if problems:
            raise ValidationError(what, problems)
        if frame[entity_column].isna().any():
            raise ValidationError(what, [FieldProblem(entity_column, None,
                                                      "missing entity; drop those rows")])
        out = pd.DataFrame({
            "eid": self._ids_for(frame[entity_column]),
            "ts": to_micros(frame[timestamp_column]),
        })
        for spec in fs.features:
            given: pd.Series = frame[spec.name]
            if spec.dtype == "float64":
                values = pd.to_numeric(given, errors="coerce")
                bad = values.isna() & given.notna()
                if bad.any():
                    problems.append(FieldProblem(spec.name, given[bad].iloc[0],
                                                 f"{int(bad.sum())} non-numeric value(s)"))
                out[spec.name] = values.to_numpy(dtype=float)
            else:
                out[spec.name] = given.to_numpy()
        dup = out.duplicated(["eid", "ts"])
        if dup.any():
            first = out.loc[dup].iloc[0]
            problems.append(FieldProblem(
                "rows", (self._entities[int(first["eid"])], int(first["ts"])),
                f"{int(dup.sum())} duplicated (entity, timestamp); keep one row each"))
        if problems:
            raise ValidationError(what, problems)
        return out

    def _check_append_only(self, t: _Table, data: pd.DataFrame) -> None:
        if not t.latest or data.empty:
            return
        first = data.groupby("eid", sort=False)["ts"].min()
        stale = [(self._entities[e], ts) for e, ts in zip(first.index.tolist(), first.tolist(),
                                                          strict=True)
                 if (prev := t.latest.get(self._entities[e])) is not None and ts <= prev[0]]
        if stale:
            e, ts = stale[0]
            raise ValidationError(f"feature rows for {t.feature_set.ref}", [FieldProblem(
                "timestamp", (e, pd.Timestamp(int(ts), unit="us", tz="UTC").isoformat()),
                f"{len(stale)} entit(y/ies) have rows at or before their latest stored stamp; "
                "ingest only appends (models may have trained on the stored history). Use "
                "backfill() to write corrections into a new version")])

    def _insert(self, table: str, data: pd.DataFrame) -> None:
        self._con.register("_ingest_rows", data)
        try:
            self._con.execute(f"INSERT INTO {table} SELECT * FROM _ingest_rows")
        finally:
            self._con.unregister("_ingest_rows")

    def _update_latest(self, t: _Table, data: pd.DataFrame) -> None:
        last = data.loc[data.groupby("eid", sort=False)["ts"].idxmax()]
        names = list(t.feature_set.names)
        for eid, ts, values in zip(
            last["eid"].tolist(), last["ts"].tolist(),
            last[names].itertuples(index=False, name=None), strict=True,
        ):
            t.latest[self._entities[int(eid)]] = (int(ts), _clean(values))

    def _refresh_latest(self, t: _Table, table: str) -> None:
        names = ", ".join(f'arg_max("{n}", ts)' for n in t.feature_set.names)
        rows = self._con.execute(
            f"SELECT eid, max(ts), {names} FROM {table} GROUP BY eid").fetchall()
        t.latest = {self._entities[int(r[0])]: (int(r[1]), _clean(r[2:])) for r in rows}

    def _ids_for(self, entities: pd.Series) -> np.ndarray:
        """Integer ids of entity names, assigning (and storing) ids to new ones."""
        codes, uniques = pd.factorize(entities.astype(str), sort=False)
        new = [str(u) for u in uniques if str(u) not in self._entity_ids]
        if new:
            start = len(self._entities)
            ids = list(range(start, start + len(new)))
            self._con.executemany("INSERT INTO feature_entities VALUES (?, ?)",
                                  list(zip(ids, new, strict=True)))
            for i, e in zip(ids, new, strict=True):
                self._entity_ids[e] = i
                self._entities.append(e)
        lookup = np.array([self._entity_ids[str(u)] for u in uniques], dtype=np.int32)
        return lookup[codes]

    def _known_ids(self, entities: pd.Series) -> np.ndarray:
        """Ids of entity names for a read; -1 for names never stored (they match nothing)."""
        codes, uniques = pd.factorize(entities.astype(str), sort=False)
        lookup = np.array([self._entity_ids.get(str(u), -1) for u in uniques], dtype=np.int32)
        return lookup[codes] if len(codes) else np.empty(0, dtype=np.int32)

    # ------------------------------------------------------------------ point-in-time reads
    def get_historical_features(
        self, name: str, rows: pd.DataFrame, *, names: Sequence[str] | None = None,
        version: int | None = None, ttl: Ttl = None, entity_column: str = "entity",
        timestamp_column: str = "timestamp", with_feature_timestamp: bool = False,
    ) -> pd.DataFrame:
        """For each (entity, timestamp) row, the latest values stamped at or before it.

        An ASOF join in DuckDB; a value older than ``ttl`` (default: the set's TTL) is NaN.
        The result has the rows' index and order, one column per feature (plus
        ``feature_timestamp`` when asked).
        """
        t = self._table(name, version)
        cols = list(names) if names is not None else list(t.feature_set.names)
        unknown = [c for c in cols if c not in t.column]
        if unknown:
            raise ValidationError(f"read of {t.feature_set.ref}", [FieldProblem(
                "names", unknown, f"not features of this set; it has {list(t.feature_set.names)}")])
        for col, label in ((entity_column, "entity_column"),
                           (timestamp_column, "timestamp_column")):
            if col not in rows.columns:
                raise ValidationError("label rows", [FieldProblem(
                    label, col, f"not a column; columns: {list(map(str, rows.columns))}")])
        ttl_us = _ttl_micros(ttl if ttl is not None else t.feature_set.ttl_seconds)
        import pyarrow as pa

        labels = pa.table({
            "row_id": pa.array(np.arange(len(rows), dtype=np.int64)),
            "eid": pa.array(self._known_ids(rows[entity_column])),
            "ts": pa.array(to_micros(rows[timestamp_column])),
        })
        fresh = "TRUE" if ttl_us is None else f"l.ts - f.ts <= {ttl_us}"
        select = ", ".join(f'CASE WHEN {fresh} THEN f."{c}" END AS "{c}"' for c in cols)
        stamp = f", CASE WHEN {fresh} THEN f.ts END AS feature_ts"
        sql = (f"SELECT l.row_id, {select}{stamp} FROM _label_rows l "
               f"ASOF LEFT JOIN {t.table} f ON l.eid = f.eid AND l.ts >= f.ts")
        with self._lock:
            cur = self._con.cursor()
        try:
            cur.register("_label_rows", labels)
            result: Any = cur.sql(sql).to_arrow_table()
        finally:
            cur.close()
        order = result.column("row_id").to_numpy()
        out: dict[str, np.ndarray] = {}
        for c in cols:
            values = np.full(len(rows), np.nan)
            values[order] = result.column(c).to_numpy(zero_copy_only=False)
            out[c] = values
        frame = pd.DataFrame(out, index=rows.index)
        if with_feature_timestamp:
            none = np.iinfo(np.int64).min
            stamps = np.full(len(rows), none, dtype=np.int64)
            stamps[order] = result.column("feature_ts").fill_null(none).to_numpy()
            frame["feature_timestamp"] = _stamps(stamps)
        return frame

    def get_features(
        self, entity: str, names: Sequence[str], at: datetime | None = None, *,
        feature_set: str | None = None, version: int | None = None,
    ) -> dict[str, Any]:
        """The latest values of ``names`` for ``entity`` at ``at`` (None: now), from memory.

        Values stamped after ``at`` are never returned; older than the set's TTL read None.
        Without ``feature_set`` the names must all belong to one stored set.
        """
        t = self._online_table(tuple(names), feature_set, version)
        hit = t.latest.get(entity)
        if hit is None:
            return dict.fromkeys(names)
        ts, values = hit
        at_us = _micros_of(at) if at is not None else (
            _micros_of(self.clock.now()) if self.clock is not None else None)
        if at_us is not None and ts > at_us:  # the latest row is after `at`: read history
            found = self._row_at(t, entity, at_us)
            if found is None:
                return dict.fromkeys(names)
            ts, values = found
        ttl = t.feature_set.ttl_seconds
        if ttl is not None and at_us is not None and at_us - ts > ttl * 1_000_000:
            return dict.fromkeys(names)
        col = t.column
        return {n: values[col[n]] for n in names}

    def _online_table(
        self, names: tuple[str, ...], feature_set: str | None, version: int | None
    ) -> _Table:
        key = (names, None if feature_set is None else f"{feature_set}@{version}")
        t = self._online_index.get(key)
        if t is not None:
            return t
        if feature_set is not None:
            t = self._table(feature_set, version)
        else:
            latest: dict[str, _Table] = {}
            for (n, _v), tab in sorted(self._tables.items()):
                latest[n] = tab
            owners = [tab for tab in latest.values() if all(x in tab.column for x in names)]
            if len(owners) != 1:
                raise ValidationError("get_features", [FieldProblem(
                    "names", list(names),
                    "no stored feature set has all of these; pass feature_set="
                    if not owners else
                    f"found in several sets ({[o.feature_set.name for o in owners]}); "
                    "pass feature_set=")])
            t = owners[0]
        unknown = [n for n in names if n not in t.column]
        if unknown:
            raise ValidationError("get_features", [FieldProblem(
                "names", unknown, f"not features of {t.feature_set.ref}")])
        self._online_index[key] = t
        return t

    def _row_at(self, t: _Table, entity: str, at_us: int) -> tuple[int, tuple[Any, ...]] | None:
        cols = ", ".join(f'"{n}"' for n in t.feature_set.names)
        with self._lock:
            cur = self._con.cursor()
        try:
            row = cur.execute(
                f"SELECT ts, {cols} FROM {t.table} WHERE eid = ? AND ts <= ? "
                "ORDER BY ts DESC LIMIT 1", [self._entity_ids[entity], at_us]).fetchone()
        finally:
            cur.close()
        return None if row is None else (int(row[0]), _clean(row[1:]))

    def count_rows(self, name: str, version: int | None = None) -> int:
        t = self._table(name, version)
        with self._lock:
            cur = self._con.cursor()
        try:
            row = cur.execute(f"SELECT count(*) FROM {t.table}").fetchone()
        finally:
            cur.close()
        return int(row[0]) if row else 0


def _clean(values: Iterable[Any]) -> tuple[Any, ...]:
    """NaN as None, numpy scalars as Python numbers (what get_features returns)."""
    out: list[Any] = []
    for v in values:
        if isinstance(v, np.generic):
            v = v.item()
        out.append(None if isinstance(v, float) and v != v else v)
    return tuple(out)


def _stamps(micros: np.ndarray) -> Any:
    """int64 microseconds (int64 min = none) as UTC timestamps (NaT = none)."""
    none = micros == np.iinfo(np.int64).min
    values = pd.to_datetime(np.where(none, 0, micros), unit="us", utc=True)
    return pd.Series(values).mask(none).to_numpy()
