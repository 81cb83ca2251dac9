"""Backtest-vs-live parity: does the model behave live as it did in its backtest?

Two kinds of evidence:

* performance parity on returns: live Sharpe / backtest Sharpe (``parity_ratio``) within
  [0.8, 1.2], live win rate within 10 points of the backtest's, live max drawdown at most 1.5x
  the backtest's; each with a block-bootstrap interval and a verdict;
* prediction parity on inputs: the feature rows the live path saw, run through the model in
  batch (the backtest path), must give the predictions the live path served; and where the
  backtest recorded features/predictions for the same timestamps, they must match the live
  ones. A feature computed with lookahead differs between the two paths, so it shows up here
  (:func:`replay_live_features` recomputes features point-in-time, as a live system would).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.protocol import PredictiveModel
from ordinis.engines.learning.core.strategy import annualised_sharpe
from ordinis.engines.learning.evaluation.gates import Verdict
from ordinis.engines.learning.evaluation.metrics import max_drawdown
from ordinis.engines.learning.evaluation.resampling import (
    BlockDraw,
    chunk_indices,
    optimal_block_size,
    resample_sums,
)
from ordinis.engines.learning.evaluation.statistics import BootstrapSettings, percentile_interval


@dataclass(slots=True)
class BacktestRecord:
    """What the backtest path produced.

    ``returns``: net strategy return per period. ``trades``: optional trade log with a ``pnl``
    column (win rate is then per trade, else per period in the market). ``features`` and
    ``predictions``: optional rows the backtest fed the model and what it predicted, indexed by
    timestamp.
    """

    returns: pd.Series
    trades: pd.DataFrame | None = None
    features: pd.DataFrame | None = None
    predictions: pd.Series | None = None
    periods_per_year: float = 252.0

    @property
    def sharpe(self) -> float:
        """The annualised Sharpe ratio of ``returns`` (``core.strategy.annualised_sharpe``)."""
        return annualised_sharpe(self.returns.to_numpy(dtype=float), self.periods_per_year)


@dataclass(slots=True)
class LiveRecord:
    """What the live path produced: realised returns, trades, and the feature rows and
    predictions it actually served (indexed by timestamp)."""

    returns: pd.Series
    trades: pd.DataFrame | None = None
    features: pd.DataFrame | None = None
    predictions: pd.Series | None = None
    periods_per_year: float = 252.0


@dataclass(frozen=True, slots=True)
class ParityCheck:
    """One parity statistic, its bootstrap interval, the allowed range and the verdict."""

    name: str
    value: float
    lower: float
    upper: float
    allowed_low: float
    allowed_high: float
    verdict: Verdict
    message: str


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A timestamp where the two paths disagree (``column`` is "prediction" or a feature)."""

    timestamp: str
    column: str
    backtest: float
    live: float

    @property
    def diff(self) -> float:
        return self.live - self.backtest


@dataclass(slots=True)
class PredictionParity:
    """Prediction and feature agreement between the backtest path and the live path."""

    checked: int
    mismatches: list[Mismatch]
    max_abs_diff: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass(slots=True)
class ParityResult:
    """All parity checks; ``passed`` needs every check to PASS and predictions to agree."""

    passed: bool
    parity_ratio: float
    checks: list[ParityCheck]
    prediction: PredictionParity | None = None
    problems: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        """Values for the gates (``parity_ratio``) and for reports."""
        out = {"parity_ratio": self.parity_ratio}
        for c in self.checks:
            out[f"parity_{c.name}"] = c.value
        if self.prediction is not None:
            out["parity_prediction_mismatches"] = float(len(self.prediction.mismatches))
        return out


@dataclass(frozen=True, slots=True)
class ParityEvidence:
    """A parity result recorded for one version (from a shadow/canary run), as stored.

    The production verdict uses the latest one's ``parity_ratio``.
    """

    version_id: str
    parity_ratio: float
    passed: bool
    recorded_at: datetime
    checks: tuple[tuple[str, float, str], ...] = ()  # (name, value, verdict)
    problems: tuple[str, ...] = ()
    source: str = ""

    @classmethod
    def of(
        cls, version_id: str, result: ParityResult, at: datetime, source: str = ""
    ) -> ParityEvidence:
        return cls(
            version_id,
            float(result.parity_ratio),
            bool(result.passed),
            at,
            tuple((c.name, float(c.value), c.verdict.value) for c in result.checks),
            tuple(result.problems),
            source,
        )

    def to_dict(self) -> dict[str, Any]:
        ratio = self.parity_ratio
        return {
            "version_id": self.version_id,
            "parity_ratio": ratio if math.isfinite(ratio) else None,
            "passed": self.passed,
            "recorded_at": self.recorded_at.isoformat(),
            "checks": [list(c) for c in self.checks],
            "problems": list(self.problems),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParityEvidence:
        ratio = data.get("parity_ratio")
        return cls(
            str(data["version_id"]),
            math.nan if ratio is None else float(ratio),
            bool(data["passed"]),
            datetime.fromisoformat(str(data["recorded_at"])),
            tuple((str(c[0]), float(c[1]), str(c[2])) for c in data.get("checks", [])),
            tuple(str(p) for p in data.get("problems", [])),
            str(data.get("source", "")),
        )


def _sharpe(sum_r: np.ndarray, sum_sq: np.ndarray, n: int, ann: float) -> np.ndarray:
    mean = sum_r / n
    sd = np.sqrt(np.maximum(sum_sq - sum_r * mean, 0.0) / max(n - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 1e-15, mean / np.where(sd > 1e-15, sd, 1.0) * ann, 0.0)


@dataclass(slots=True)
class _Resampled:
    sharpe: float
    sharpe_samples: np.ndarray
    win_rate: float
    win_samples: np.ndarray
    mdd: float
    mdd_samples: np.ndarray


def _resample(
    returns: np.ndarray,
    wins: np.ndarray,
    counted: np.ndarray,
    ppy: float,
    cfg: BootstrapSettings,
    seed: int,
) -> _Resampled:
    """Sharpe, win rate and drawdown of one record with their bootstrap samples."""
    n = returns.size
    block = cfg.block_size or optimal_block_size(returns)
    stats = np.column_stack([returns, returns * returns, wins, counted])
    ann = math.sqrt(ppy)
    tot = stats.sum(axis=0)
    draw = BlockDraw(n=n, block_size=block, resamples=cfg.resamples, seed=seed)
    s = resample_sums(stats, draw)
    mdd = np.concatenate(
        [
            max_drawdown(returns[chunk_indices(n, st, ln)])
            for _, st, ln in draw.chunks(cfg.path_resamples)
        ]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        win_samples = np.where(s[:, 3] > 0, s[:, 2] / np.where(s[:, 3] > 0, s[:, 3], 1), np.nan)
    return _Resampled(
        sharpe=float(_sharpe(tot[0], tot[1], n, ann)),
        sharpe_samples=_sharpe(s[:, 0], s[:, 1], n, ann),
        win_rate=float(tot[2] / tot[3]) if tot[3] > 0 else math.nan,
        win_samples=win_samples,
        mdd=float(max_drawdown(returns)),
        mdd_samples=mdd,
    )


def _win_inputs(record: BacktestRecord | LiveRecord) -> tuple[np.ndarray, np.ndarray]:
    r = record.returns.to_numpy(dtype=float)
    return (r > 0).astype(float), (r != 0).astype(float)


def _check(
    name: str,
    value: float,
    samples: np.ndarray,
    low: float,
    high: float,
    confidence: float,
    what: str,
) -> ParityCheck:
    lo, hi = percentile_interval(samples, confidence)
    if not math.isfinite(value):
        return ParityCheck(
            name, value, lo, hi, low, high, Verdict.FAIL, f"{what} is undefined (see problems)"
        )
    ok = low <= value <= high
    msg = f"{what} = {value:.3f} (interval {lo:.3f}..{hi:.3f}), allowed {low:.3f}..{high:.3f}" + (
        "" if ok else ": out of range"
    )
    return ParityCheck(name, value, lo, hi, low, high, Verdict.PASS if ok else Verdict.FAIL, msg)


class ParityValidator:
    """Compares a backtest record with a live record of the same model.

    Thresholds default to the production rules: Sharpe ratio within ``sharpe_ratio_bounds``,
    win rate within ``win_rate_tolerance`` (absolute), live drawdown at most
    ``max_drawdown_ratio`` times the backtest's; predictions equal within ``tolerance``.
    """

    def __init__(
        self,
        sharpe_ratio_bounds: tuple[float, float] = (0.8, 1.2),
        win_rate_tolerance: float = 0.10,
        max_drawdown_ratio: float = 1.5,
        tolerance: float = 1e-9,
        settings: BootstrapSettings | None = None,
        max_mismatches: int = 50,
    ) -> None:
        lo, hi = sharpe_ratio_bounds
        if not 0 < lo <= 1 <= hi:
            raise ValueError(f"sharpe_ratio_bounds must satisfy 0 < low <= 1 <= high, got {lo, hi}")
        if win_rate_tolerance < 0 or max_drawdown_ratio <= 0 or tolerance < 0:
            raise ValueError(
                "win_rate_tolerance and tolerance must be >= 0, max_drawdown_ratio > 0"
            )
        self.sharpe_ratio_bounds = (float(lo), float(hi))
        self.win_rate_tolerance = float(win_rate_tolerance)
        self.max_drawdown_ratio = float(max_drawdown_ratio)
        self.tolerance = float(tolerance)
        self.settings = settings or BootstrapSettings(resamples=2_000, path_resamples=1_000)
        self.max_mismatches = max_mismatches

    def validate(
        self, model: PredictiveModel | None, backtest: BacktestRecord, live: LiveRecord
    ) -> ParityResult:
        """Run every check that the records allow; missing pieces are listed in ``problems``."""
        _require_returns(backtest, live)
        cfg = self.settings
        bt_r = backtest.returns.to_numpy(dtype=float)
        lv_r = live.returns.to_numpy(dtype=float)
        bt = _resample(bt_r, *_win_inputs(backtest), backtest.periods_per_year, cfg, cfg.seed)
        lv = _resample(lv_r, *_win_inputs(live), live.periods_per_year, cfg, cfg.seed + 1)
        if backtest.trades is not None and live.trades is not None:
            bt.win_rate, lv.win_rate = (
                _trade_win_rate(backtest.trades),
                _trade_win_rate(live.trades),
            )
        problems: list[str] = []
        if bt.sharpe <= 0:
            problems.append(
                f"backtest Sharpe is {bt.sharpe:.3f} <= 0: the parity ratio is undefined"
            )
            ratio = math.nan
            ratio_samples = np.full(1, np.nan)
        else:
            ratio = lv.sharpe / bt.sharpe
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio_samples = lv.sharpe_samples / np.where(
                    bt.sharpe_samples > 0, bt.sharpe_samples, np.nan
                )
        low, high = self.sharpe_ratio_bounds
        wr_diff = lv.win_rate - bt.win_rate
        dd_ratio = lv.mdd / bt.mdd if bt.mdd > 0 else (0.0 if lv.mdd == 0 else math.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            dd_samples = lv.mdd_samples / bt.mdd if bt.mdd > 0 else lv.mdd_samples * np.inf
        checks = [
            _check(
                "sharpe_ratio",
                ratio,
                ratio_samples,
                low,
                high,
                cfg.confidence,
                "live/backtest Sharpe",
            ),
            _check(
                "win_rate_diff",
                wr_diff,
                lv.win_samples - bt.win_rate,
                -self.win_rate_tolerance,
                self.win_rate_tolerance,
                cfg.confidence,
                "live - backtest win rate",
            ),
            _check(
                "drawdown_ratio",
                dd_ratio,
                dd_samples,
                0.0,
                self.max_drawdown_ratio,
                cfg.confidence,
                "live/backtest max drawdown",
            ),
        ]
        prediction = self.prediction_parity(model, backtest, live)
        passed = all(c.verdict is Verdict.PASS for c in checks) and (
            prediction is None or prediction.passed
        )
        return ParityResult(passed, ratio, checks, prediction, problems)

    def prediction_parity(
        self, model: PredictiveModel | None, backtest: BacktestRecord, live: LiveRecord
    ) -> PredictionParity | None:
        """Compare live predictions with the batch path, and backtest with live rows."""
        mismatches: list[Mismatch] = []
        checked = 0
        max_diff = 0.0
        tol = self.tolerance

        def compare(a: pd.Series, b: pd.Series, column: str) -> None:
            nonlocal checked, max_diff
            common = a.index.intersection(b.index)
            if common.empty:
                return
            x = a.loc[common].to_numpy(dtype=float)
            y = b.loc[common].to_numpy(dtype=float)
            diff = np.abs(x - y)
            bad = ~((diff <= tol) | (np.isnan(x) & np.isnan(y)))
            checked += int(common.size)
            finite = diff[np.isfinite(diff)]
            if finite.size:
                max_diff = max(max_diff, float(finite.max()))
            if bad.any() and not np.isfinite(diff[bad]).all():
                max_diff = math.inf
            for i in np.flatnonzero(bad):
                if len(mismatches) >= self.max_mismatches:
                    break
                mismatches.append(Mismatch(str(common[int(i)]), column, float(x[i]), float(y[i])))

        if live.features is not None and live.predictions is not None and model is not None:
            cols = list(model.feature_names)
            missing = [c for c in cols if c not in live.features.columns]
            if missing:
                raise ValidationError(
                    "live record",
                    [
                        FieldProblem(
                            "features",
                            missing,
                            "columns the model needs are missing from live.features",
                        )
                    ],
                )
            batch = pd.Series(
                np.asarray(model.predict(live.features[cols]), dtype=float),
                index=live.features.index,
            )
            compare(batch, live.predictions, "prediction")
        if backtest.predictions is not None and live.predictions is not None:
            compare(backtest.predictions, live.predictions, "prediction")
        if backtest.features is not None and live.features is not None:
            for col in backtest.features.columns.intersection(live.features.columns):
                compare(backtest.features[col], live.features[col], str(col))
        if checked == 0:
            return None
        return PredictionParity(checked, mismatches, max_diff, tol)


def _trade_win_rate(trades: pd.DataFrame) -> float:
    if "pnl" not in trades.columns:
        raise ValidationError(
            "trades",
            [FieldProblem("pnl", list(trades.columns), "a trade log needs a 'pnl' column")],
        )
    pnl = trades["pnl"].to_numpy(dtype=float)
    return float((pnl > 0).mean()) if pnl.size else math.nan


def _require_returns(backtest: BacktestRecord, live: LiveRecord) -> None:
    problems = []
    for name, rec in (("backtest.returns", backtest), ("live.returns", live)):
        r = rec.returns.to_numpy(dtype=float)
        if r.size < 10:
            problems.append(FieldProblem(name, int(r.size), "need at least 10 periods"))
        elif not np.isfinite(r).all():
            problems.append(FieldProblem(name, "NaN/inf", "must be finite; drop missing periods"))
    if problems:
        raise ValidationError("parity input", problems)


def validate_parity(
    model: PredictiveModel | None,
    backtest_results: BacktestRecord,
    live_results: LiveRecord,
    tolerance: float = 1e-9,
) -> ParityResult:
    """Parity with the default (production) thresholds; ``tolerance`` is for predictions."""
    return ParityValidator(tolerance=tolerance).validate(model, backtest_results, live_results)


def replay_live_features(
    feature_fn: Callable[[pd.Series], pd.DataFrame],
    close: pd.Series,
    timestamps: Sequence[pd.Timestamp] | pd.Index,
    lookback: int | None = None,
) -> pd.DataFrame:
    """Features as a live system computes them: at each timestamp, from prices up to it only.

    ``lookback`` limits the history handed to ``feature_fn`` (enough for its longest window).
    """
    rows = []
    for t in timestamps:
        hist = close.loc[:t]
        if lookback is not None:
            hist = hist.iloc[-lookback:]
        rows.append(feature_fn(hist).iloc[-1].rename(t))
    return pd.DataFrame(rows)
