"""Real S&P 500 bars (skfolio) as signal events, for the engine's end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ordinis.engines.learning import EventType, LearningEvent
from ordinis.engines.learning.features.bar_features import (
    FEATURE_NAMES,
    compute_bar_features,
    next_return,
)

_PRICES: pd.DataFrame | None = None


def prices() -> pd.DataFrame:
    global _PRICES
    if _PRICES is None:
        from skfolio.datasets import load_sp500_dataset

        _PRICES = load_sp500_dataset().sort_index()
    return _PRICES


def bar_time(ts: pd.Timestamp) -> datetime:
    return datetime(ts.year, ts.month, ts.day, 21, tzinfo=UTC)


def signal_rows(
    symbols: list[str], start: str, end: str
) -> Iterator[tuple[datetime, str, dict[str, float], float]]:
    """(time, symbol, features, next return) for each usable bar, in time order."""
    p = prices()
    frames = []
    for sym in symbols:
        feats = compute_bar_features(p[sym])
        feats["target"] = next_return(p[sym])
        feats["symbol"] = sym
        frames.append(feats.loc[start:end])
    panel = pd.concat(frames).sort_index(kind="stable")
    panel = panel.replace([np.inf, -np.inf], np.nan).dropna()
    for ts, row in panel.iterrows():
        feats = {k: float(row[k]) for k in FEATURE_NAMES}
        yield bar_time(pd.Timestamp(ts)), str(row["symbol"]), feats, float(row["target"])


def signal_events(symbols: list[str], start: str, end: str) -> list[LearningEvent]:
    return [
        LearningEvent(
            EventType.SIGNAL_GENERATED,
            "signal",
            symbol=sym,
            timestamp=t,
            payload={"features": feats},
            outcome=target,
        )
        for t, sym, feats, target in signal_rows(symbols, start, end)
    ]
