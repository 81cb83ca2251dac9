"""Time-series cross-validation for trading models behind one small splitter interface.

Splitters: :class:`PurgedKFold` (contiguous folds, purge + embargo around each test fold),
:class:`CombinatorialPurged` (skfolio's ``CombinatorialPurgedCV``), :class:`WalkForwardSplit`
(skfolio's ``WalkForward``) and :class:`ShuffledKFold`, the naive leaky baseline kept only to
measure how much shuffling inflates a score (a large naive-vs-purged gap flags leakage).

``purge`` drops training rows whose label window overlaps the test fold (set it to the label
horizon in bars); ``embargo`` additionally drops rows right after the test fold, whose features
were computed from the test period.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError

Split = tuple[np.ndarray, np.ndarray]


@runtime_checkable
class Splitter(Protocol):
    """Yields (train_indices, test_indices) over ``n_samples`` rows in time order."""

    @property
    def name(self) -> str: ...

    def split(self, n_samples: int) -> Iterator[Split]: ...


@dataclass(frozen=True, slots=True)
class PurgedKFold:
    """K contiguous test folds; training drops ``purge`` rows before, ``embargo`` after each."""

    n_splits: int = 5
    purge: int = 1
    embargo: int = 0
    name: str = "purged_kfold"

    def split(self, n_samples: int) -> Iterator[Split]:
        _check(self.name, n_samples, self.n_splits)
        bounds = np.linspace(0, n_samples, self.n_splits + 1).astype(int)
        rows = np.arange(n_samples)
        for lo, hi in itertools.pairwise(bounds):
            keep = (rows < lo - self.purge) | (rows >= hi + self.embargo)
            yield rows[keep], rows[lo:hi]


@dataclass(frozen=True, slots=True)
class CombinatorialPurged:
    """skfolio ``CombinatorialPurgedCV``: every choice of ``n_test_folds`` of ``n_folds`` folds."""

    n_folds: int = 6
    n_test_folds: int = 2
    purge: int = 1
    embargo: int = 0
    name: str = "combinatorial_purged"

    def split(self, n_samples: int) -> Iterator[Split]:
        _check(self.name, n_samples, self.n_folds)
        from skfolio.model_selection import CombinatorialPurgedCV  # ~1 s: only when used

        cv = CombinatorialPurgedCV(
            n_folds=self.n_folds,
            n_test_folds=self.n_test_folds,
            purged_size=self.purge,
            embargo_size=self.embargo,
        )
        for train, tests in cv.split(np.zeros((n_samples, 1))):
            yield np.asarray(train), np.sort(np.concatenate([np.asarray(t) for t in tests]))


@dataclass(frozen=True, slots=True)
class WalkForwardSplit:
    """skfolio ``WalkForward``: train on ``train_size`` rows, test on the next ``test_size``."""

    test_size: int = 63
    train_size: int = 504
    purge: int = 1
    expand_train: bool = False
    name: str = "walk_forward"

    def split(self, n_samples: int) -> Iterator[Split]:
        if n_samples < self.train_size + self.purge + self.test_size:
            raise ValidationError(
                "splitter",
                [
                    FieldProblem(
                        "n_samples",
                        n_samples,
                        f"walk-forward needs >= train_size + purge + test_size "
                        f"= {self.train_size + self.purge + self.test_size} rows",
                    )
                ],
            )
        from skfolio.model_selection import WalkForward  # ~1 s: only when used

        cv = WalkForward(
            test_size=self.test_size,
            train_size=self.train_size,
            purged_size=self.purge,
            expand_train=self.expand_train,
        )
        for train, test in cv.split(np.zeros((n_samples, 1))):
            yield np.asarray(train), np.asarray(test)


@dataclass(frozen=True, slots=True)
class ShuffledKFold:
    """Naive shuffled k-fold (leaks across time); only for measuring a leakage gap."""

    n_splits: int = 5
    seed: int = 0
    name: str = "shuffled_kfold"

    def split(self, n_samples: int) -> Iterator[Split]:
        _check(self.name, n_samples, self.n_splits)
        kf = KFold(n_splits=self.n_splits, shuffle=True, random_state=self.seed)
        yield from kf.split(np.zeros((n_samples, 1)))


def _check(name: str, n_samples: int, folds: int) -> None:
    if n_samples < 2 * folds:
        raise ValidationError(
            "splitter", [FieldProblem("n_samples", n_samples, f"{name} needs >= {2 * folds} rows")]
        )


# --------------------------------------------------------------------------- cross_validate


@dataclass(slots=True)
class FoldResult:
    """Out-of-sample scores of one fold."""

    fold: int
    n_train: int
    n_test: int
    metrics: dict[str, float]


@dataclass(slots=True)
class CVResult:
    """Per-fold metrics, their mean and std, and the out-of-sample signals.

    ``oos_signals`` holds one signal per row that was ever in a test fold (the mean when a row
    was tested several times, as in combinatorial CV); other rows are NaN.
    """

    splitter: str
    folds: list[FoldResult]
    mean: dict[str, float]
    std: dict[str, float]
    oos_signals: pd.Series
    extra: dict[str, Any] = field(default_factory=dict)


def signal_of(estimator: Any, X: pd.DataFrame) -> np.ndarray:
    """Signals in [-1, 1]: ``2 p(up) - 1`` for classifiers with ``predict_proba``, else clipped."""
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X))
        classes = list(getattr(estimator, "classes_", [0, 1]))
        up = classes.index(1) if 1 in classes else proba.shape[1] - 1
        return np.clip(2.0 * proba[:, up] - 1.0, -1.0, 1.0)
    pred = np.asarray(estimator.predict(X), dtype=float)
    if set(np.unique(pred)) <= {0.0, 1.0}:
        pred = 2.0 * pred - 1.0
    return np.clip(pred, -1.0, 1.0)


def fold_metrics(
    signal: np.ndarray, forward_return: np.ndarray, periods_per_year: float
) -> dict[str, float]:
    """Scores of signals against the returns they would earn (the target is t -> t+1)."""
    pnl = signal * forward_return
    sd = float(pnl.std(ddof=1)) if pnl.size > 1 else 0.0
    counted = (signal != 0) & (forward_return != 0)
    hits = np.sign(signal[counted]) == np.sign(forward_return[counted])
    return {
        "sharpe": float(pnl.mean() / sd * math.sqrt(periods_per_year)) if sd > 0 else 0.0,
        "hit_rate": float(hits.mean()) if hits.size else math.nan,
        "mean_return": float(pnl.mean()),
        "n_test": float(signal.size),
    }


def cross_validate(
    make_model: Callable[[], Any],
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    splitter: Splitter,
    *,
    periods_per_year: float = 252.0,
    label: Callable[[np.ndarray], np.ndarray] | None = None,
) -> CVResult:
    """Fit a fresh ``make_model()`` per fold and score its out-of-sample signals.

    ``y`` is the forward return of each row (``features.bar_features.next_return``); the model
    is fitted on ``label(y)`` (default: ``y > 0`` as 0/1) and scored on the returns it would earn.
    """
    yv = np.asarray(y, dtype=float)
    problems: list[FieldProblem] = []
    if len(X) != yv.shape[0]:
        problems.append(
            FieldProblem("y", yv.shape[0], f"must have one value per row of X ({len(X)})")
        )
    if X.isna().to_numpy().any():
        problems.append(FieldProblem("X", "NaN", "drop warm-up rows with missing features first"))
    if problems or not np.isfinite(yv).all():
        if not problems:
            problems.append(FieldProblem("y", "NaN/inf", "drop rows without a forward return"))
        raise ValidationError("cross_validate input", problems)
    to_label = label or (lambda r: (r > 0).astype(int))
    n = len(X)
    total = np.zeros(n)
    seen = np.zeros(n)
    folds: list[FoldResult] = []
    for k, (train, test) in enumerate(splitter.split(n)):
        model = make_model()
        model.fit(X.iloc[train], to_label(yv[train]))
        sig = signal_of(model, X.iloc[test])
        total[test] += sig
        seen[test] += 1
        folds.append(
            FoldResult(
                k, int(train.size), int(test.size), fold_metrics(sig, yv[test], periods_per_year)
            )
        )
    keys = list(folds[0].metrics) if folds else []
    table = np.array([[f.metrics[k] for k in keys] for f in folds]) if folds else np.zeros((0, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        oos = np.where(seen > 0, total / np.where(seen > 0, seen, 1), np.nan)
    return CVResult(
        splitter=splitter.name,
        folds=folds,
        mean={k: float(np.nanmean(table[:, i])) for i, k in enumerate(keys)},
        std={
            k: float(np.nanstd(table[:, i], ddof=1)) if len(folds) > 1 else 0.0
            for i, k in enumerate(keys)
        },
        oos_signals=pd.Series(oos, index=X.index, name="oos_signal"),
    )


@dataclass(frozen=True, slots=True)
class LeakageCheck:
    """Naive (shuffled) vs purged CV: a big gap means the model learns from leaked information."""

    metric: str
    naive: float
    purged: float
    gap: float
    max_gap: float

    @property
    def leakage_suspected(self) -> bool:
        return self.gap > self.max_gap


def leakage_check(
    naive: CVResult, purged: CVResult, metric: str = "hit_rate", max_gap: float = 0.05
) -> LeakageCheck:
    """Compare the same model under naive and purged CV on ``metric``."""
    a, b = naive.mean[metric], purged.mean[metric]
    return LeakageCheck(metric, a, b, a - b, max_gap)
