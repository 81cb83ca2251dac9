"""Similarity search: one contract for the brute-force index and Chroma; recall against exact."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ordinis.engines.learning.core.errors import MissingExtraError, ValidationError
from ordinis.engines.learning.core.models import FeedbackRecord
from ordinis.engines.learning.features import (
    BruteForceIndex,
    SimilaritySearch,
    SituationEmbedder,
    VectorIndex,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
NAMES = ("ret_0", "vol_20", "skew")


def chroma() -> VectorIndex:
    from ordinis.engines.learning.features.chroma_index import ChromaIndex

    return ChromaIndex(None, collection=f"t{np.random.default_rng().integers(1 << 30)}")


INDEXES: dict[str, Callable[[], VectorIndex]] = {"brute_force": BruteForceIndex, "chroma": chroma}


def record(i: int, feats: dict[str, float], regime: str, outcome: float) -> FeedbackRecord:
    return FeedbackRecord(
        "trade_outcome", "portfolio", symbol="NDX", timestamp=T0 + timedelta(hours=i),
        data={"pnl": outcome, "metadata": {"features": feats, "regime": regime}},
        outcome=outcome, record_id=f"r{i}")


def history(n: int, seed: int = 0) -> list[FeedbackRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        x = rng.standard_normal(len(NAMES))
        out.append(record(i, dict(zip(NAMES, map(float, x), strict=True)),
                          "bull" if rng.random() < 0.5 else "bear", float(rng.standard_normal())))
    return out


@pytest.fixture(params=list(INDEXES))
def search(request: pytest.FixtureRequest) -> SimilaritySearch:
    return SimilaritySearch(INDEXES[request.param](), SituationEmbedder(NAMES))


def test_nearest_situation_comes_back_with_its_outcome(search: SimilaritySearch) -> None:
    for r in history(50):
        search.add(r)
    target = record(99, {"ret_0": 5.0, "vol_20": 5.0, "skew": 5.0}, "bear", 0.42)
    search.add(target)
    found = search.search({"ret_0": 4.9, "vol_20": 5.1, "skew": 5.0}, regime="bear", k=3)
    assert found[0].record_id == "r99"
    assert found[0].outcome == pytest.approx(0.42)
    assert (found[0].regime, found[0].symbol) == ("bear", "NDX")
    assert [f.distance for f in found] == sorted(f.distance for f in found)


def test_where_and_before_filter_the_candidates(search: SimilaritySearch) -> None:
    recs = history(60)
    for r in recs:
        search.add(r)
    found = search.search(recs[0], where={"regime": "bull"}, k=10)
    assert found and all(f.regime == "bull" for f in found)
    early = search.search(recs[0], before=T0 + timedelta(hours=10), k=20)
    assert {f.record_id for f in early} <= {f"r{i}" for i in range(10)}
    assert len(early) == 10


def test_records_without_features_are_not_indexed_and_k_is_checked(
    search: SimilaritySearch,
) -> None:
    assert not search.add(FeedbackRecord("trade_outcome", "portfolio", data={"pnl": 1.0}))
    assert search.index.count() == 0
    search.add(history(1)[0])
    with pytest.raises(ValidationError, match="k"):
        search.search({"ret_0": 1.0}, k=0)
    with pytest.raises(ValidationError, match="indexed features"):
        search.search({"unknown": 1.0})


def test_chroma_recall_against_brute_force() -> None:
    exact = SimilaritySearch(BruteForceIndex(), SituationEmbedder(NAMES))
    approx = SimilaritySearch(chroma(), SituationEmbedder(NAMES))
    recs = history(1500, seed=3)
    assert exact.add_many(recs) == approx.add_many(recs) == 1500
    rng = np.random.default_rng(11)
    hits = total = 0
    for q in rng.standard_normal((40, len(NAMES))):
        feats = dict(zip(NAMES, map(float, q), strict=True))
        regime = "bull" if rng.random() < 0.5 else "bear"
        truth = {f.record_id for f in exact.search(feats, regime=regime, k=10)}
        got = {f.record_id for f in approx.search(feats, regime=regime, k=10)}
        hits += len(truth & got)
        total += len(truth)
    assert hits / total >= 0.95


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "chromadb", None)
    from ordinis.engines.learning.features.chroma_index import ChromaIndex

    with pytest.raises(MissingExtraError, match=r"ordinis-learning\[vectors\]"):
        ChromaIndex(None)


def test_first_record_fixes_the_embedded_feature_names() -> None:
    s = SimilaritySearch(BruteForceIndex())
    s.add(record(0, {"b": 1.0, "a": 2.0}, "bull", 0.1))
    assert s.embedder is not None and s.embedder.feature_names == ("a", "b")
