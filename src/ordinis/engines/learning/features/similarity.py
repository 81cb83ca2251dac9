"""Similarity search of past situations: feedback records as numeric vectors, nearest first.

A record's vector is its features (each divided by a fixed scale) followed by its regime
(a fixed pseudo-random direction per regime name, so no vocabulary and no model download).
Outcome, regime, symbol and time ride along as metadata: they come back with each match and
``where=`` filters on them. The index is a small protocol: brute force in memory (exact, the
reference of the contract test) or ChromaDB (the ``vectors`` extra, see chroma_index.py).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.models import FeedbackRecord

MetadataValue = str | int | float | bool
Where = Mapping[str, Any]
REGIME_DIMS = 4


@dataclass(frozen=True, slots=True)
class IndexHit:
    """One nearest neighbour: id, squared L2 distance, metadata."""

    id: str
    distance: float
    metadata: dict[str, MetadataValue]


class VectorIndex(Protocol):
    """Where vectors live: ``add`` (idempotent by id) and ``query`` (nearest first)."""

    def add(self, ids: Sequence[str], vectors: np.ndarray,
            metadatas: Sequence[Mapping[str, MetadataValue]]) -> None: ...

    def query(self, vector: np.ndarray, k: int, where: Where | None = None) -> list[IndexHit]: ...

    def count(self) -> int: ...


class BruteForceIndex:
    """Exact nearest neighbours over every stored vector (numpy); the contract reference."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._vectors: list[np.ndarray] = []
        self._meta: list[dict[str, MetadataValue]] = []
        self._matrix: np.ndarray | None = None
        self._lock = threading.Lock()

    def add(self, ids: Sequence[str], vectors: np.ndarray,
            metadatas: Sequence[Mapping[str, MetadataValue]]) -> None:
        with self._lock:
            for i, vid in enumerate(ids):
                row = np.asarray(vectors[i], dtype=float)
                if vid in self._pos:
                    p = self._pos[vid]
                    self._vectors[p], self._meta[p] = row, dict(metadatas[i])
                else:
                    self._pos[vid] = len(self._ids)
                    self._ids.append(vid)
                    self._vectors.append(row)
                    self._meta.append(dict(metadatas[i]))
            self._matrix = None

    def query(self, vector: np.ndarray, k: int, where: Where | None = None) -> list[IndexHit]:
        with self._lock:
            if not self._ids:
                return []
            if self._matrix is None:
                self._matrix = np.vstack(self._vectors)
            keep = np.array([where is None or matches(m, where) for m in self._meta])
            d = ((self._matrix - np.asarray(vector, dtype=float)) ** 2).sum(axis=1)
            d = np.where(keep, d, np.inf)
            order = np.argsort(d, kind="stable")[:k]
            return [IndexHit(self._ids[i], float(d[i]), dict(self._meta[i]))
                    for i in order if math.isfinite(d[i])]

    def count(self) -> int:
        return len(self._ids)


def matches(meta: Mapping[str, MetadataValue], where: Where) -> bool:
    """Chroma's ``where`` language: field equality, $eq $ne $gt $gte $lt $lte $in $nin,
    $and / $or."""
    for key, cond in where.items():
        if key == "$and":
            if not all(matches(meta, c) for c in cond):
                return False
            continue
        if key == "$or":
            if not any(matches(meta, c) for c in cond):
                return False
            continue
        value = meta.get(key)
        ops = cond if isinstance(cond, Mapping) else {"$eq": cond}
        for op, arg in ops.items():
            if not _compare(op, value, arg):
                return False
    return True


def _compare(op: str, value: Any, arg: Any) -> bool:
    if op == "$eq":
        return bool(value == arg)
    if op == "$ne":
        return bool(value != arg)
    if op == "$in":
        return value in arg
    if op == "$nin":
        return value not in arg
    if value is None or isinstance(value, str) != isinstance(arg, str):
        return False
    if op == "$gt":
        return bool(value > arg)
    if op == "$gte":
        return bool(value >= arg)
    if op == "$lt":
        return bool(value < arg)
    if op == "$lte":
        return bool(value <= arg)
    raise ValidationError("where", [FieldProblem("where", op, "unknown operator; use $eq, $ne, "
                                                 "$gt, $gte, $lt, $lte, $in, $nin, $and, $or")])


def regime_direction(regime: str) -> np.ndarray:
    """A fixed unit vector per regime name (from its SHA-256), the same in every process."""
    digest = hashlib.sha256(regime.encode()).digest()
    raw = np.frombuffer(digest[: 8 * REGIME_DIMS], dtype=np.uint64).astype(float)
    v = raw / 2**64 - 0.5
    return v / (np.linalg.norm(v) or 1.0)


@dataclass(frozen=True, slots=True)
class SituationEmbedder:
    """Features (in ``feature_names`` order, divided by ``scales``) then the regime direction.

    A missing feature counts as 0; ``regime_weight`` sets how far apart two regimes are.
    """

    feature_names: tuple[str, ...]
    scales: tuple[float, ...] = ()
    regime_weight: float = 1.0

    @property
    def dims(self) -> int:
        return len(self.feature_names) + REGIME_DIMS

    def embed(self, features: Mapping[str, Any], regime: str | None) -> np.ndarray:
        scales = self.scales or (1.0,) * len(self.feature_names)
        out = np.zeros(self.dims)
        for i, (name, scale) in enumerate(zip(self.feature_names, scales, strict=True)):
            v = features.get(name)
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                out[i] = float(v) / scale
        if regime:
            out[len(self.feature_names):] = self.regime_weight * regime_direction(regime)
        return out


@dataclass(frozen=True, slots=True)
class SimilarSituation:
    """A past situation like the one asked about, with what happened next."""

    record_id: str
    distance: float
    outcome: float | None
    regime: str | None
    symbol: str | None
    timestamp: str | None
    feedback_type: str | None
    metadata: dict[str, MetadataValue] = field(default_factory=dict)


def record_features(record: FeedbackRecord) -> dict[str, float]:
    """The features a record carries: ``data["features"]`` or ``data["metadata"]["features"]``."""
    for holder in (record.data, record.data.get("metadata")):
        if isinstance(holder, Mapping) and isinstance(holder.get("features"), Mapping):
            return {str(k): v for k, v in holder["features"].items()
                    if isinstance(v, int | float) and not isinstance(v, bool)}
    return {}


def record_regime(record: FeedbackRecord) -> str | None:
    """The regime a record was made in (``regime``, metadata ``regime`` or ``new_regime``)."""
    meta = record.data.get("metadata")
    for value in (record.data.get("regime"),
                  meta.get("regime") if isinstance(meta, Mapping) else None,
                  record.data.get("new_regime")):
        if isinstance(value, str) and value:
            return value
    return None


class SimilaritySearch:
    """Indexes feedback records that carry features; finds the past situations nearest a query.

    The embedder's feature names are fixed by the constructor or, when not given, by the first
    record that carries features (sorted names).
    """

    def __init__(self, index: VectorIndex, embedder: SituationEmbedder | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self._lock = threading.Lock()

    def add(self, record: FeedbackRecord) -> bool:
        """Index one record; False (not indexed) when it carries no features."""
        return self.add_many([record]) == 1

    def add_many(self, records: Iterable[FeedbackRecord]) -> int:
        """Index records in one write; returns how many carried features (and were indexed)."""
        ids: list[str] = []
        vectors: list[np.ndarray] = []
        metas: list[dict[str, MetadataValue]] = []
        for record in records:
            feats = record_features(record)
            if not feats:
                continue
            with self._lock:
                if self.embedder is None:
                    self.embedder = SituationEmbedder(tuple(sorted(feats)))
                embedder = self.embedder
            regime = record_regime(record)
            ids.append(record.record_id)
            vectors.append(embedder.embed(feats, regime))
            metas.append(_metadata(record, regime))
        if ids:
            self.index.add(ids, np.vstack(vectors), metas)
        return len(ids)

    def search(
        self, record_or_features: FeedbackRecord | Mapping[str, Any], *,
        regime: str | None = None, where: Where | None = None, k: int = 10,
        before: datetime | None = None,
    ) -> list[SimilarSituation]:
        """The ``k`` nearest past situations (optionally ``where``-filtered, or ``before`` a time).

        ``record_or_features`` is a FeedbackRecord or a mapping of feature name to value.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValidationError("search_similar", [FieldProblem("k", k, "must be an int >= 1")])
        if isinstance(record_or_features, FeedbackRecord):
            feats: Mapping[str, Any] = record_features(record_or_features)
            regime = regime or record_regime(record_or_features)
        elif isinstance(record_or_features, Mapping):
            feats = record_or_features
        else:
            raise ValidationError("search_similar", [FieldProblem(
                "record_or_features", type(record_or_features).__name__,
                "pass a FeedbackRecord or a mapping of feature name to number")])
        if self.embedder is None:
            return []
        unknown = [n for n in feats if n not in self.embedder.feature_names]
        if not any(n in self.embedder.feature_names for n in feats):
            raise ValidationError("search_similar", [FieldProblem(
                "features", unknown, "none of these are indexed; indexed features: "
                f"{list(self.embedder.feature_names)}")])
        cond: dict[str, Any] = dict(where or {})
        if before is not None:
            cond = {"$and": [cond, {"time": {"$lt": before.timestamp()}}]} if cond else {
                "time": {"$lt": before.timestamp()}}
        hits = self.index.query(self.embedder.embed(feats, regime), k, cond or None)
        return [_situation(h) for h in hits]


def _metadata(record: FeedbackRecord, regime: str | None) -> dict[str, MetadataValue]:
    """What comes back with a match and what ``where`` filters on."""
    meta: dict[str, MetadataValue] = {
        "feedback_type": record.feedback_type,
        "source_engine": record.source_engine,
        "timestamp": record.timestamp.isoformat(),
        "time": record.timestamp.timestamp(),
    }
    if record.outcome is not None and math.isfinite(record.outcome):
        meta["outcome"] = float(record.outcome)
    if regime:
        meta["regime"] = regime
    if record.symbol:
        meta["symbol"] = record.symbol
    for key in ("model_name", "model_version"):
        if isinstance(record.data.get(key), str):
            meta[key] = record.data[key]
    return meta


def _situation(hit: IndexHit) -> SimilarSituation:
    m = hit.metadata
    outcome = m.get("outcome")
    return SimilarSituation(
        record_id=hit.id,
        distance=hit.distance,
        outcome=float(outcome) if isinstance(outcome, int | float) else None,
        regime=str(m["regime"]) if "regime" in m else None,
        symbol=str(m["symbol"]) if "symbol" in m else None,
        timestamp=str(m["timestamp"]) if "timestamp" in m else None,
        feedback_type=str(m["feedback_type"]) if "feedback_type" in m else None,
        metadata=dict(m),
    )


class SituationIndex:
    """A SimilaritySearch built on first use: the stored feedback first, then each new record.

    ``make_index`` creates the vector index (it may raise MissingExtraError); ``load`` reads the
    stored records. Records seen before the first search wait in a bounded queue, so nothing
    recorded while the index was not yet built is missed (ids make re-adding harmless).
    """

    def __init__(
        self,
        make_index: Callable[[], VectorIndex],
        load: Callable[[], Iterable[FeedbackRecord]],
        embedder: SituationEmbedder | None = None,
        pending_limit: int = 10_000,
    ) -> None:
        self._make_index = make_index
        self._load = load
        self._embedder = embedder
        self._pending: deque[FeedbackRecord] = deque(maxlen=pending_limit)
        self._search: SimilaritySearch | None = None
        self._lock = threading.Lock()

    def on_record(self, record: FeedbackRecord) -> None:
        """Collector listener: index now when built, else keep for the build."""
        search = self._search
        if search is not None:
            search.add(record)
        elif record_features(record):
            self._pending.append(record)

    def searcher(self) -> SimilaritySearch:
        """The built search (building it now from the store and the queue if needed)."""
        with self._lock:
            if self._search is None:
                search = SimilaritySearch(self._make_index(), self._embedder)
                search.add_many(self._load())
                pending = list(self._pending)
                self._pending.clear()
                search.add_many(pending)
                self._search = search
            return self._search

    def search(
        self, record_or_features: FeedbackRecord | Mapping[str, Any], *,
        regime: str | None = None, where: Where | None = None, k: int = 10,
        before: datetime | None = None,
    ) -> list[SimilarSituation]:
        """See :meth:`SimilaritySearch.search`."""
        return self.searcher().search(record_or_features, regime=regime, where=where, k=k,
                                      before=before)
