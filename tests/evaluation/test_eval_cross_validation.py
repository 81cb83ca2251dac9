"""Splitters (purge, embargo, skfolio wrappers) and leakage detection by naive-vs-purged CV."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.evaluation import (
    CombinatorialPurged,
    PurgedKFold,
    ShuffledKFold,
    WalkForwardSplit,
    cross_validate,
    leakage_check,
)
from ordinis.engines.learning.evaluation.benchmarks import sp500_index_close
from ordinis.engines.learning.features.bar_features import compute_bar_features


def test_purged_kfold_purges_and_embargoes_around_each_test_fold() -> None:
    splits = list(PurgedKFold(n_splits=4, purge=3, embargo=5).split(100))
    assert len(splits) == 4
    for train, test in splits:
        lo, hi = test.min(), test.max()
        assert np.all(np.diff(test) == 1)  # contiguous
        assert not np.any((train >= lo - 3) & (train <= hi + 5))
    assert np.array_equal(np.sort(np.concatenate([t for _, t in splits])), np.arange(100))


def test_combinatorial_and_walk_forward_never_train_on_test_rows() -> None:
    cpcv = list(CombinatorialPurged(n_folds=5, n_test_folds=2, purge=2, embargo=2).split(200))
    assert len(cpcv) == 10  # C(5, 2)
    wf = list(WalkForwardSplit(test_size=20, train_size=60, purge=2).split(200))
    assert wf and all(train.max() + 2 < test.min() for train, test in wf)
    for train, test in cpcv + wf:
        assert not set(train) & set(test)


def test_splitters_refuse_too_little_data() -> None:
    with pytest.raises(ValidationError, match="n_samples"):
        list(PurgedKFold(n_splits=5).split(6))
    with pytest.raises(ValidationError, match="walk-forward"):
        list(WalkForwardSplit(test_size=50, train_size=100).split(120))


def test_overlapping_label_leak_is_caught_by_the_naive_vs_purged_gap() -> None:
    """20-day forward labels overlap between neighbouring rows; a shuffled k-fold lets a
    nearest-neighbour model look the answer up in the training rows next to each test row.
    Purging the label horizon removes it: the gap flags the leak."""
    close = sp500_index_close()["1995":"2004"]
    X = compute_bar_features(close)[["mom_60", "vol_20", "ret_20"]]
    y = close.shift(-20) / close - 1.0
    ok = X.notna().all(axis=1) & y.notna()
    X, y = X[ok], y[ok]

    def make() -> Pipeline:
        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=3))

    naive = cross_validate(make, X, y, ShuffledKFold(n_splits=5, seed=1))
    purged = cross_validate(make, X, y, PurgedKFold(n_splits=5, purge=20, embargo=20))
    check = leakage_check(naive, purged, metric="hit_rate", max_gap=0.05)
    assert naive.mean["hit_rate"] > 0.65  # looks like a great model ...
    assert purged.mean["hit_rate"] < 0.58  # ... that has no real skill
    assert check.leakage_suspected and check.gap > 0.1


def test_cross_validate_returns_fold_metrics_and_oos_signals(train_xy) -> None:  # type: ignore[no-untyped-def]
    X, y = train_xy
    res = cross_validate(lambda: LogisticRegression(max_iter=300), X, y, PurgedKFold(4, 1, 5))
    assert len(res.folds) == 4 and res.splitter == "purged_kfold"
    assert set(res.mean) == {"sharpe", "hit_rate", "mean_return", "n_test"}
    assert res.oos_signals.notna().all() and res.oos_signals.abs().max() <= 1
    sound = leakage_check(
        cross_validate(lambda: LogisticRegression(max_iter=300), X, y, ShuffledKFold(4, seed=0)),
        res,
    )
    assert not sound.leakage_suspected  # a smooth linear model on point-in-time features
    with pytest.raises(ValidationError, match="y"):
        cross_validate(lambda: LogisticRegression(), X, y.iloc[:-1], PurgedKFold())
