"""A market with a planted edge, for the tests where an honest model must pass the production
gates: each day's return is 0.35 x yesterday's plus noise, and a momentum rule trades it."""

from __future__ import annotations

import numpy as np
import pandas as pd

# the "training window" of a rule registered without training: the pack comes after it
EDGE_WINDOW = {"window_start": "2005-01-03T00:00:00+00:00",
               "window_end": "2009-12-31T00:00:00+00:00"}


def planted_edge_close() -> pd.Series:
    """Business days 2010-2019 whose daily return is 0.35 x yesterday's plus noise (AR(1))."""
    rng = np.random.default_rng(11)
    days = pd.bdate_range("2010-01-01", "2019-12-31")
    eps = rng.normal(0.0, 0.01, size=len(days))
    r = np.zeros(len(days))
    for t in range(1, len(days)):
        r[t] = 0.35 * r[t - 1] + eps[t]
    return pd.Series(100.0 * np.cumprod(1.0 + r), index=days, name="close")


class MomentumRule:
    """Follows yesterday's return: the edge planted in the series above."""

    feature_names = ["ret_1"]

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.sign(X["ret_1"].to_numpy(dtype=float))
