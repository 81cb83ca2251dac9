"""Point-in-time features of daily bars, shared by the demo, the trainers and the evaluator.

Every feature at row t uses closes up to and including t only; the target of row t is the
return from t to t+1. One definition, so a model sees in evaluation what it saw in training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ordinis.engines.learning.features.feature_set import FeatureFunction, FeatureSetRegistry

FEATURE_NAMES: tuple[str, ...] = (
    "ret_1",
    "ret_5",
    "ret_20",
    "vol_20",
    "mom_60",
    "zscore_20",
    "rsi_14",
    "vol_ratio",
)


def compute_bar_features(close: pd.Series) -> pd.DataFrame:
    """Features of a close-price series (index sorted ascending); rows without history are NaN."""
    if not close.index.is_monotonic_increasing:
        raise ValueError("close: index must be sorted ascending (oldest first)")
    c = close.astype(float)
    logret = pd.Series(np.log(c.to_numpy()), index=c.index).diff()
    out = pd.DataFrame(index=c.index)
    out["ret_1"] = c.pct_change(1)
    out["ret_5"] = c.pct_change(5)
    out["ret_20"] = c.pct_change(20)
    vol20 = logret.rolling(20).std()
    out["vol_20"] = vol20 * np.sqrt(252.0)
    out["mom_60"] = c.pct_change(60)
    ma = c.rolling(20).mean()
    sd = c.rolling(20).std()
    out["zscore_20"] = (c - ma) / sd.replace(0.0, np.nan)
    delta = c.diff()
    gain = delta.clip(lower=0.0).rolling(14).mean()
    loss = (-delta.clip(upper=0.0)).rolling(14).mean()
    rs = gain / loss.replace(0.0, np.nan)
    out["rsi_14"] = (100.0 - 100.0 / (1.0 + rs)).fillna(100.0).where(gain.notna())
    vol60 = logret.rolling(60).std()
    out["vol_ratio"] = vol20 / vol60.replace(0.0, np.nan)
    return out[list(FEATURE_NAMES)]


def next_return(close: pd.Series) -> pd.Series:
    """The return from t to t+1, aligned on t (the supervised target); last row is NaN."""
    c = close.astype(float)
    return c.shift(-1) / c - 1.0


WARMUP_ROWS = 60  # bars before every feature is defined (mom_60 and vol_ratio read 60 back)
BAR_FEATURES = FeatureFunction("bar_features", compute_bar_features, FEATURE_NAMES, WARMUP_ROWS)


def default_feature_sets() -> FeatureSetRegistry:
    """A registry holding the built-in ``bar_features`` function and its set."""
    reg = FeatureSetRegistry()
    reg.register_function(BAR_FEATURES, description="the demo's bar features")
    return reg
