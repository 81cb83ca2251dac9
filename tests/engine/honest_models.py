"""Models of the production-gate tests (imported by name so that pickling finds them)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ordinis.engines.learning.features.bar_features import FEATURE_NAMES


def _dates(X: pd.DataFrame) -> pd.DatetimeIndex:
    index = X.index.get_level_values(0) if isinstance(X.index, pd.MultiIndex) else X.index
    return pd.DatetimeIndex(index)


class Memoriser:
    """Knows the sign of the next day's return for every date it memorised; elsewhere it can
    only guess (a fixed pseudo-random sign per date)."""

    feature_names = list(FEATURE_NAMES)

    def __init__(self, next_sign: Mapping[pd.Timestamp, float], seed: int = 7) -> None:
        self.next_sign = dict(next_sign)
        self.seed = seed

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        dates = _dates(X)
        guess = np.random.default_rng(self.seed).choice([-1.0, 1.0], size=len(dates))
        known = np.array([self.next_sign.get(d, np.nan) for d in dates], dtype=float)
        return np.where(np.isnan(known), guess, known)


# Fixed centres and scales of the bar features (orders of magnitude of daily index data), so a
# rule of one row never looks at other rows.
_CENTRE = np.array([0.0, 0.0, 0.0, 0.15, 0.0, 0.0, 50.0, 1.0])
_SCALE = np.array([0.01, 0.02, 0.05, 0.1, 0.1, 1.0, 15.0, 0.2])


class LinearRule:
    """A random sign rule on the bar features: sign(w . scaled features), w ~ N(0, 1)."""

    feature_names = list(FEATURE_NAMES)

    def __init__(self, seed: int) -> None:
        self.w = np.random.default_rng(seed).normal(size=len(FEATURE_NAMES))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        z = (X[self.feature_names].to_numpy(dtype=float) - _CENTRE) / _SCALE
        return np.sign(np.nan_to_num(z @ self.w))
