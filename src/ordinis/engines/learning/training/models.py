"""SignalModel: a fitted classifier of the next return's sign, exposed as a signal in [-1, 1].

It implements ``core.protocol.PredictiveModel`` so the evaluator and the router can use any
trained signal model the same way; it pickles (joblib) with its estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError


class SignalModel:
    """Signal = 2 * p(up) - 1; signals whose size is below ``threshold`` are set to 0 (no trade)."""

    def __init__(
        self,
        feature_names: Sequence[str],
        estimator: Any,
        algorithm: str,
        threshold: float = 0.0,
    ) -> None:
        if not 0.0 <= threshold < 1.0:
            raise ValueError(f"threshold={threshold!r}: must be in [0, 1)")
        self.feature_names: tuple[str, ...] = tuple(str(n) for n in feature_names)
        self.estimator = estimator
        self.algorithm = algorithm
        self.threshold = float(threshold)

    def __getstate__(self) -> dict[str, Any]:
        """The model's state without the per-process column check (artifacts stay the same)."""
        state = dict(self.__dict__)
        state.pop("_checked_columns", None)
        return state

    def __repr__(self) -> str:
        return (
            f"SignalModel(algorithm={self.algorithm!r}, n_features={len(self.feature_names)}, "
            f"threshold={self.threshold})"
        )

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        """Validate X at the edge and return its feature columns, in training order."""
        if not isinstance(X, pd.DataFrame):
            raise ValidationError(
                "model input",
                [FieldProblem("X", type(X).__name__, "must be a pandas DataFrame with columns "
                              f"{list(self.feature_names)}")],
            )
        names = list(self.feature_names)
        # the common case: the columns are exactly the training columns, in order (no reindex);
        # a host that reuses one column Index per call is checked once
        columns = X.columns
        if columns is getattr(self, "_checked_columns", None) or list(columns) == names:
            self._checked_columns = columns
            frame: pd.DataFrame | None = X
        else:
            frame = None
        missing = [] if frame is not None else [n for n in names if n not in X.columns]
        if missing:
            raise ValidationError(
                "model input",
                [FieldProblem("X.columns", list(map(str, X.columns)),
                              f"missing feature column(s) {missing}; the model needs "
                              f"{list(self.feature_names)}")],
            )
        if frame is None:
            frame = X.loc[:, names]
        try:
            values = frame.to_numpy(dtype=float)
        except (TypeError, ValueError):
            bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
            raise ValidationError(
                "model input", [FieldProblem("X.columns", bad, "must hold numbers")]
            ) from None
        if values.size and not np.isfinite(values).all():
            bad_cols = [n for n, ok in zip(self.feature_names, np.isfinite(values).all(axis=0),
                                           strict=True) if not ok]
            raise ValidationError(
                "model input",
                [FieldProblem("X", bad_cols,
                              "NaN or infinite values in these feature columns; drop or fill "
                              "those rows before predicting")],
            )
        return values

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Per row [p(down or flat), p(up)], shape (n, 2)."""
        values = self._matrix(X)
        if len(values) == 0:
            return np.empty((0, 2))
        lgbm = self.algorithm == "lightgbm"
        booster = getattr(self.estimator, "booster_", None) if lgbm else None
        if booster is not None:
            # The serving path: the fitted booster on the validated matrix, one thread (OpenMP
            # start-up costs more than a bar's rows; a busy host's cores are not ours to take).
            up = np.asarray(booster.predict(values, num_threads=1), dtype=float)
            return np.column_stack([1.0 - up, up])
        frame = pd.DataFrame(values, columns=list(self.feature_names))
        proba = np.asarray(self.estimator.predict_proba(frame), dtype=float)
        return proba

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Per row a signal in [-1, 1]: sign is the direction, size the conviction."""
        proba = self.predict_proba(X)
        if len(proba) == 0:
            return np.empty(0)
        signal = np.clip(2.0 * proba[:, 1] - 1.0, -1.0, 1.0)
        if self.threshold > 0:
            signal = np.where(np.abs(signal) < self.threshold, 0.0, signal)
        return signal
