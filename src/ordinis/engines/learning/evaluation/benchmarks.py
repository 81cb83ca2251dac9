"""Benchmark packs: named, versioned market-data windows that every candidate is evaluated on.

Built-in packs come from data shipped inside installed packages (skfolio, arch, river), loaded
once per process; ``docs/benchmarks.md`` records which dates form each pack and why. Users add
their own with :meth:`BenchmarkRegistry.register_dataframe` / :meth:`register_file`, validated
at the edge. A pack's features come from its feature function (``features.bar_features`` for the
built-in packs; a user pack registers its own), so evaluation sees what training saw; they use
history before the window as warm-up (point-in-time, no lookahead).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.errors import FieldProblem, NotFoundError, ValidationError
from ordinis.engines.learning.features import BAR_FEATURES, FEATURE_NAMES, FeatureFunction

FEATURE_WARMUP_ROWS = BAR_FEATURES.warmup_rows  # rows before bar_features has every feature
MIN_EVALUATION_ROWS = 100  # rows a benchmark needs after the warm-up
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

Window = tuple[str, str]


@dataclass(frozen=True, slots=True)
class BenchmarkDataset:
    """One evaluation data set: close prices of its windows plus point-in-time features.

    ``close`` is a Series (one asset) or a DataFrame (columns = assets). ``returns`` are the bar
    returns realised at each row (``close[t] / close[t-1] - 1``); ``features`` has one row per
    evaluation bar (a (timestamp, asset) MultiIndex for multi-asset). ``segments`` are the
    contiguous windows: a backtest never carries a position across the gap between two.
    ``version`` is the SHA-256 of the data, so a result names exactly what it was computed on.
    """

    name: str
    description: str
    close: pd.Series | pd.DataFrame
    returns: pd.Series | pd.DataFrame
    features: pd.DataFrame
    segments: tuple[tuple[pd.Timestamp, pd.Timestamp], ...]
    version: str
    asset_class: str = "equity_index"
    periods_per_year: float = 252.0
    source: str = ""
    feature_function: str = BAR_FEATURES.name

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.close.index[0])

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self.close.index[-1])

    @property
    def n_rows(self) -> int:
        return int(self.close.shape[0])

    @property
    def is_multi_asset(self) -> bool:
        return isinstance(self.close, pd.DataFrame)

    @property
    def assets(self) -> list[str]:
        if isinstance(self.close, pd.DataFrame):
            return [str(c) for c in self.close.columns]
        return [str(self.close.name or self.name)]


def data_hash(close: pd.Series | pd.DataFrame, segments: Sequence[tuple[object, object]]) -> str:
    """SHA-256 over index, column names, values and windows of a price table."""
    h = hashlib.sha256()
    frame = close.to_frame() if isinstance(close, pd.Series) else close
    h.update(
        np.asarray(
            frame.index.asi8
            if isinstance(frame.index, pd.DatetimeIndex)
            else frame.index.astype(str)
        ).tobytes()
    )
    h.update("|".join(str(c) for c in frame.columns).encode())
    h.update(np.ascontiguousarray(frame.to_numpy(dtype=float)).tobytes())
    h.update(repr([(str(a), str(b)) for a, b in segments]).encode())
    return h.hexdigest()


def build_dataset(
    name: str,
    history: pd.Series | pd.DataFrame,
    windows: Sequence[Window] | None = None,
    *,
    description: str = "",
    asset_class: str = "equity_index",
    periods_per_year: float = 252.0,
    source: str = "",
    feature_function: FeatureFunction = BAR_FEATURES,
) -> BenchmarkDataset:
    """Cut evaluation windows out of a full price history (already validated) and compute
    features with ``feature_function``.

    Without ``windows`` the whole history after the feature warm-up is the one window.
    """
    history = history.astype(float)
    warmup = feature_function.warmup_rows
    if windows is None:
        cuts = [(history.index[warmup], history.index[-1])]
    else:
        cuts = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in windows]
    mask = np.zeros(history.shape[0], dtype=bool)
    segments: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    warm = np.arange(history.shape[0]) >= warmup  # rows with every feature
    for a, b in cuts:
        m = (history.index >= a) & (history.index <= b) & warm
        idx = np.flatnonzero(m)
        if idx.size == 0:
            raise ValidationError(
                f"benchmark {name!r}", [FieldProblem("window", (str(a), str(b)), "has no rows")]
            )
        mask |= m
        segments.append((pd.Timestamp(history.index[idx[0]]), pd.Timestamp(history.index[idx[-1]])))
    rets = history.pct_change(fill_method=None)
    if isinstance(history, pd.DataFrame):
        parts = {str(col): feature_function(history[col])[mask] for col in history.columns}
        features = pd.concat(parts, names=["asset"]).swaplevel(0, 1).sort_index()
        features.index = features.index.set_names(["timestamp", "asset"])
    else:
        features = feature_function(history)[mask]
    close = history[mask]
    return BenchmarkDataset(
        name=name,
        description=description,
        close=close,
        returns=rets[mask],
        features=features,
        segments=tuple(segments),
        version=data_hash(close, segments),
        asset_class=asset_class,
        periods_per_year=periods_per_year,
        source=source,
        feature_function=feature_function.name,
    )


# --------------------------------------------------------------------------- shipped data
@lru_cache(maxsize=1)
def sp500_index_close() -> pd.Series:
    """S&P 500 index closes 1990-2022 (skfolio.datasets.load_sp500_index), loaded once."""
    from skfolio.datasets import load_sp500_index

    s = load_sp500_index()["SP500"].astype(float)
    s.index = pd.DatetimeIndex(s.index).as_unit("ns")
    s.name = "SP500"
    return s


@lru_cache(maxsize=1)
def sp500_stocks_close() -> pd.DataFrame:
    """Closes of 20 S&P 500 stocks 1990-2022 (skfolio.datasets.load_sp500_dataset), loaded once."""
    from skfolio.datasets import load_sp500_dataset

    df = load_sp500_dataset().astype(float)
    df.index = pd.DatetimeIndex(df.index).as_unit("ns")
    return df


@lru_cache(maxsize=1)
def arch_sp500_close() -> pd.Series:
    """S&P 500 adjusted closes 1999-2018 (arch.data.sp500), loaded once."""
    from arch.data import sp500

    s = sp500.load()["Adj Close"].astype(float)
    s.index = pd.DatetimeIndex(s.index).as_unit("ns")
    s.name = "SP500"
    return s


@lru_cache(maxsize=1)
def bitcoin_close() -> pd.Series:
    """Bitcoin price every third day 2013-2019 (river.drift.datasets.Bitcoin), loaded once."""
    from river.drift.datasets import Bitcoin

    rows = list(Bitcoin())
    idx = pd.DatetimeIndex([pd.Timestamp(x["date"]) for x, _ in rows]).as_unit("ns")
    return pd.Series([float(y) for _, y in rows], index=idx, name="BTC")


@dataclass(frozen=True, slots=True)
class PackSpec:
    """How a built-in pack is made: its data source, windows and why it exists."""

    name: str
    description: str
    loader: Callable[[], pd.Series | pd.DataFrame]
    windows: tuple[Window, ...] | None
    asset_class: str = "equity_index"
    periods_per_year: float = 252.0
    source: str = ""


BUILTIN_PACKS: tuple[PackSpec, ...] = (
    PackSpec(
        "pack_01_bull",
        "S&P 500 bull markets: 2003-04 to 2007-06 and 2013 to 2017 (steady rises, low volatility)",
        sp500_index_close,
        (("2003-04-01", "2007-06-29"), ("2013-01-01", "2017-12-31")),
        source="skfolio.datasets.load_sp500_index",
    ),
    PackSpec(
        "pack_02_sideways",
        "S&P 500 range-bound markets: 1994 and 2015-01 to 2016-06 (net change within +-2 %)",
        sp500_index_close,
        (("1994-01-01", "1994-12-31"), ("2015-01-01", "2016-06-30")),
        source="skfolio.datasets.load_sp500_index",
    ),
    PackSpec(
        "pack_03_crash",
        "S&P 500 crashes: 2008-01 to 2009-03 (financial crisis) and 2020-02 to 2020-06 (COVID)",
        sp500_index_close,
        (("2008-01-01", "2009-03-31"), ("2020-02-01", "2020-06-30")),
        source="skfolio.datasets.load_sp500_index",
    ),
    PackSpec(
        "pack_04_bear",
        "S&P 500 bear markets: 2000-09 to 2002-10 (dot-com) and 2022 (rates)",
        sp500_index_close,
        (("2000-09-01", "2002-10-31"), ("2022-01-01", "2022-12-31")),
        source="skfolio.datasets.load_sp500_index",
    ),
    PackSpec(
        "pack_05_crypto",
        "Bitcoin every third day, 2013-2019 (bubbles, crashes, regime changes)",
        bitcoin_close,
        None,
        asset_class="crypto",
        periods_per_year=365.0 / 3.0,
        source="river.drift.datasets.Bitcoin",
    ),
    PackSpec(
        "pack_06_multi_asset",
        "20 S&P 500 stocks, 2018 to 2022 (2018-Q4 selloff, COVID crash, 2022 bear), equal weight",
        sp500_stocks_close,
        (("2018-01-01", "2022-12-31"),),
        asset_class="equity",
        source="skfolio.datasets.load_sp500_dataset",
    ),
    PackSpec(
        "pack_07_recovery",
        "S&P 500 post-crisis recovery 2009-04 to 2011-12 (flash crash, 2011 downgrade), arch data",
        arch_sp500_close,
        (("2009-04-01", "2011-12-31"),),
        source="arch.data.sp500",
    ),
)


def _build_spec(spec: PackSpec) -> BenchmarkDataset:
    return build_dataset(
        spec.name,
        spec.loader(),
        spec.windows,
        description=spec.description,
        asset_class=spec.asset_class,
        periods_per_year=spec.periods_per_year,
        source=spec.source,
    )


@cache
def _build_builtin(spec: PackSpec) -> BenchmarkDataset:
    """Built-in packs are immutable: built once per process and shared by every registry."""
    return _build_spec(spec)


class BenchmarkRegistry:
    """Named benchmark packs: the built-in ones (built lazily, once) plus user data sets."""

    def __init__(self, include_builtin: bool = True) -> None:
        self._specs: dict[str, PackSpec] = (
            {p.name: p for p in BUILTIN_PACKS} if include_builtin else {}
        )
        self._datasets: dict[str, BenchmarkDataset] = {}
        self._histories: dict[str, tuple[pd.Series | pd.DataFrame, list[Window] | None,
                                         dict[str, object]]] = {}
        self._recomputed: dict[tuple[str, str, str], BenchmarkDataset] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lookup
    def names(self) -> list[str]:
        """Every benchmark name, built-in packs first."""
        return list(self._specs) + [n for n in self._datasets if n not in self._specs]

    def builtin_names(self) -> list[str]:
        return list(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs or name in self._datasets

    def get(self, name: str) -> BenchmarkDataset:
        """The named data set (a built-in pack is built on first use and cached)."""
        with self._lock:
            ds = self._datasets.get(name)
            if ds is not None:
                return ds
            spec = self._specs.get(name)
            if spec is None:
                raise NotFoundError(
                    f"benchmark {name!r} is not registered; known: {', '.join(self.names())}. "
                    "Register your own with engine.register_benchmark(name, closes, "
                    "feature_function=...) in the process that evaluates (a user pack lives as "
                    "long as its engine and is not stored)."
                )
            ds = _build_builtin(spec) if spec in BUILTIN_PACKS else _build_spec(spec)
            self._datasets[name] = ds
            return ds

    def resolve(
        self, benchmark: str | Sequence[str] | BenchmarkDataset | None
    ) -> list[BenchmarkDataset]:
        """Data sets for an evaluate() argument: None means every built-in pack."""
        if benchmark is None:
            return [self.get(n) for n in self.builtin_names()] or [
                self.get(n) for n in self.names()
            ]
        if isinstance(benchmark, BenchmarkDataset):
            return [benchmark]
        if isinstance(benchmark, str):
            return [self.get(benchmark)]
        items = list(benchmark)
        if not items:
            raise ValidationError(
                "benchmark", [FieldProblem("benchmark", [], "name at least one pack")]
            )
        return [self.get(n) for n in items]

    def computed_with(
        self, dataset: BenchmarkDataset, fn: FeatureFunction
    ) -> BenchmarkDataset | None:
        """The pack with its features computed by ``fn`` (a version's own feature function),
        from the pack's full price history; None when that history is not at hand."""
        if dataset.feature_function == fn.name:
            return dataset
        key = (dataset.name, dataset.version, f"{fn.name}:{','.join(fn.names)}")
        with self._lock:
            done = self._recomputed.get(key)
        if done is not None:
            return done
        spec = self._specs.get(dataset.name)
        if spec is not None:
            out = build_dataset(
                spec.name, spec.loader(), spec.windows, description=spec.description,
                asset_class=spec.asset_class, periods_per_year=spec.periods_per_year,
                source=spec.source, feature_function=fn)
        elif dataset.name in self._histories:
            prices, windows, kwargs = self._histories[dataset.name]
            out = build_dataset(dataset.name, prices, windows, feature_function=fn,
                                **kwargs)  # type: ignore[arg-type]
        else:
            return None
        with self._lock:
            self._recomputed[key] = out
        return out

    # ------------------------------------------------------------------ user data
    def register(self, dataset: BenchmarkDataset, replace: bool = False) -> BenchmarkDataset:
        """Add a ready data set under its name."""
        with self._lock:
            if not replace and (dataset.name in self._datasets or dataset.name in self._specs):
                raise ValidationError(
                    "benchmark registration",
                    [
                        FieldProblem(
                            "name",
                            dataset.name,
                            "already registered; pass replace=True "
                            "to overwrite or choose another name",
                        )
                    ],
                )
            if replace:
                self._specs.pop(dataset.name, None)
            self._datasets[dataset.name] = dataset
        return dataset

    def register_dataframe(
        self,
        name: str,
        df: pd.DataFrame | pd.Series,
        *,
        description: str = "",
        asset_class: str = "user",
        periods_per_year: float = 252.0,
        price_column: str | None = None,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        replace: bool = False,
        feature_function: FeatureFunction | None = None,
    ) -> BenchmarkDataset:
        """Validate a table of close prices and register it as a benchmark.

        ``df`` is a Series of closes, a DataFrame with a ``close`` column (or ``price_column``),
        or a DataFrame of closes with one column per asset. ``start``/``end`` restrict the
        evaluation window; history before ``start`` serves as feature warm-up.
        ``feature_function`` computes the pack's features (default: ``bar_features``), so a
        model trained on the host's own features is evaluated on the same features here.
        """
        fn = feature_function or BAR_FEATURES
        prices = validate_prices(
            name,
            df,
            price_column=price_column,
            start=start,
            end=end,
            periods_per_year=periods_per_year,
            warmup_rows=fn.warmup_rows,
        )
        if not replace and name in self:
            raise ValidationError(
                f"benchmark {name!r}",
                [FieldProblem("name", name, "already registered; pass replace=True or rename")],
            )
        windows = None
        if start is not None or end is not None:
            first = pd.Timestamp(start) if start is not None else prices.index[fn.warmup_rows]
            last = pd.Timestamp(end) if end is not None else prices.index[-1]
            windows = [(str(first), str(last))]
        ds = build_dataset(
            name,
            prices,
            windows,
            description=description,
            asset_class=asset_class,
            periods_per_year=periods_per_year,
            source="user",
            feature_function=fn,
        )
        registered = self.register(ds, replace=replace)
        with self._lock:
            self._histories[name] = (prices, windows, {
                "description": description, "asset_class": asset_class,
                "periods_per_year": periods_per_year, "source": "user"})
        return registered

    def register_file(
        self, path: str | Path, name: str | None = None, **kwargs: object
    ) -> BenchmarkDataset:
        """Register a Parquet or CSV file of close prices (CSV: first column or ``date`` = time)."""
        p = Path(path)
        what = f"benchmark file {p}"
        if not p.exists():
            raise ValidationError(what, [FieldProblem("path", str(p), "file does not exist")])
        suffix = p.suffix.lower()
        try:
            if suffix in (".parquet", ".pq"):
                df = pd.read_parquet(p)
            elif suffix in (".csv", ".txt"):
                df = pd.read_csv(p)
            else:
                raise ValidationError(
                    what, [FieldProblem("path", p.name, "must end in .parquet, .pq or .csv")]
                )
        except ValidationError:
            raise
        except Exception as exc:
            raise ValidationError(
                what, [FieldProblem("path", str(p), f"cannot be read: {exc}")]
            ) from None
        if not isinstance(df.index, pd.DatetimeIndex):
            time_cols = [
                c for c in df.columns if str(c).lower() in ("date", "datetime", "timestamp", "time")
            ]
            col = time_cols[0] if time_cols else df.columns[0]
            try:
                df = df.set_index(pd.DatetimeIndex(pd.to_datetime(df[col]), name=str(col))).drop(
                    columns=[col]
                )
            except (ValueError, TypeError) as exc:
                raise ValidationError(
                    what,
                    [
                        FieldProblem(
                            f"column {col!r}",
                            str(df[col].iloc[0]) if len(df) else None,
                            f"cannot be parsed as datetimes ({exc}); put the timestamps in a "
                            "'date' column",
                        )
                    ],
                ) from None
        return self.register_dataframe(name or p.stem, df, **kwargs)  # type: ignore[arg-type]


def validate_prices(
    name: str,
    df: pd.DataFrame | pd.Series,
    *,
    price_column: str | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    periods_per_year: float = 252.0,
    warmup_rows: int = FEATURE_WARMUP_ROWS,
) -> pd.Series | pd.DataFrame:
    """Check a user price table; returns closes (Series or one column per asset) or raises.

    Every problem found is reported at once, each naming the fix.
    """
    what = f"benchmark {name!r}"
    problems: list[FieldProblem] = []
    if not isinstance(name, str) or not _NAME_RE.match(name):
        problems.append(FieldProblem("name", name, "use 1-64 letters, digits, '_', '-' or '.'"))
    if not periods_per_year > 0:
        problems.append(FieldProblem("periods_per_year", periods_per_year, "must be > 0"))
    prices: pd.Series | pd.DataFrame
    if isinstance(df, pd.Series):
        prices = df
    elif isinstance(df, pd.DataFrame):
        cols = {str(c).lower(): c for c in df.columns}
        if price_column is not None:
            if price_column not in df.columns:
                raise ValidationError(
                    what,
                    [
                        *problems,
                        FieldProblem(
                            "price_column",
                            price_column,
                            f"not a column; columns: {list(df.columns)}",
                        ),
                    ],
                )
            prices = df[price_column]
        elif "close" in cols:
            prices = df[cols["close"]]
        else:
            prices = df
    else:
        raise ValidationError(
            what,
            [
                *problems,
                FieldProblem(
                    "df", type(df).__name__, "must be a pandas DataFrame or Series of close prices"
                ),
            ],
        )
    if isinstance(prices, pd.DataFrame):
        non_numeric = [
            str(c) for c in prices.columns if not pd.api.types.is_numeric_dtype(prices[c])
        ]
        if non_numeric:
            problems.append(
                FieldProblem(
                    "columns",
                    non_numeric,
                    "are not numeric; pass price_column= or keep only one price column per asset",
                )
            )
            raise ValidationError(what, problems)
        if prices.shape[1] == 1:
            prices = prices.iloc[:, 0]
    idx = prices.index
    if not isinstance(idx, pd.DatetimeIndex):
        problems.append(
            FieldProblem(
                "index",
                type(idx).__name__,
                "must be a DatetimeIndex; use df.set_index(pd.to_datetime(df['date']))",
            )
        )
        raise ValidationError(what, problems)
    if not idx.is_monotonic_increasing:
        problems.append(
            FieldProblem("index", "unsorted", "must be sorted ascending; use df.sort_index()")
        )
    dup = idx[idx.duplicated()]
    if len(dup):
        problems.append(
            FieldProblem(
                "index",
                [str(t) for t in dup[:3]],
                f"{len(dup)} duplicated timestamp(s); keep one row each: "
                "df[~df.index.duplicated()]",
            )
        )
    lo = pd.Timestamp(start) if start is not None else None
    hi = pd.Timestamp(end) if end is not None else None
    if lo is not None and hi is not None and lo >= hi:
        problems.append(FieldProblem("start/end", (str(lo), str(hi)), "start must be before end"))
    window = prices
    if not problems:
        window = prices.loc[lo:hi] if (lo is not None or hi is not None) else prices
    # The window's features read warmup_rows rows back, so those must be clean too.
    first_pos = 0 if problems or lo is None else int(prices.index.searchsorted(lo))
    checked = prices.iloc[max(first_pos - warmup_rows - 1, 0) :] if not problems else prices
    if hi is not None and not problems:
        checked = checked.loc[:hi]
    values = checked.to_numpy(dtype=float)
    bad_rows = ~np.isfinite(values) | (values <= 0)
    if bad_rows.ndim == 2:
        bad_rows = bad_rows.any(axis=1)
    if bad_rows.any():
        first = [str(t) for t in checked.index[bad_rows][:3]]
        problems.append(
            FieldProblem(
                "prices",
                first,
                f"{int(bad_rows.sum())} row(s) with missing or non-positive prices in the "
                f"evaluation window or the {warmup_rows} rows of warm-up before it; "
                "fill them (df.ffill()) or drop them before registering",
            )
        )
    # Rows before the window count as warm-up; the window itself needs MIN_EVALUATION_ROWS.
    before = 0 if lo is None or problems else int((prices.index < lo).sum())
    in_window = int(window.shape[0])
    warm = max(warmup_rows - before, 0)
    if in_window - warm < MIN_EVALUATION_ROWS:
        problems.append(
            FieldProblem(
                "rows",
                in_window,
                f"too few: need >= {MIN_EVALUATION_ROWS} evaluation rows plus "
                f"{warmup_rows} rows of feature warm-up (got {in_window} in the "
                f"window, {before} before it); provide a longer history",
            )
        )
    if problems:
        raise ValidationError(what, problems)
    return prices


__all__ = [
    "BUILTIN_PACKS",
    "FEATURE_NAMES",
    "FEATURE_WARMUP_ROWS",
    "MIN_EVALUATION_ROWS",
    "BenchmarkDataset",
    "BenchmarkRegistry",
    "PackSpec",
    "arch_sp500_close",
    "bitcoin_close",
    "build_dataset",
    "data_hash",
    "sp500_index_close",
    "sp500_stocks_close",
    "validate_prices",
]
