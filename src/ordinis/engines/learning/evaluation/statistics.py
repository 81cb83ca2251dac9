"""Statistical evidence for trading metrics: block-bootstrap intervals and p-values, PSR, DSR,
minimum track record length, paired challenger-vs-champion tests and Hansen's SPA.

PSR, DSR and the expected maximum Sharpe come from ``skfolio.measures``; the moment form of the
PSR (for published examples and MinTRL, which skfolio lacks) follows Bailey & López de Prado
(2012, 2014) with the same estimators as skfolio (biased skew, Pearson kurtosis, ddof=1 std).
SPA is ``arch.bootstrap.SPA``. Sharpe ratios passed to PSR/DSR/MinTRL are per period (not
annualised), as in the papers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from arch.bootstrap import SPA
from scipy import stats as st
from skfolio import measures as skm

from ordinis.engines.learning.core.models import MetricEstimate
from ordinis.engines.learning.evaluation.backtest import BacktestResult
from ordinis.engines.learning.evaluation.metrics import (
    STAT_COLUMNS,
    SUM_METRICS,
    calmar_ratio,
    max_drawdown,
    max_drawdown_from_log_growth,
    period_statistics,
    ratios_from_sums,
)
from ordinis.engines.learning.evaluation.resampling import (
    BlockDraw,
    chunk_indices,
    optimal_block_size,
    resample_sums,
)

PATH_METRICS: tuple[str, ...] = ("max_drawdown", "calmar")


@dataclass(frozen=True, slots=True)
class BootstrapSettings:
    """How intervals are drawn: resamples, two-sided confidence, seed and the block size.

    ``path_resamples`` bounds the resamples used for path metrics (max drawdown, Calmar), which
    need the ordered path; sum-based metrics always use all ``resamples``. ``block_size=None``
    applies :func:`resampling.optimal_block_size`.
    """

    resamples: int = 10_000
    confidence: float = 0.95
    seed: int = 0
    path_resamples: int = 2_000
    block_size: float | None = None

    def __post_init__(self) -> None:
        if self.resamples < 1 or self.path_resamples < 1:
            raise ValueError(
                f"resamples and path_resamples must be >= 1, got {self.resamples}, "
                f"{self.path_resamples}"
            )
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")


@dataclass(slots=True)
class BootstrapDistribution:
    """Point values and resampled values of the metrics of one backtest."""

    point: dict[str, float]
    samples: dict[str, np.ndarray]
    block_size: float
    resamples: int
    n: int


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    """Two-sided percentile interval of the finite resampled values."""
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(x, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_p_value(point: float, samples: np.ndarray) -> float:
    """One-sided p-value of H0 "the true value <= 0", from the bootstrap centred on the estimate.

    Under H0 shifted to 0, the resampled deviation ``s - point`` estimates the null distribution
    of the estimator; p = (1 + #{s - point >= point}) / (B + 1).
    """
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0 or not math.isfinite(point):
        return math.nan
    return float((1 + np.count_nonzero(x - point >= point)) / (x.size + 1))


def bootstrap_distribution(
    result: BacktestResult,
    periods_per_year: float,
    settings: BootstrapSettings | None = None,
    draw: BlockDraw | None = None,
) -> BootstrapDistribution:
    """Resample the periods of a backtest; every metric reuses one set of resamples."""
    cfg = settings or BootstrapSettings()
    n = result.n_periods
    if n < 3:
        raise ValueError(f"need at least 3 periods to bootstrap, got {n}")
    if draw is None:
        block = cfg.block_size or optimal_block_size(result.net_returns)
        draw = BlockDraw(n=n, block_size=block, resamples=cfg.resamples, seed=cfg.seed)
    stats = period_statistics(result)
    point = {
        k: float(v) for k, v in ratios_from_sums(stats.sum(axis=0), n, periods_per_year).items()
    }
    samples = ratios_from_sums(resample_sums(stats, draw), n, periods_per_year)
    log_growth = stats[:, STAT_COLUMNS.index("log_growth")]
    mdd_parts: list[np.ndarray] = []
    for _, starts, lengths in draw.chunks(cfg.path_resamples):
        mdd_parts.append(
            max_drawdown_from_log_growth(log_growth[chunk_indices(n, starts, lengths)])
        )
    mdd = np.concatenate(mdd_parts)
    point["max_drawdown"] = float(max_drawdown(result.net_returns))
    point["calmar"] = float(calmar_ratio(point["annual_return"], point["max_drawdown"]))
    samples["max_drawdown"] = mdd
    samples["calmar"] = calmar_ratio(samples["annual_return"][: mdd.size], mdd)
    return BootstrapDistribution(point, samples, draw.block_size, draw.resamples, n)


def estimates_from(
    point: Mapping[str, float], samples: Mapping[str, np.ndarray], confidence: float
) -> dict[str, MetricEstimate]:
    """MetricEstimate (value, percentile interval; p-value of > 0 for the Sharpe) per metric."""
    out: dict[str, MetricEstimate] = {}
    for name, value in point.items():
        if name not in samples:
            continue
        lo, hi = percentile_interval(samples[name], confidence)
        p = bootstrap_p_value(value, samples[name]) if name == "sharpe" else math.nan
        out[name] = MetricEstimate(value=float(value), lower=lo, upper=hi, p_value=p)
    return out


# --------------------------------------------------------------------------- PSR / DSR / MinTRL


def sample_moments(returns: np.ndarray) -> tuple[float, float, float, int]:
    """(per-period Sharpe, skew, Pearson kurtosis, n) with skfolio's estimators."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    sd = float(skm.standard_deviation(r)) if r.size > 1 else 0.0
    sr = float(skm.mean(r)) / sd if sd > 0 else 0.0
    if sd == 0:
        return sr, 0.0, 3.0, int(r.size)
    return sr, float(skm.skew(r)), float(skm.kurtosis(r)), int(r.size)


def psr_from_moments(
    sharpe: float, n: int, skew: float, kurtosis: float, benchmark_sharpe: float = 0.0
) -> float:
    """Probabilistic Sharpe Ratio from moments (per-period Sharpe, Pearson kurtosis).

    PSR = Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - skew SR + (kurt - 1)/4 SR^2)).
    """
    adj = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    if n < 3 or adj <= 0:
        return math.nan
    return float(st.norm.cdf((sharpe - benchmark_sharpe) * math.sqrt(n - 1) / math.sqrt(adj)))


def probabilistic_sharpe_ratio(returns: np.ndarray, benchmark_sharpe: float = 0.0) -> float:
    """P(true per-period Sharpe > ``benchmark_sharpe``) given length and non-normality (skfolio)."""
    r = np.asarray(returns, dtype=float)
    if r.size < 3 or float(np.std(r)) == 0.0:
        return math.nan
    return float(skm.probabilistic_sharpe_ratio(r, benchmark_sharpe_ratio=benchmark_sharpe))


def expected_max_sharpe(
    trials: float, trial_sharpe_std: float, trial_sharpe_mean: float = 0.0
) -> float:
    """Expected maximum per-period Sharpe of ``trials`` independent null trials (skfolio)."""
    return float(skm.expected_max_sharpe_ratio(trials, trial_sharpe_std, trial_sharpe_mean))


@dataclass(frozen=True, slots=True)
class DeflatedSharpe:
    """DSR and what it was computed from (per-period Sharpe values)."""

    dsr: float
    psr: float
    sharpe: float
    benchmark_sharpe: float
    trials: int
    trial_sharpe_std: float


def deflated_sharpe_ratio(
    returns: np.ndarray,
    trials: int,
    trial_sharpe_std: float | None = None,
    trial_sharpes: Sequence[float] | None = None,
) -> DeflatedSharpe:
    """Deflated Sharpe Ratio: PSR against the expected best Sharpe of ``trials`` null trials.

    The dispersion of the trials' Sharpe ratios is, in order of preference: the std of
    ``trial_sharpes`` (when the registry kept them; then skfolio's ``deflated_sharpe_ratio``
    semantics), ``trial_sharpe_std``, or the sampling std of a Sharpe estimate under the null of
    zero skill, ``1 / sqrt(n - 1)``: when only the count of trials is known, every trial is
    assumed to be noise of the same length.
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1 (every candidate evaluated counts), got {trials}")
    sr, skew, kurt, n = sample_moments(returns)
    if trial_sharpes is not None and len(trial_sharpes) > 1:
        std = float(np.std(np.asarray(trial_sharpes, dtype=float), ddof=1))
        trials = max(trials, len(trial_sharpes))
    elif trial_sharpe_std is not None:
        std = float(trial_sharpe_std)
    else:
        std = 1.0 / math.sqrt(max(n - 1, 1))
    sr0 = expected_max_sharpe(trials, std)
    return DeflatedSharpe(
        dsr=psr_from_moments(sr, n, skew, kurt, sr0),
        psr=psr_from_moments(sr, n, skew, kurt, 0.0),
        sharpe=sr,
        benchmark_sharpe=sr0,
        trials=int(trials),
        trial_sharpe_std=std,
    )


@dataclass(frozen=True, slots=True)
class PackMoments:
    """Moments of one pack's returns for the aggregate PSR/DSR (Sharpe per period)."""

    sharpe: float
    skew: float
    kurtosis: float
    n: int
    periods_per_year: float

    @classmethod
    def of(cls, returns: np.ndarray, periods_per_year: float) -> PackMoments:
        sr, sk, ku, n = sample_moments(returns)
        return cls(sr, sk, ku, n, periods_per_year)


def aggregate_deflated_sharpe(packs: Sequence[PackMoments], trials: int) -> DeflatedSharpe:
    """PSR and DSR of the equal-weight mean of annualised pack Sharpes.

    The packs' Sharpe estimates are independent, each with variance
    ``ppy (1 - skew SR + (kurt - 1)/4 SR^2) / (n - 1)`` (annualised); the mean's variance is the
    average over K^2. Under the null each pack's variance is ``ppy / (n - 1)``, which sets the
    trials' dispersion for the expected maximum (skfolio). With one pack this is exactly the
    single-series PSR/DSR. Values in the result are annualised.
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    if not packs:
        raise ValueError("aggregate_deflated_sharpe needs at least one pack")
    k = len(packs)
    mean = sum(p.sharpe * math.sqrt(p.periods_per_year) for p in packs) / k
    var = 0.0
    null_var = 0.0
    for p in packs:
        adj = 1.0 - p.skew * p.sharpe + (p.kurtosis - 1.0) / 4.0 * p.sharpe**2
        if p.n < 3 or adj <= 0:
            return DeflatedSharpe(math.nan, math.nan, mean, math.nan, trials, math.nan)
        var += p.periods_per_year * adj / (p.n - 1)
        null_var += p.periods_per_year / (p.n - 1)
    sd = math.sqrt(var) / k
    null_sd = math.sqrt(null_var) / k
    sr0 = expected_max_sharpe(trials, null_sd)
    return DeflatedSharpe(
        dsr=float(st.norm.cdf((mean - sr0) / sd)),
        psr=float(st.norm.cdf(mean / sd)),
        sharpe=mean,
        benchmark_sharpe=sr0,
        trials=int(trials),
        trial_sharpe_std=null_sd,
    )


def min_track_record_length_from_moments(
    sharpe: float,
    skew: float,
    kurtosis: float,
    benchmark_sharpe: float = 0.0,
    confidence: float = 0.95,
) -> float:
    """Periods needed for PSR(benchmark) to reach ``confidence`` (Bailey & López de Prado 2012).

    MinTRL = 1 + (1 - skew SR + (kurt - 1)/4 SR^2) (z_conf / (SR - SR*))^2; inf when SR <= SR*.
    """
    if sharpe <= benchmark_sharpe:
        return math.inf
    adj = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    z = float(st.norm.ppf(confidence))
    return 1.0 + adj * (z / (sharpe - benchmark_sharpe)) ** 2


def min_track_record_length(
    returns: np.ndarray, benchmark_sharpe: float = 0.0, confidence: float = 0.95
) -> float:
    """Minimum track record length (in periods) of a return series; see the moments form."""
    sr, skew, kurt, _ = sample_moments(returns)
    return min_track_record_length_from_moments(sr, skew, kurt, benchmark_sharpe, confidence)


# --------------------------------------------------------------------------- comparisons


@dataclass(frozen=True, slots=True)
class PairedTestResult:
    """Challenger (a) vs champion (b) on the same periods: annualised Sharpe difference.

    ``p_value`` tests H0 "a is not better than b" (Sharpe_a <= Sharpe_b) with a paired stationary
    block bootstrap: both series are resampled with the same blocks, so their correlation and
    common shocks cancel in the difference.
    """

    sharpe_a: float
    sharpe_b: float
    sharpe_diff: float
    lower: float
    upper: float
    p_value: float
    mean_diff_annual: float
    block_size: float
    n: int
    resamples: int

    def a_better(self, alpha: float = 0.05) -> bool:
        return self.p_value <= alpha


def _sharpe_from(sum_r: np.ndarray, sum_sq: np.ndarray, n: int, ann: float) -> np.ndarray:
    mean = sum_r / n
    var = np.maximum(sum_sq - sum_r * mean, 0.0) / max(n - 1, 1)
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 1e-15, mean / np.where(sd > 1e-15, sd, 1.0) * ann, 0.0)


def paired_sharpe_samples(
    returns_a: np.ndarray,
    returns_b: np.ndarray,
    periods_per_year: float = 252.0,
    settings: BootstrapSettings | None = None,
) -> tuple[PairedTestResult, np.ndarray]:
    """:func:`paired_sharpe_test` plus the resampled Sharpe differences (for aggregation)."""
    a = np.asarray(returns_a, dtype=float)
    b = np.asarray(returns_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"returns_a and returns_b must be aligned 1-D arrays, got {a.shape}, {b.shape}"
        )
    cfg = settings or BootstrapSettings()
    n = a.size
    block = cfg.block_size or optimal_block_size(a - b)
    draw = BlockDraw(n=n, block_size=block, resamples=cfg.resamples, seed=cfg.seed)
    stats = np.column_stack([a, a * a, b, b * b])
    ann = math.sqrt(periods_per_year)
    tot = stats.sum(axis=0)
    sr_a = float(_sharpe_from(tot[0], tot[1], n, ann))
    sr_b = float(_sharpe_from(tot[2], tot[3], n, ann))
    s = resample_sums(stats, draw)
    diff = _sharpe_from(s[:, 0], s[:, 1], n, ann) - _sharpe_from(s[:, 2], s[:, 3], n, ann)
    lo, hi = percentile_interval(diff, cfg.confidence)
    result = PairedTestResult(
        sharpe_a=sr_a,
        sharpe_b=sr_b,
        sharpe_diff=sr_a - sr_b,
        lower=lo,
        upper=hi,
        p_value=bootstrap_p_value(sr_a - sr_b, diff),
        mean_diff_annual=float((a - b).mean() * periods_per_year),
        block_size=block,
        n=n,
        resamples=cfg.resamples,
    )
    return result, diff


def paired_sharpe_test(
    returns_a: np.ndarray,
    returns_b: np.ndarray,
    periods_per_year: float = 252.0,
    settings: BootstrapSettings | None = None,
) -> PairedTestResult:
    """Paired block-bootstrap test of the Sharpe difference of two aligned return series."""
    return paired_sharpe_samples(returns_a, returns_b, periods_per_year, settings)[0]


@dataclass(frozen=True, slots=True)
class SPAResult:
    """Hansen's SPA of candidates against a benchmark (losses = negative returns).

    p-values test H0 "no candidate has a higher expected return than the benchmark";
    ``better`` lists the candidates that beat it at ``alpha`` (consistent p-value).
    """

    benchmark: str
    candidates: list[str]
    pvalue_lower: float
    pvalue_consistent: float
    pvalue_upper: float
    better: list[str] = field(default_factory=list)
    block_size: float = 1.0
    reps: int = 0


def spa_test(
    benchmark_name: str,
    benchmark_returns: np.ndarray,
    candidates: Mapping[str, np.ndarray],
    reps: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    block_size: float | None = None,
) -> SPAResult:
    """Run ``arch.bootstrap.SPA`` on aligned return series (higher return = better)."""
    if not candidates:
        raise ValueError("spa_test needs at least one candidate besides the benchmark")
    names = list(candidates)
    bench = np.asarray(benchmark_returns, dtype=float)
    models = np.column_stack([np.asarray(candidates[k], dtype=float) for k in names])
    if models.shape[0] != bench.shape[0]:
        raise ValueError(
            f"candidates have {models.shape[0]} periods but the benchmark has {bench.shape[0]}"
        )
    block = block_size or optimal_block_size(bench)
    spa = SPA(-bench, -models, block_size=math.ceil(block), reps=reps, seed=seed)
    spa.compute()
    pv = spa.pvalues
    better_idx = spa.better_models(pvalue=alpha, pvalue_type="consistent")
    return SPAResult(
        benchmark=benchmark_name,
        candidates=names,
        pvalue_lower=float(pv["lower"]),
        pvalue_consistent=float(pv["consistent"]),
        pvalue_upper=float(pv["upper"]),
        better=[names[int(i)] for i in better_idx],
        block_size=float(block),
        reps=reps,
    )


__all__ = [
    "PATH_METRICS",
    "SUM_METRICS",
    "BootstrapDistribution",
    "BootstrapSettings",
    "DeflatedSharpe",
    "PackMoments",
    "PairedTestResult",
    "SPAResult",
    "aggregate_deflated_sharpe",
    "bootstrap_distribution",
    "bootstrap_p_value",
    "deflated_sharpe_ratio",
    "estimates_from",
    "expected_max_sharpe",
    "min_track_record_length",
    "min_track_record_length_from_moments",
    "paired_sharpe_samples",
    "paired_sharpe_test",
    "percentile_interval",
    "probabilistic_sharpe_ratio",
    "psr_from_moments",
    "sample_moments",
    "spa_test",
]
