"""SignalModel's LightGBM serving path (the booster, one thread) equals sklearn's predict_proba."""

from __future__ import annotations

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier

from ordinis.engines.learning.training.models import SignalModel


def test_booster_path_matches_predict_proba() -> None:
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(5)]
    X = pd.DataFrame(rng.normal(size=(400, 5)), columns=names)
    y = (X["f0"] + rng.normal(0, 1, 400) > 0).astype(int)
    est = LGBMClassifier(n_estimators=30, num_leaves=7, verbose=-1).fit(X, y)
    model = SignalModel(names, est, "lightgbm")
    frame = X.iloc[:25][list(reversed(names))]  # column order of the caller does not matter
    expected = est.predict_proba(X.iloc[:25])
    np.testing.assert_allclose(model.predict_proba(frame), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.predict(frame), 2 * expected[:, 1] - 1, atol=1e-12)
