"""The demo's market data: the 20 S&P 500 stocks that ship with skfolio, as a feature panel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ordinis.engines.learning.features.bar_features import (
    FEATURE_NAMES,
    compute_bar_features,
    next_return,
)


@dataclass(slots=True)
class FeaturePanel:
    """Day x symbol arrays: features, next-day return (the target) and which cells are usable."""

    days: list[datetime]
    symbols: list[str]
    features: np.ndarray  # (days, symbols, features)
    target: np.ndarray  # (days, symbols): return from this close to the next
    valid: np.ndarray  # (days, symbols) bool: features and target all finite
    close: np.ndarray  # (days, symbols)

    @property
    def n_cells(self) -> int:
        return int(self.valid.sum())


def load_panel(start: str, end: str, n_symbols: int = 20) -> FeaturePanel:
    """Daily closes of the first ``n_symbols`` stocks in [start, end], with features and targets.

    Features are computed on the whole history first, so the window's first rows have their
    warm-up; the timestamp of a bar is its close (21:00 UTC).
    """
    from skfolio.datasets import load_sp500_dataset

    prices = load_sp500_dataset().sort_index()
    symbols = list(prices.columns[:n_symbols])
    feats: dict[str, pd.DataFrame] = {}
    targets: dict[str, pd.Series] = {}
    for sym in symbols:
        close = prices[sym].astype(float)
        feats[sym] = compute_bar_features(close)
        targets[sym] = next_return(close)
    mask = (prices.index >= pd.Timestamp(start)) & (prices.index <= pd.Timestamp(end))
    idx = prices.index[mask]
    if len(idx) == 0:
        raise ValueError(
            f"no trading days between start={start!r} and end={end!r} (data: 1990-2022)"
        )
    f = np.stack([feats[s].loc[idx, list(FEATURE_NAMES)].to_numpy() for s in symbols], axis=1)
    t = np.stack([targets[s].loc[idx].to_numpy() for s in symbols], axis=1)
    c = np.stack([prices[s].loc[idx].to_numpy(dtype=float) for s in symbols], axis=1)
    valid = np.isfinite(f).all(axis=2) & np.isfinite(t)
    days = [datetime(ts.year, ts.month, ts.day, 21, 0, tzinfo=UTC) for ts in idx]
    return FeaturePanel(days, symbols, f, t, valid, c)
