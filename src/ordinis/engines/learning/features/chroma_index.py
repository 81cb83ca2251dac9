"""ChromaDB behind the VectorIndex protocol (the ``vectors`` extra): embedded, on disk or in memory.

Vectors are given explicitly (no embedding function, so nothing is downloaded); telemetry is off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ordinis.engines.learning.core.errors import MissingExtraError
from ordinis.engines.learning.features.similarity import IndexHit, MetadataValue, Where


def _chromadb() -> Any:
    try:
        import chromadb
    except ImportError:
        raise MissingExtraError("similarity search (ChromaIndex)", "vectors", "chromadb") from None
    return chromadb


class ChromaIndex:
    """One Chroma collection (L2 space); ``path=None`` keeps it in memory."""

    def __init__(self, path: str | Path | None = None, collection: str = "feedback") -> None:
        chromadb = _chromadb()
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        if path is None:
            self._client = chromadb.EphemeralClient(settings=settings)
        else:
            Path(path).mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(path), settings=settings)
        self._collection = self._client.get_or_create_collection(
            collection, embedding_function=None, metadata={"hnsw:space": "l2"})

    def add(self, ids: Sequence[str], vectors: np.ndarray,
            metadatas: Sequence[Mapping[str, MetadataValue]]) -> None:
        if not len(ids):
            return
        self._collection.upsert(
            ids=list(ids),
            embeddings=np.asarray(vectors, dtype=float).tolist(),
            metadatas=[dict(m) for m in metadatas],
        )

    def query(self, vector: np.ndarray, k: int, where: Where | None = None) -> list[IndexHit]:
        n = self.count()
        if n == 0:
            return []
        res = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=float).tolist()],
            n_results=min(k, n),
            where=dict(where) if where else None,
            include=["metadatas", "distances"],
        )
        ids = res["ids"][0]
        dists = (res.get("distances") or [[]])[0]
        metas = (res.get("metadatas") or [[]])[0]
        return [IndexHit(str(i), float(d), dict(m or {}))
                for i, d, m in zip(ids, dists, metas, strict=True)]

    def count(self) -> int:
        return int(self._collection.count())
