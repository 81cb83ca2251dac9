"""The engine's features: the set registry, the feature store file, user packs, similar situations.

The FeatureStore (``<data_dir>/features.duckdb``) opens on first use, or at start when the
file already exists; its sets join the registry so a job can name them. The similarity index
over feedback is built on the first search (the ``vectors`` extra).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.core.models import FeedbackRecord
from ordinis.engines.learning.evaluation.benchmarks import BenchmarkDataset, BenchmarkRegistry
from ordinis.engines.learning.features import (
    FeatureFunction,
    FeatureSet,
    FeatureSetRegistry,
    FeatureSource,
    FeatureSpec,
    FeatureStore,
    SituationIndex,
    VectorIndex,
    default_feature_sets,
    make_feature_set,
)

log = logging.getLogger(__name__)
STORE_FILE = "features.duckdb"
SIMILARITY_BACKFILL = 100_000  # stored feedback records indexed on the first search


class FeatureService:
    """Feature sets by name and version, the feature store, and the packs that compute them."""

    def __init__(self, data_dir: Path, clock: Clock, benchmarks: BenchmarkRegistry) -> None:
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.benchmarks = benchmarks
        self.sets: FeatureSetRegistry = default_feature_sets()
        self._store: FeatureStore | None = None
        if (self.data_dir / STORE_FILE).exists():
            self.store()

    def store(self) -> FeatureStore:
        """The feature store (opened on first use)."""
        if self._store is None:
            self._store = FeatureStore(self.data_dir / STORE_FILE, clock=self.clock)
        return self._store

    def synced_sets(self) -> FeatureSetRegistry:
        """The registry, with every version the store holds (store sets created since)."""
        if self._store is not None:
            for fs in self._store.feature_sets():
                try:
                    self.sets.register(fs)
                except ValidationError:
                    log.warning("feature set %s in the store clashes with a registered set; "
                                "the registered one is used", fs.ref)
        return self.sets

    def open_store(self) -> FeatureStore | None:
        return self._store

    def function_of(self, lineage: Mapping[str, str]) -> FeatureFunction | None:
        """The feature function of a version's set (lineage), when it is a registered one."""
        name, version = lineage.get("feature_set"), lineage.get("feature_set_version")
        fs = self.sets.find(f"{name}@v{version}" if name and version else None)
        if fs is None or fs.source is not FeatureSource.FUNCTION or not fs.function:
            return None
        fn = self.sets.function(fs.function)
        return fn if set(fn.names) >= set(fs.names) else None

    def register_set(
        self, name: str, features: Iterable[str | FeatureSpec], *, version: int = 1,
        source: str = "payload", function: str | None = None, ttl_seconds: float | None = None,
        description: str = "",
    ) -> FeatureSet:
        return self.sets.register(make_feature_set(
            name, features, version=version, source=source, function=function,
            ttl_seconds=ttl_seconds, description=description))

    def register_function(self, function: FeatureFunction, description: str = "") -> FeatureSet:
        return self.sets.register_function(function, description)

    def register_benchmark(
        self, name: str, prices: pd.DataFrame | pd.Series, *,
        feature_function: FeatureFunction | str | None = None, **kwargs: Any,
    ) -> BenchmarkDataset:
        """A user pack whose features come from ``feature_function`` (a registered name too)."""
        fn = self.sets.function(feature_function) if isinstance(feature_function, str) \
            else feature_function
        if fn is not None and fn.name not in {f.name for f in self.sets.functions()}:
            self.sets.register_function(fn)
        return self.benchmarks.register_dataframe(name, prices, feature_function=fn, **kwargs)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def chroma_situations(load: Any) -> SituationIndex:
    """A SituationIndex over an in-memory Chroma collection of its own (vectors extra)."""
    collection = f"feedback_{uuid.uuid4().hex[:12]}"

    def make_index() -> VectorIndex:
        from ordinis.engines.learning.features.chroma_index import ChromaIndex

        return ChromaIndex(None, collection=collection)

    def records() -> Iterable[FeedbackRecord]:
        return list(load(limit=SIMILARITY_BACKFILL, descending=True))

    return SituationIndex(make_index, records)
