"""The demo's market data, shipped inside packages (no download): a feature panel per bar.

``sp500``: the 20 S&P 500 stocks of skfolio, daily, 1990-2022. ``bitcoin``: river's Bitcoin
price (one bar every third day, 2013-2019).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ordinis.engines.learning import FEATURE_NAMES, compute_bar_features, next_return

DATASETS = ("sp500", "bitcoin")


@dataclass(slots=True)
class FeaturePanel:
    """Bar x symbol arrays: features, next-bar return (the target) and which cells are usable."""

    days: list[datetime]
    symbols: list[str]
    features: np.ndarray  # (days, symbols, features)
    target: np.ndarray  # (days, symbols): return from this close to the next
    valid: np.ndarray  # (days, symbols) bool: features and target all finite
    close: np.ndarray  # (days, symbols)
    source: str = "skfolio S&P 500 stocks"
    periods_per_year: float = 252.0

    @property
    def n_cells(self) -> int:
        return int(self.valid.sum())

    def buy_and_hold(self) -> np.ndarray:
        """Daily returns of an equal-weight buy-and-hold of the symbols (bought on day 0).

        Index d holds the return from close d-1 to close d (0 on day 0). A symbol without a
        price on day 0 is left out; a missing later price carries the last one forward.
        """
        close = pd.DataFrame(self.close).ffill().to_numpy()
        held = np.isfinite(close[0])
        if not held.any():
            return np.zeros(len(self.days))
        value = np.nanmean(close[:, held] / close[0, held], axis=1)
        out = np.zeros(len(value))
        out[1:] = value[1:] / value[:-1] - 1.0
        return out


def _sp500() -> pd.DataFrame:
    from skfolio.datasets import load_sp500_dataset

    return load_sp500_dataset().sort_index()


def _bitcoin() -> pd.DataFrame:
    from river.drift.datasets import Bitcoin

    rows = [(x["date"], float(y)) for x, y in Bitcoin()]
    index = pd.DatetimeIndex([pd.Timestamp(d) for d, _ in rows])
    return pd.DataFrame({"BTC": [v for _, v in rows]}, index=index).sort_index()


def load_data(
    data: str,
    start: str | None,
    end: str | None,
    n_symbols: int = 20,
    quick: bool = False,
    quick_years: float = 9.0,
) -> FeaturePanel:
    """The panel of ``data`` in [start, end]; ``quick`` keeps ``quick_years`` from the start."""
    if data not in DATASETS:
        raise ValueError(f"--data {data!r}: use one of {', '.join(DATASETS)}")
    prices = _sp500() if data == "sp500" else _bitcoin()
    first, last = prices.index[0], prices.index[-1]
    lo = _date("--start", start) if start else first
    hi = _date("--end", end) if end else last
    if lo > hi:
        if start and end:
            raise ValueError(f"--end {end} is before --start {start}: swap them")
        raise ValueError(
            f"--{'start' if start else 'end'} {start or end} is outside the data: {data} spans "
            f"{first:%Y-%m-%d} .. {last:%Y-%m-%d}; choose a date in that span"
        )
    if quick:
        hi = min(hi, lo + pd.Timedelta(days=int(365.25 * quick_years)))
    seconds = prices.index.values.astype("datetime64[s]").astype(np.int64)
    gaps = float(np.median(np.diff(seconds))) / 86400.0
    panel = _panel(prices, lo, hi, n_symbols, data)
    panel.periods_per_year = 252.0 if gaps < 2 else 365.0 / float(gaps)
    panel.source = (
        "skfolio S&P 500 stocks (daily)" if data == "sp500" else "river Bitcoin (every 3rd day)"
    )
    return panel


def _date(option: str, value: str) -> pd.Timestamp:
    """A date option's value; a clear refusal naming the option otherwise."""
    try:
        return pd.Timestamp(value)
    except ValueError:
        raise ValueError(f"{option} {value!r} is not a date: write it as YYYY-MM-DD") from None


def load_panel(start: str, end: str, n_symbols: int = 20) -> FeaturePanel:
    """Daily closes of the first ``n_symbols`` S&P 500 stocks in [start, end], with features."""
    return load_data("sp500", start, end, n_symbols)


def _panel(
    prices: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp, n_symbols: int, data: str
) -> FeaturePanel:
    """Features are computed on the whole history first, so the window's first rows have their
    warm-up; the timestamp of a bar is its close (21:00 UTC)."""
    symbols = list(prices.columns[:n_symbols])
    mask = (prices.index >= lo) & (prices.index <= hi)
    idx = prices.index[mask]
    if len(idx) < 2:
        raise ValueError(
            f"no bars of {data} between --start {lo:%Y-%m-%d} and --end {hi:%Y-%m-%d} "
            f"(the data spans {prices.index[0]:%Y-%m-%d} .. {prices.index[-1]:%Y-%m-%d})"
        )
    cols = list(FEATURE_NAMES)
    f = np.empty((len(idx), len(symbols), len(cols)))
    t = np.empty((len(idx), len(symbols)))
    c = np.empty((len(idx), len(symbols)))
    for s, sym in enumerate(symbols):
        close = prices[sym].astype(float)
        f[:, s, :] = compute_bar_features(close).loc[idx, cols].to_numpy()
        t[:, s] = next_return(close).loc[idx].to_numpy()
        c[:, s] = close.loc[idx].to_numpy()
    valid = np.isfinite(f).all(axis=2) & np.isfinite(t)
    days = [datetime(ts.year, ts.month, ts.day, 21, 0, tzinfo=UTC) for ts in idx]
    return FeaturePanel(days, symbols, f, t, valid, c)
