"""Time-series cross-validation for trainers, on time rather than on row order.

Rows of several symbols share timestamps, so the evaluation package's splitters (which count
rows) run here over the *distinct timestamps*, and each fold is mapped back to every row of its
timestamps: a timestamp is never split between train and test, and purge and embargo are
counted in bars of time. :func:`run_time_cv` fits one fresh classifier per fold through
``evaluation.cross_validate`` and keeps each fold's out-of-sample probabilities for scoring.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.errors import (
    FieldProblem,
    InsufficientDataError,
    TrainingError,
    ValidationError,
)
from ordinis.engines.learning.evaluation.cross_validation import (  # not the package: workers
    CombinatorialPurged,
    CVResult,
    PurgedKFold,
    Splitter,
    WalkForwardSplit,
    cross_validate,
)

CV_METHODS = ("purged_kfold", "walk_forward", "combinatorial", "none")
DEFAULT_CV = "purged_kfold"
DEFAULT_CV_FOLDS = 5  # LearningEngineConfig.cross_validation_folds' default
DEFAULT_CV_EMBARGO = 0.01  # a fraction of the distinct timestamps (López de Prado's 1 %)
DEFAULT_CV_PURGE = 1  # bars: the target is the return from t to t+1
DEFAULT_CV_TEST_FOLDS = 2
MAX_CV_FOLDS = 50
MAX_CV_SPLITS = 100

Split = tuple[np.ndarray, np.ndarray]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_cv_config(config: Mapping[str, Any]) -> list[FieldProblem]:
    """Every problem of the ``cv*`` keys of a job config (empty list when valid)."""
    problems: list[FieldProblem] = []
    method = config.get("cv", DEFAULT_CV)
    if method not in CV_METHODS:
        problems.append(FieldProblem(
            "config.cv", method,
            f"unknown cross-validation method; choose one of {list(CV_METHODS)}"))
    folds = config.get("cv_folds", DEFAULT_CV_FOLDS)
    if not _is_int(folds) or not 2 <= folds <= MAX_CV_FOLDS:
        problems.append(FieldProblem(
            "config.cv_folds", folds, f"must be a whole number from 2 to {MAX_CV_FOLDS}"))
    embargo = config.get("cv_embargo", DEFAULT_CV_EMBARGO)
    if _is_int(embargo):
        if embargo < 0:
            problems.append(FieldProblem(
                "config.cv_embargo", embargo, "bars must be a whole number >= 0"))
    elif isinstance(embargo, float) and not isinstance(embargo, bool):
        if not (math.isfinite(embargo) and 0.0 <= embargo < 1.0):
            problems.append(FieldProblem(
                "config.cv_embargo", embargo,
                "a fraction of the timestamps must be in [0, 1); give bars as a whole number "
                "(e.g. 5)"))
    else:
        problems.append(FieldProblem(
            "config.cv_embargo", embargo,
            "must be a fraction of the timestamps in [0, 1) (e.g. 0.01) or a whole number of "
            "bars >= 0 (e.g. 5)"))
    purge = config.get("cv_purge", DEFAULT_CV_PURGE)
    if not _is_int(purge) or purge < 0:
        problems.append(FieldProblem(
            "config.cv_purge", purge, "must be a whole number of bars >= 0 (the label horizon)"))
    tests = config.get("cv_test_folds", DEFAULT_CV_TEST_FOLDS)
    if not _is_int(tests) or tests < 1:
        problems.append(FieldProblem(
            "config.cv_test_folds", tests, "must be a whole number >= 1"))
    elif method == "combinatorial" and _is_int(folds) and 2 <= folds <= MAX_CV_FOLDS:
        if folds < 3:
            problems.append(FieldProblem(
                "config.cv_folds", folds, "combinatorial cross-validation needs cv_folds >= 3"))
        elif tests >= folds:
            problems.append(FieldProblem(
                "config.cv_test_folds", tests,
                f"must be smaller than cv_folds ({folds}) for combinatorial cross-validation"))
        elif math.comb(folds, tests) > MAX_CV_SPLITS:
            problems.append(FieldProblem(
                "config.cv_test_folds", tests,
                f"cv_folds={folds} choose cv_test_folds={tests} is {math.comb(folds, tests)} "
                f"train/test splits; at most {MAX_CV_SPLITS}: lower cv_folds or cv_test_folds"))
    return problems


@dataclass(frozen=True, slots=True)
class CVSettings:
    """The validated ``cv*`` keys of a job config."""

    method: str = DEFAULT_CV
    folds: int = DEFAULT_CV_FOLDS
    embargo: int | float = DEFAULT_CV_EMBARGO
    purge: int = DEFAULT_CV_PURGE
    test_folds: int = DEFAULT_CV_TEST_FOLDS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CVSettings:
        """Settings from a job config; raises ValidationError naming every bad key."""
        problems = validate_cv_config(config)
        if problems:
            raise ValidationError("cross-validation config", problems)
        return cls(
            method=str(config.get("cv", DEFAULT_CV)),
            folds=int(config.get("cv_folds", DEFAULT_CV_FOLDS)),
            embargo=config.get("cv_embargo", DEFAULT_CV_EMBARGO),
            purge=int(config.get("cv_purge", DEFAULT_CV_PURGE)),
            test_folds=int(config.get("cv_test_folds", DEFAULT_CV_TEST_FOLDS)),
        )

    @property
    def enabled(self) -> bool:
        return self.method != "none"

    def embargo_bars(self, n_times: int) -> int:
        """The embargo in bars: whole numbers are bars, a float is a fraction of ``n_times``."""
        if _is_int(self.embargo):
            return int(self.embargo)
        return math.ceil(float(self.embargo) * n_times)

    def splitter(self, n_times: int) -> Splitter:
        """The evaluation-package splitter of this method over ``n_times`` distinct timestamps.

        Walk-forward trains only on the past (expanding window), so it has no embargo; its
        ``folds`` test windows of equal size cover the latest ``folds / (folds + 1)`` of time.
        """
        if self.method == "purged_kfold":
            return PurgedKFold(n_splits=self.folds, purge=self.purge,
                               embargo=self.embargo_bars(n_times))
        if self.method == "combinatorial":
            return CombinatorialPurged(n_folds=self.folds, n_test_folds=self.test_folds,
                                       purge=self.purge, embargo=self.embargo_bars(n_times))
        if self.method == "walk_forward":
            test_size = max(n_times // (self.folds + 1), 1)
            train_size = max(n_times - self.folds * test_size - self.purge, 1)
            return WalkForwardSplit(test_size=test_size, train_size=train_size,
                                    purge=self.purge, expand_train=True)
        raise ValueError(f"cv={self.method!r} has no splitter")


class TimeGroupedSplitter:
    """A Splitter over rows that runs ``inner`` on the distinct timestamps and maps back.

    Every row of a timestamp lands on the same side, so purge and embargo (counted by
    ``inner`` in positions) are bars of time, however many symbols share a timestamp.
    """

    def __init__(self, inner: Splitter, timestamps: pd.Series | np.ndarray) -> None:
        self.inner = inner
        codes, uniques = pd.factorize(pd.Series(timestamps).to_numpy(), sort=True)
        if (codes < 0).any():
            raise ValidationError("cross-validation", [FieldProblem(
                "timestamps", "NaT", "every row needs a timestamp")])
        self.time_codes: np.ndarray = codes
        self.times: np.ndarray = np.asarray(uniques)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def n_times(self) -> int:
        return len(self.times)

    def split(self, n_samples: int) -> Iterator[Split]:
        """(train rows, test rows) per fold of ``inner`` over the distinct timestamps."""
        if n_samples != len(self.time_codes):
            raise ValueError(f"n_samples={n_samples}: this splitter was built for "
                             f"{len(self.time_codes)} rows")
        for train_t, test_t in self.inner.split(self.n_times):
            yield self._rows(train_t), self._rows(test_t)

    def _rows(self, time_positions: np.ndarray) -> np.ndarray:
        chosen = np.zeros(self.n_times, dtype=bool)
        chosen[np.asarray(time_positions, dtype=int)] = True
        return np.flatnonzero(chosen[self.time_codes])


@dataclass(slots=True)
class FoldPrediction:
    """One fold: its rows and the probabilities of ``up`` its model gave on the test rows."""

    fold: int
    train_rows: np.ndarray
    test_rows: np.ndarray
    p_up: np.ndarray


@dataclass(slots=True)
class TimeCVRun:
    """The result of :func:`run_time_cv`: the evaluation package's CVResult and the folds."""

    method: str
    cv: CVResult
    folds: list[FoldPrediction]
    embargo_bars: int
    purge_bars: int
    n_times: int
    extra: dict[str, Any] = field(default_factory=dict)


class _FoldEstimator:
    """One fold's classifier as ``cross_validate`` sees it: fits a fresh estimator, reports the
    fold's progress and keeps the test probabilities it hands out."""

    def __init__(self, fold: int, make: Callable[[], Any],
                 on_fit: Callable[[int, int], None]) -> None:
        self.fold = fold
        self._make = make
        self._on_fit = on_fit
        self.estimator: Any = None
        self.train_rows = np.zeros(0, dtype=int)
        self.test_rows = np.zeros(0, dtype=int)
        self.p_up = np.zeros(0)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _FoldEstimator:
        if np.unique(y).size < 2:
            raise TrainingError(
                f"cross-validation fold {self.fold + 1}: its training rows hold only one class "
                "of next-return sign; use a longer data window, fewer cv_folds, or cv: none")
        self._on_fit(self.fold, len(X))
        self.train_rows = X.index.to_numpy()
        self.estimator = self._make()
        self.estimator.fit(X, y)
        return self

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.estimator.classes_)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = np.asarray(self.estimator.predict_proba(X))
        self.test_rows = X.index.to_numpy()
        self.p_up = proba[:, list(self.classes_).index(1)]
        return proba


def run_time_cv(
    settings: CVSettings,
    make_estimator: Callable[[], Any],
    X: pd.DataFrame,
    returns: np.ndarray,
    timestamps: pd.Series,
    progress: Callable[[int, int, int, int], None] | None = None,
) -> TimeCVRun:
    """Cross-validate ``make_estimator()`` (a 0/1 classifier of ``returns > 0``) over time.

    ``progress(fold, n_folds, n_train, n_test)`` is called before each fold is fitted. Too
    few distinct timestamps for the settings raise InsufficientDataError saying what to change.
    """
    Xr = X.reset_index(drop=True)
    n_times = int(pd.Series(timestamps).nunique())
    embargo = settings.embargo_bars(n_times) if settings.method != "walk_forward" else 0
    grouped = TimeGroupedSplitter(settings.splitter(n_times), timestamps)
    advice = ("use a longer data window, lower cv_folds, cv_embargo or cv_purge, or set cv: "
              "none")
    try:
        splits = list(grouped.split(len(Xr)))
    except ValueError as exc:  # ValidationError from our splitters, ValueError from skfolio
        why = "; ".join(map(str, exc.problems)) if isinstance(exc, ValidationError) else str(exc)
        raise InsufficientDataError(
            f"cross-validation cv={settings.method!r} with cv_folds={settings.folds}, "
            f"purge {settings.purge} and embargo {embargo} bars cannot split {n_times} distinct "
            f"timestamps ({why}); {advice}") from None
    empty = [k + 1 for k, (tr, te) in enumerate(splits) if tr.size == 0 or te.size == 0]
    if not splits or empty:
        raise InsufficientDataError(
            f"cross-validation cv={settings.method!r} with cv_folds={settings.folds}, purge "
            f"{settings.purge} and embargo {embargo} bars leaves fold(s) {empty} without "
            f"training or test rows on {n_times} distinct timestamps; {advice}")
    made: list[_FoldEstimator] = []

    def on_fit(fold: int, n_train: int) -> None:
        if progress is not None:
            progress(fold, len(splits), n_train, int(splits[fold][1].size))

    def make() -> _FoldEstimator:
        est = _FoldEstimator(len(made), make_estimator, on_fit)
        made.append(est)
        return est

    result = cross_validate(make, Xr, np.asarray(returns, dtype=float), grouped)
    folds = [FoldPrediction(e.fold, e.train_rows, e.test_rows, e.p_up) for e in made]
    return TimeCVRun(settings.method, result, folds, embargo, settings.purge, n_times)
