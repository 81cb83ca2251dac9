"""ModelEvaluator: trading statistics of a model on benchmark packs, with intervals and tests.

For each pack: the model's signals on the pack's point-in-time features, a cost-aware backtest
(per contiguous window), the trading metrics, stationary-block-bootstrap intervals of every
metric from one set of resamples, PSR and the Deflated Sharpe (counting ``trials``). Packs are
aggregated (means of ratios, worst drawdown, joint bootstrap of the mean Sharpe). CPU work runs
in a worker thread (packs in parallel on a small thread pool); the event loop stays free.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import math
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import EvaluationError, FieldProblem, ValidationError
from ordinis.engines.learning.core.models import (
    EvaluationResult,
    EvaluationScope,
    MetricEstimate,
    PackCoverage,
)
from ordinis.engines.learning.core.protocol import PredictiveModel
from ordinis.engines.learning.core.strategy import PositionPolicy
from ordinis.engines.learning.evaluation.backtest import BacktestResult, backtest
from ordinis.engines.learning.evaluation.benchmarks import (
    BenchmarkDataset,
    BenchmarkRegistry,
    build_dataset,
    validate_prices,
)
from ordinis.engines.learning.evaluation.cross_validation import (
    CVResult,
    PurgedKFold,
    Splitter,
    cross_validate,
)
from ordinis.engines.learning.evaluation.gates import GateReport, GateSet
from ordinis.engines.learning.evaluation.metrics import TradingMetrics, compute_trading_metrics
from ordinis.engines.learning.evaluation.oos import OutOfSample, scope_pack
from ordinis.engines.learning.evaluation.parity import (
    BacktestRecord,
    LiveRecord,
    ParityResult,
    ParityValidator,
)
from ordinis.engines.learning.evaluation.resampling import single_threaded_blas
from ordinis.engines.learning.evaluation.statistics import (
    BootstrapDistribution,
    BootstrapSettings,
    PackMoments,
    PairedTestResult,
    SPAResult,
    aggregate_deflated_sharpe,
    bootstrap_distribution,
    bootstrap_p_value,
    deflated_sharpe_ratio,
    estimates_from,
    min_track_record_length,
    paired_sharpe_samples,
    percentile_interval,
    spa_test,
)
from ordinis.engines.learning.features import FeatureFunction
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.tracing import ATTR_OUTCOME, span
from ordinis.engines.learning.observability.verdicts import record_verdict

# Aggregation over packs: mean of these, max of drawdown, sum of counts.
_MEAN_METRICS = (
    "sharpe",
    "sortino",
    "calmar",
    "win_rate",
    "profit_factor",
    "hit_rate",
    "turnover",
    "exposure",
    "total_return",
    "annual_return",
)
HoldoutLike = BenchmarkDataset | pd.Series | pd.DataFrame


class MissingPackFeaturesError(EvaluationError):
    """A pack does not provide every feature of the model's set: the pack is skipped."""

    def __init__(self, pack: str, reason: str) -> None:
        self.pack = pack
        self.reason = reason
        super().__init__(reason)


@dataclass(slots=True)
class PackEvaluation:
    """Everything computed for one pack (kept in memory; ``details`` holds its JSON form)."""

    dataset: BenchmarkDataset
    result: BacktestResult
    metrics: TradingMetrics
    distribution: BootstrapDistribution
    intervals: dict[str, MetricEstimate]
    psr: float
    dsr: float
    min_track_record_periods: float

    def to_details(self) -> dict[str, Any]:
        ds = self.dataset
        return {
            "version": ds.version,
            "description": ds.description,
            "asset_class": ds.asset_class,
            "source": ds.source,
            "start": ds.start.isoformat(),
            "end": ds.end.isoformat(),
            "segments": [[a.isoformat(), b.isoformat()] for a, b in ds.segments],
            "n_periods": self.metrics.n_periods,
            "periods_per_year": ds.periods_per_year,
            "block_size": self.distribution.block_size,
            "metrics": self.metrics.as_dict() | {"psr": self.psr, "dsr": self.dsr},
            "intervals": {
                k: {"value": e.value, "lower": e.lower, "upper": e.upper, "p_value": e.p_value}
                for k, e in self.intervals.items()
            },
            "min_track_record_years": self.min_track_record_periods / ds.periods_per_year,
        }


@dataclass(slots=True)
class ComparisonResult:
    """Challenger (a) vs champion (b): paired block-bootstrap Sharpe tests per pack and overall.

    The overall difference is the mean of the per-pack Sharpe differences; its interval and
    p-value come from the joint bootstrap of those means. The test is ONE-SIDED (H0: a is not
    better than b; H1: Sharpe(a) > Sharpe(b)) at level ``alpha``; the interval is TWO-SIDED at
    ``confidence``. ``a_better`` (the promotion rule) is ``p_value <= alpha``.
    """

    model_a: str
    model_b: str
    per_pack: dict[str, PairedTestResult]
    sharpe_diff: float
    lower: float
    upper: float
    p_value: float
    alpha: float
    data_hash: str
    confidence: float = 0.95
    sidedness: str = "one-sided"

    @property
    def a_better(self) -> bool:
        """The challenger beats the champion: one-sided p-value <= alpha (never NaN)."""
        return bool(self.p_value <= self.alpha)

    def describe(self) -> str:
        """One line naming the test's sidedness, alpha and the interval's (two-sided) level."""
        verdict = "challenger better" if self.a_better else "not shown better: keep the champion"
        return (
            f"Sharpe difference {self.sharpe_diff:+.3f} (two-sided {self.confidence:.0%} "
            f"interval [{self.lower:+.3f}, {self.upper:+.3f}]); one-sided test H1: challenger > "
            f"champion, p = {self.p_value:.3f} vs alpha {self.alpha:g}: {verdict}"
        )


@dataclass(slots=True)
class MultipleComparisonResult:
    """Hansen's SPA of several candidates against a champion, per pack and over all packs."""

    champion: str
    candidates: list[str]
    per_pack: dict[str, SPAResult]
    overall: SPAResult
    data_hash: str
    extra: dict[str, Any] = field(default_factory=dict)


def _pack_seed(base: int, dataset: BenchmarkDataset) -> int:
    return (base * 1_000_003 + zlib.crc32(dataset.version.encode())) % (2**32)


class ModelEvaluator:
    """Evaluates PredictiveModels on benchmark packs; async methods run the CPU work in threads.

    ``gates`` (optional) decide ``EvaluationResult.passed``; without them a result passes when
    its Deflated Sharpe reaches ``config.eval_benchmark_threshold``.
    """

    def __init__(
        self,
        config: LearningEngineConfig,
        clock: Clock,
        metrics: LearningMetrics,
        benchmarks: BenchmarkRegistry | None = None,
        *,
        gates: GateSet | None = None,
        confidence: float = 0.95,
        seed: int = 0,
        max_workers: int = 2,
    ) -> None:
        self.config = config
        self.clock = clock
        self.metrics = metrics
        self.benchmarks = benchmarks or BenchmarkRegistry()
        self.gates = gates
        self.settings = BootstrapSettings(
            resamples=config.bootstrap_resamples, confidence=confidence, seed=seed
        )
        self.max_workers = max(1, max_workers)

    # ------------------------------------------------------------------ public async API
    async def evaluate(
        self,
        model: PredictiveModel,
        model_version_id: str,
        benchmark: str | Sequence[str] | BenchmarkDataset | None = None,
        holdout: HoldoutLike | None = None,
        trials: int = 1,
        gates: GateSet | None = None,
        count_verdict: bool = True,
        oos: OutOfSample | None = None,
        policy: PositionPolicy | None = None,
        feature_function: FeatureFunction | None = None,
    ) -> EvaluationResult:
        """Evaluate ``model`` on the named packs (None: every built-in pack) plus ``holdout``.

        ``trials`` is the number of candidates ever evaluated for this model name (the engine
        counts them in the registry); the Deflated Sharpe deflates by it. ``count_verdict=False``
        when the caller applies its own gates and counts the final verdict itself. ``oos`` says
        as of when (default: the clock's now) and which training window to exclude; ``policy``
        is the version's strategy definition (default: the config's costs, clipped signals).
        ``feature_function``: the version's own feature function; packs compute it.
        """
        return await asyncio.to_thread(
            self.evaluate_sync, model, model_version_id, benchmark, holdout, trials, gates,
            count_verdict, oos, policy, feature_function,
        )

    async def compare_models(
        self,
        model_a: PredictiveModel,
        id_a: str,
        model_b: PredictiveModel,
        id_b: str,
        benchmark: str | Sequence[str] | BenchmarkDataset | None = None,
        alpha: float = 0.05,
        oos: OutOfSample | None = None,
        policy: PositionPolicy | None = None,
        holdout: HoldoutLike | None = None,
    ) -> ComparisonResult:
        """One-sided paired test of challenger ``model_a`` against champion ``model_b``."""
        return await asyncio.to_thread(
            self.compare_models_sync, model_a, id_a, model_b, id_b, benchmark, alpha, oos, policy,
            holdout,
        )

    async def compare_many(
        self,
        models: Sequence[tuple[PredictiveModel, str]],
        benchmark: str | Sequence[str] | BenchmarkDataset | None = None,
        champion: int = 0,
        alpha: float = 0.05,
        reps: int | None = None,
    ) -> MultipleComparisonResult:
        """Hansen's SPA: does any candidate beat ``models[champion]``? Needs >= 2 models."""
        return await asyncio.to_thread(
            self.compare_many_sync, models, benchmark, champion, alpha, reps
        )

    async def cross_validate(
        self,
        make_model: Callable[[], Any],
        X: pd.DataFrame,
        y: pd.Series | np.ndarray,
        splitter: Splitter | None = None,
        periods_per_year: float = 252.0,
    ) -> CVResult:
        """Cross-validate in a thread; default splitter: purged k-fold, ``config`` folds."""
        split = splitter or PurgedKFold(
            n_splits=self.config.cross_validation_folds, purge=1, embargo=5
        )
        return await asyncio.to_thread(
            cross_validate, make_model, X, y, split, periods_per_year=periods_per_year
        )

    async def check_parity(
        self,
        model: PredictiveModel | None,
        backtest_record: BacktestRecord,
        live_record: LiveRecord,
        validator: ParityValidator | None = None,
    ) -> ParityResult:
        """Backtest-vs-live parity (defaults: production thresholds) in a thread."""
        v = validator or ParityValidator()
        return await asyncio.to_thread(v.validate, model, backtest_record, live_record)

    # ------------------------------------------------------------------ sync core
    def evaluate_sync(
        self,
        model: PredictiveModel,
        model_version_id: str,
        benchmark: str | Sequence[str] | BenchmarkDataset | None = None,
        holdout: HoldoutLike | None = None,
        trials: int = 1,
        gates: GateSet | None = None,
        count_verdict: bool = True,
        oos: OutOfSample | None = None,
        policy: PositionPolicy | None = None,
        feature_function: FeatureFunction | None = None,
    ) -> EvaluationResult:
        """The synchronous evaluation (what :meth:`evaluate` runs in a thread)."""
        model_name = model_version_id.split(":", 1)[0]
        with span(self.metrics.tracer, "learning.evaluation", model=model_name,
                  version=model_version_id) as sp:
            result = self._evaluate_sync(
                model, model_version_id, benchmark, holdout, trials, gates, count_verdict,
                oos, policy, feature_function,
            )
            sp.set_attribute(ATTR_OUTCOME, "passed" if result.passed else "failed")
            return result

    def _evaluate_sync(
        self,
        model: PredictiveModel,
        model_version_id: str,
        benchmark: str | Sequence[str] | BenchmarkDataset | None,
        holdout: HoldoutLike | None,
        trials: int,
        gates: GateSet | None,
        count_verdict: bool,
        oos: OutOfSample | None = None,
        policy: PositionPolicy | None = None,
        feature_function: FeatureFunction | None = None,
    ) -> EvaluationResult:
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise ValidationError(
                "evaluate",
                [
                    FieldProblem(
                        "trials",
                        trials,
                        "must be an int >= 1: every candidate evaluated for this model",
                    )
                ],
            )
        started = self.clock.monotonic()
        pol = policy or self.default_policy
        datasets = self._datasets(benchmark, holdout)
        if feature_function is not None:
            datasets = [self.benchmarks.computed_with(d, feature_function) or d for d in datasets]
        datasets, scope = self._scoped(datasets, oos)
        with single_threaded_blas():
            packs, skipped = self._run_packs(model, datasets, trials, pol)
        if not packs:
            raise _no_pack_error(model, model_version_id, datasets, holdout is not None)
        metrics, intervals = self._aggregate(packs, trials)
        gate_set = gates or self.gates
        report: GateReport | None = gate_set.evaluate(metrics) if gate_set else None
        if report is not None:
            passed = report.passed
        else:
            passed = metrics.get("dsr", math.nan) >= self.config.eval_benchmark_threshold
        elapsed = max(self.clock.monotonic() - started, 0.0)
        model_name = model_version_id.split(":", 1)[0]
        if count_verdict:
            record_verdict(self.metrics, model_name, passed, report)
        self.metrics.evaluation_duration.labels(model_name=model_name).observe(elapsed)
        details: dict[str, Any] = {
            "packs": {p.dataset.name: p.to_details() for p in packs},
            "trials": trials,
            "resamples": self.settings.resamples,
            "confidence": self.settings.confidence,
            "position_policy": pol.to_json(),
            "cost_bps": pol.cost_bps,
            "slippage_bps": pol.slippage_bps,
            "p_value": "one-sided (H0: Sharpe <= 0), beside a two-sided percentile interval",
            "interval_method": "percentile, stationary block bootstrap (Politis-Romano), block "
            "length max(Politis-White(r), Politis-White(r^2)) in [1, sqrt(n)]",
            "aggregation": "mean over packs; max_drawdown = worst pack; psr/dsr of the mean of "
            "the packs' annualised Sharpes (statistics.aggregate_deflated_sharpe)",
            "duration_seconds": elapsed,
            "feature_names": list(getattr(model, "feature_names", ())),
        }
        if skipped:
            details["skipped_packs"] = skipped
        return EvaluationResult(
            model_version_id=model_version_id,
            benchmark_name=",".join(p.dataset.name for p in packs),
            passed=bool(passed),
            metrics=metrics,
            thresholds=gate_set.thresholds if gate_set else {},
            evaluated_at=self.clock.now(),
            details=details,
            intervals=intervals,
            data_hash=_combined_hash(p.dataset for p in packs),
            gate_report=report,
            scope=scope,
        )

    def compare_models_sync(
        self,
        model_a: PredictiveModel,
        id_a: str,
        model_b: PredictiveModel,
        id_b: str,
        benchmark: str | Sequence[str] | BenchmarkDataset | None = None,
        alpha: float = 0.05,
        oos: OutOfSample | None = None,
        policy: PositionPolicy | None = None,
        holdout: HoldoutLike | None = None,
    ) -> ComparisonResult:
        """The synchronous form of :meth:`compare_models`."""
        datasets, _ = self._scoped(self._datasets(benchmark, holdout), oos)
        pol = policy or self.default_policy
        per_pack: dict[str, PairedTestResult] = {}
        diffs: list[np.ndarray] = []
        with single_threaded_blas():
            for ds in datasets:
                self._compare_pack(model_a, model_b, ds, per_pack, diffs, pol)
        mean_samples = np.mean(np.vstack(diffs), axis=0)
        point = float(np.mean([r.sharpe_diff for r in per_pack.values()]))
        lo, hi = percentile_interval(mean_samples, self.settings.confidence)
        return ComparisonResult(
            model_a=id_a,
            model_b=id_b,
            per_pack=per_pack,
            sharpe_diff=point,
            lower=lo,
            upper=hi,
            p_value=bootstrap_p_value(point, mean_samples),
            alpha=alpha,
            data_hash=_combined_hash(datasets),
            confidence=self.settings.confidence,
        )

    def _compare_pack(
        self,
        model_a: PredictiveModel,
        model_b: PredictiveModel,
        ds: BenchmarkDataset,
        per_pack: dict[str, PairedTestResult],
        diffs: list[np.ndarray],
        policy: PositionPolicy,
    ) -> None:
        ra = self.backtest_dataset(model_a, ds, policy).net_returns
        rb = self.backtest_dataset(model_b, ds, policy).net_returns
        settings = BootstrapSettings(
            self.settings.resamples, self.settings.confidence, _pack_seed(self.settings.seed, ds)
        )
        res, samples = paired_sharpe_samples(ra, rb, ds.periods_per_year, settings)
        per_pack[ds.name] = res
        diffs.append(samples)

    def compare_many_sync(
        self,
        models: Sequence[tuple[PredictiveModel, str]],
        benchmark: str | Sequence[str] | BenchmarkDataset | None = None,
        champion: int = 0,
        alpha: float = 0.05,
        reps: int | None = None,
    ) -> MultipleComparisonResult:
        """The synchronous form of :meth:`compare_many`."""
        if len(models) < 2:
            raise ValidationError(
                "compare_many",
                [FieldProblem("models", len(models), "need a champion and at least one candidate")],
            )
        if not 0 <= champion < len(models):
            raise ValidationError(
                "compare_many",
                [FieldProblem("champion", champion, f"must index models (0..{len(models) - 1})")],
            )
        ids = [mid for _, mid in models]
        if len(set(ids)) != len(ids):
            raise ValidationError(
                "compare_many", [FieldProblem("models", ids, "ids must be unique")]
            )
        datasets, _ = self._scoped(self._datasets(benchmark, None), None)
        n_reps = reps or min(self.config.bootstrap_resamples, 2_000)
        returns: dict[str, list[np.ndarray]] = {mid: [] for mid in ids}
        per_pack: dict[str, SPAResult] = {}
        for ds in datasets:
            series = {mid: self.backtest_dataset(m, ds).net_returns for m, mid in models}
            for mid, r in series.items():
                returns[mid].append(r)
            champ = ids[champion]
            cands = {k: v for k, v in series.items() if k != champ}
            per_pack[ds.name] = spa_test(
                champ,
                series[champ],
                cands,
                reps=n_reps,
                seed=_pack_seed(self.settings.seed, ds),
                alpha=alpha,
            )
        champ = ids[champion]
        allr = {k: np.concatenate(v) for k, v in returns.items()}
        overall = spa_test(
            champ,
            allr[champ],
            {k: v for k, v in allr.items() if k != champ},
            reps=n_reps,
            seed=self.settings.seed,
            alpha=alpha,
        )
        return MultipleComparisonResult(
            champ, [i for i in ids if i != champ], per_pack, overall, _combined_hash(datasets)
        )

    # ------------------------------------------------------------------ building blocks
    def signals_for(
        self, model: PredictiveModel, dataset: BenchmarkDataset
    ) -> pd.Series | pd.DataFrame:
        """The model's signals on a pack's features (one column per asset for multi-asset)."""
        cols = list(model.feature_names)
        missing = [c for c in cols if c not in dataset.features.columns]
        if missing:
            raise MissingPackFeaturesError(
                dataset.name,
                f"model needs feature(s) {missing} that benchmark {dataset.name!r} does not "
                f"provide (its feature function {dataset.feature_function!r} computes "
                f"{list(map(str, dataset.features.columns))}); register a pack with the feature "
                "function that computes them (BenchmarkRegistry.register_dataframe(..., "
                "feature_function=...))",
            )
        X = dataset.features[cols]
        try:
            raw = np.asarray(model.predict(X), dtype=float).reshape(-1)
        except Exception as exc:
            raise EvaluationError(
                f"model.predict failed on benchmark {dataset.name!r}: {exc}"
            ) from exc
        if raw.shape[0] != len(X):
            raise EvaluationError(
                f"model.predict returned {raw.shape[0]} values for {len(X)} rows of "
                f"{dataset.name!r}"
            )
        if not np.isfinite(raw).all():
            raise EvaluationError(
                f"model.predict returned NaN/inf on benchmark {dataset.name!r} "
                f"({int((~np.isfinite(raw)).sum())} rows); signals must be finite in [-1, 1]"
            )
        if np.abs(raw).max(initial=0.0) > 1.0 + 1e-9:
            raise EvaluationError(
                f"model.predict returned signals outside [-1, 1] on {dataset.name!r} "
                f"(max |signal| = {float(np.abs(raw).max()):.4g}); scale them to [-1, 1]"
            )
        sig = pd.Series(raw, index=X.index)
        if dataset.is_multi_asset:
            wide = sig.unstack("asset")
            return wide.reindex(index=dataset.close.index, columns=dataset.assets)
        return sig

    @property
    def default_policy(self) -> PositionPolicy:
        """The strategy definition of a version that carries none: config costs, clipped signal."""
        return PositionPolicy(
            cost_bps=self.config.transaction_cost_bps, slippage_bps=self.config.slippage_bps
        )

    def backtest_dataset(
        self,
        model: PredictiveModel,
        dataset: BenchmarkDataset,
        policy: PositionPolicy | None = None,
    ) -> BacktestResult:
        """Backtest the model on every window of a pack and join the windows' periods."""
        pol = policy or self.default_policy
        signals = self.signals_for(model, dataset)
        parts: list[BacktestResult] = []
        idx = dataset.close.index
        for a, b in dataset.segments:
            mask = (idx >= a) & (idx <= b)
            parts.append(backtest(signals[mask], dataset.returns[mask], policy=pol))
        return _concat_results(parts)

    def evaluate_pack(
        self,
        model: PredictiveModel,
        dataset: BenchmarkDataset,
        trials: int = 1,
        policy: PositionPolicy | None = None,
    ) -> PackEvaluation:
        """Backtest, metrics, bootstrap intervals, PSR and DSR on one pack."""
        result = self.backtest_dataset(model, dataset, policy)
        if result.n_periods < 20:
            raise EvaluationError(
                f"benchmark {dataset.name!r} yields {result.n_periods} periods; need >= 20"
            )
        tm = compute_trading_metrics(result, dataset.periods_per_year)
        settings = BootstrapSettings(
            self.settings.resamples,
            self.settings.confidence,
            _pack_seed(self.settings.seed, dataset),
            self.settings.path_resamples,
        )
        dist = bootstrap_distribution(result, dataset.periods_per_year, settings)
        intervals = estimates_from(dist.point, dist.samples, settings.confidence)
        ds = deflated_sharpe_ratio(result.net_returns, trials)
        return PackEvaluation(
            dataset,
            result,
            tm,
            dist,
            intervals,
            ds.psr,
            ds.dsr,
            min_track_record_length(result.net_returns),
        )

    # ------------------------------------------------------------------ internals
    def _datasets(
        self, benchmark: str | Sequence[str] | BenchmarkDataset | None, holdout: HoldoutLike | None
    ) -> list[BenchmarkDataset]:
        datasets = self.benchmarks.resolve(benchmark)
        if holdout is not None:
            if isinstance(holdout, BenchmarkDataset):
                datasets.append(holdout)
            else:
                prices = validate_prices("holdout", holdout)
                datasets.append(
                    build_dataset(
                        "holdout",
                        prices,
                        None,
                        description="holdout supplied to evaluate()",
                        asset_class="user",
                        source="holdout",
                    )
                )
        names = [d.name for d in datasets]
        if len(set(names)) != len(names):
            raise ValidationError(
                "benchmark", [FieldProblem("benchmark", names, "each pack may appear once")]
            )
        return datasets

    def _scoped(
        self, datasets: list[BenchmarkDataset], oos: OutOfSample | None
    ) -> tuple[list[BenchmarkDataset], EvaluationScope]:
        """Cut every pack at the clock's now and out of the training window; skip thin packs.

        No out-of-sample pack left is an error that lists why each was skipped: an evaluation
        never falls back to in-sample or future rows.
        """
        rule = oos or OutOfSample(self.clock.now())
        kept: list[BenchmarkDataset] = []
        coverage: list[PackCoverage] = []
        for ds in datasets:
            cut, cov = scope_pack(ds, rule, self.config.eval_min_oos_rows)
            coverage.append(cov)
            if cut is not None:
                kept.append(cut)
        scope = EvaluationScope(rule.as_of, rule.excluded_start, rule.excluded_end, tuple(coverage))
        if not kept:
            reasons = "; ".join(f"{c.name}: {c.skipped}" for c in coverage) or "no packs given"
            raise EvaluationError(
                f"no out-of-sample data as of {rule.as_of.isoformat()}"
                + (
                    f" outside the training window {rule.excluded_start:%Y-%m-%d}.."
                    f"{rule.excluded_end:%Y-%m-%d} (purge/embargo included)"
                    if rule.excluded_start and rule.excluded_end
                    else ""
                )
                + f" ({reasons}); evaluate on packs that lie before the clock's now and outside "
                "the version's training window, or let the clock run until a forward holdout "
                "has enough rows. An evaluation never falls back to in-sample data."
            )
        return kept, scope

    def _run_packs(
        self,
        model: PredictiveModel,
        datasets: list[BenchmarkDataset],
        trials: int,
        policy: PositionPolicy | None = None,
    ) -> tuple[list[PackEvaluation], dict[str, str]]:
        """Evaluations of the packs that provide the model's features; the others' reasons."""
        usable = [d for d in datasets if not _missing_features(model, d)]
        skipped = {d.name: _skip_reason(model, d) for d in datasets if d not in usable}
        if len(usable) <= 1 or self.max_workers == 1:
            return [self._traced_pack(model, d, trials, policy) for d in usable], skipped
        # Largest packs first so the two workers finish together.
        order = sorted(range(len(usable)), key=lambda i: -usable[i].n_rows)
        with ThreadPoolExecutor(
            max_workers=min(self.max_workers, len(usable)), thread_name_prefix="evaluation"
        ) as pool:
            # each pack runs in a copy of this context, so its span is a child of ours
            futures = {
                i: pool.submit(
                    contextvars.copy_context().run,
                    self._traced_pack,
                    model,
                    usable[i],
                    trials,
                    policy,
                )
                for i in order
            }
            return [futures[i].result() for i in range(len(usable))], skipped

    def _traced_pack(
        self,
        model: PredictiveModel,
        dataset: BenchmarkDataset,
        trials: int,
        policy: PositionPolicy | None = None,
    ) -> PackEvaluation:
        with span(self.metrics.tracer, "learning.evaluation.pack", pack=dataset.name,
                  rows=dataset.n_rows):
            return self.evaluate_pack(model, dataset, trials, policy)

    def _aggregate(
        self, packs: list[PackEvaluation], trials: int
    ) -> tuple[dict[str, float], dict[str, MetricEstimate]]:
        conf = self.settings.confidence
        metrics: dict[str, float] = {}
        intervals: dict[str, MetricEstimate] = {}
        per = [p.metrics.as_dict() for p in packs]
        for k in _MEAN_METRICS:
            vals = np.array([m[k] for m in per], dtype=float)
            finite = vals[np.isfinite(vals)]
            metrics[k] = float(finite.mean()) if finite.size else float(vals.mean())
        metrics["max_drawdown"] = float(max(m["max_drawdown"] for m in per))
        metrics["n_trades"] = float(sum(m["n_trades"] for m in per))
        metrics["n_periods"] = float(sum(m["n_periods"] for m in per))
        for k in packs[0].distribution.samples:
            stacked = np.vstack([p.distribution.samples[k] for p in packs])
            agg = stacked.max(axis=0) if k == "max_drawdown" else np.nanmean(stacked, axis=0)
            point = metrics.get(k, float(np.mean([p.distribution.point[k] for p in packs])))
            lo, hi = percentile_interval(agg, conf)
            pv = bootstrap_p_value(point, agg) if k == "sharpe" else math.nan
            intervals[k] = MetricEstimate(point, lo, hi, pv)
        sharpe = intervals["sharpe"]
        metrics["p_value"] = sharpe.p_value
        metrics["sharpe_lower"] = sharpe.lower
        metrics["sharpe_upper"] = sharpe.upper
        deflated = aggregate_deflated_sharpe(
            [PackMoments.of(p.result.net_returns, p.dataset.periods_per_year) for p in packs],
            trials,
        )
        metrics["psr"] = deflated.psr
        metrics["dsr"] = deflated.dsr
        metrics["trials"] = float(trials)
        return metrics, intervals


def _missing_features(model: PredictiveModel, dataset: BenchmarkDataset) -> list[str]:
    return [c for c in model.feature_names if c not in dataset.features.columns]


def _skip_reason(model: PredictiveModel, dataset: BenchmarkDataset) -> str:
    missing = _missing_features(model, dataset)
    return (f"skipped: the model needs {missing}, which the pack's feature function "
            f"{dataset.feature_function!r} does not compute; register the pack with the feature "
            "function of the model's feature set")


def _no_pack_error(
    model: PredictiveModel, version_id: str, datasets: list[BenchmarkDataset], had_holdout: bool
) -> EvaluationError:
    """Why no pack could judge the version, said once per missing-feature group, and the fix."""
    groups: dict[tuple[tuple[str, ...], str], list[str]] = {}
    for d in datasets:
        key = (tuple(_missing_features(model, d)), repr(d.feature_function))
        groups.setdefault(key, []).append(d.name)
    lacks = "; ".join(
        f"it needs {list(missing)}, which {_names(packs)} "
        f"{'does' if len(packs) == 1 else 'do'} not compute (feature function {fn})"
        for (missing, fn), packs in groups.items()
    )
    fix = ("Register a pack whose feature function computes them, engine.register_benchmark("
           "name, closes, feature_function=FeatureFunction(name, compute, names, warmup_rows)), "
           "and evaluate on it (docs/features.md)")
    if not had_holdout:
        lacks += ("; and it has no forward holdout yet (signal events carrying its features, "
                  "stored after its training window)")
        fix += "; or evaluate once such events have arrived"
    return EvaluationError(
        f"no benchmark pack provides the features of {version_id}: {lacks}. {fix}")


def _names(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def _concat_results(parts: list[BacktestResult]) -> BacktestResult:
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return BacktestResult(
        index=first.index.append([p.index for p in parts[1:]]),
        positions=np.vstack([p.positions for p in parts]),
        asset_returns=np.vstack([p.asset_returns for p in parts]),
        gross_returns=np.concatenate([p.gross_returns for p in parts]),
        costs=np.concatenate([p.costs for p in parts]),
        net_returns=np.concatenate([p.net_returns for p in parts]),
        turnover=np.concatenate([p.turnover for p in parts]),
        cost_bps=first.cost_bps,
        slippage_bps=first.slippage_bps,
    )


def _combined_hash(datasets: Any) -> str:
    h = hashlib.sha256()
    for d in sorted(datasets, key=lambda d: d.name):
        h.update(f"{d.name}:{d.version};".encode())
    return h.hexdigest()
