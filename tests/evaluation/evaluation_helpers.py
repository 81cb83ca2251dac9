"""Small PredictiveModels for the evaluation tests (imported by name: tests are not a package)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ordinis.engines.learning.features.bar_features import FEATURE_NAMES


class SklearnSignal:
    """A PredictiveModel around a fitted classifier: signal = 2 p(up) - 1."""

    def __init__(self, clf: object, feature_names: Sequence[str] = FEATURE_NAMES) -> None:
        self.clf = clf
        self.feature_names = list(feature_names)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return 2.0 * self.clf.predict_proba(X[self.feature_names])[:, 1] - 1.0  # type: ignore[attr-defined]


class RandomSignal:
    """A model with no skill: a fixed pseudo-random +-1 per row, seeded by ``seed``."""

    feature_names = list(FEATURE_NAMES)

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.random.default_rng(self.seed).choice([-1.0, 1.0], size=len(X))
