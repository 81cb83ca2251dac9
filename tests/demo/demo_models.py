"""A batch model for the demo's tests: the signal follows the 20-day return (pickled by
reference, so it lives in an importable module)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ordinis.engines.learning import FEATURE_NAMES


class Ret20Model:
    """Signal per row = clip(scale * ret_20 / 0.05, -1, 1): a negative scale inverts it."""

    feature_names = FEATURE_NAMES

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def predict(self, features: Any) -> np.ndarray:
        x = np.asarray(features["ret_20"], dtype=float)
        return np.clip(self.scale * x / 0.05, -1.0, 1.0)
