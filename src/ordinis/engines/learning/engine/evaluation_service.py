"""Engine glue for evaluation: load the version, run the packs, apply the gates, store the result.

Results live in the event store (kind ``evaluation``, tagged with the version id: the history),
as one MLflow run each (nested under the version's run; step = the version's evaluation
number, time = the engine clock's), and as the version's tags per gate set (promotion reads the
production gate set's verdict only).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import EvaluationError, FieldProblem, ValidationError
from ordinis.engines.learning.core.ids import new_id
from ordinis.engines.learning.core.models import (
    EvaluationResult,
    ModelVersion,
    ProductionVerdict,
    StoredRecord,
)
from ordinis.engines.learning.engine.backtest_records import BacktestRecords
from ordinis.engines.learning.engine.forward_holdout import forward_holdout
from ordinis.engines.learning.engine.offload import Offload
from ordinis.engines.learning.evaluation.backtest_record import (
    holdout_backtest,
    live_returns,
    no_backtest,
    parity_of,
)
from ordinis.engines.learning.evaluation.benchmarks import BenchmarkDataset
from ordinis.engines.learning.evaluation.evaluator import ComparisonResult, ModelEvaluator
from ordinis.engines.learning.evaluation.gates import (
    Comparison,
    EvaluationGate,
    GateReport,
    GateSet,
    GateType,
    Verdict,
    load_gate_set,
)
from ordinis.engines.learning.evaluation.oos import OutOfSample
from ordinis.engines.learning.evaluation.parity import ParityEvidence, ParityResult
from ordinis.engines.learning.evaluation.serialization import (
    EVALUATION_KIND,
    evaluation_from_dict,
    evaluation_to_dict,
    mlflow_metrics,
)
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.features import FeatureFunction
from ordinis.engines.learning.governance.audit import AuditLog
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.verdicts import record_verdict
from ordinis.engines.learning.registry import ModelRegistry

PARITY_KIND = "parity"

log = logging.getLogger(__name__)


def _parity_reason(result: ParityResult) -> str:
    """The audit line of a parity result: the ratio, and when it failed, which checks and why."""
    failed = [c.name for c in result.checks if c.verdict is not Verdict.PASS]
    parts = [f"parity_ratio = {result.parity_ratio:.4g}"]
    if not result.passed and failed:
        parts.append("failed: " + ", ".join(failed))
    if not result.passed and result.problems:
        parts.append("; ".join(result.problems)[:300])
    return "; ".join(parts)


def with_threshold_overrides(gates: GateSet, overrides: Mapping[str, float]) -> GateSet:
    """The same gates with some thresholds replaced (matched by gate name or metric)."""
    unknown = set(overrides) - {g.name for g in gates.gates} - {g.metric_name for g in gates.gates}
    if unknown:
        from ordinis.engines.learning.core.errors import ConfigError, FieldProblem

        known = ", ".join(sorted({g.metric_name for g in gates.gates}))
        raise ConfigError(
            f"threshold overrides of gate set {gates.name!r}",
            [
                FieldProblem(k, overrides[k], f"no gate on this metric; known: {known}")
                for k in sorted(unknown)
            ],
        )
    replaced = tuple(
        dataclasses.replace(
            g, threshold=float(overrides.get(g.name, overrides.get(g.metric_name, g.threshold)))
        )
        for g in gates.gates
    )
    return GateSet(name=gates.name, gates=replaced, model_type=gates.model_type)


def legacy_threshold_gates(thresholds: Mapping[str, float], factor: float) -> GateSet:
    """The ordinis check of today: each metric must reach ``threshold * factor``."""
    return GateSet(
        name="thresholds",
        gates=tuple(
            EvaluationGate(
                name=k,
                gate_type=GateType.PERFORMANCE,
                threshold=float(v) * factor,
                comparison=Comparison.GTE,
                required=True,
            )
            for k, v in thresholds.items()
        ),
    )


class EvaluationService:
    """Evaluates registered versions and records the verdicts where promotion looks for them.

    Every evaluation is as of the clock's now and out of the version's training window; a
    version the engine trained is also judged on its forward holdout (events after its training
    window). The verdict names the gate set, its hash, the trials, the packs and the clock time;
    only the production set of the version's model type, unchanged, can open production.
    """

    def __init__(
        self,
        config: LearningEngineConfig,
        store: EventStore,
        clock: Clock,
        metrics: LearningMetrics,
        registry: ModelRegistry,
        evaluator: ModelEvaluator,
        audit: AuditLog,
        backtests: BacktestRecords,
        default_benchmarks: Sequence[str] | None = None,
        feature_function_of: Callable[[Mapping[str, str]], FeatureFunction | None] | None = None,
        offload: Offload | None = None,
    ) -> None:
        self.offload = offload  # builds forward holdouts in the store-read helper
        self.backtests = backtests  # each version's backtest for parity
        self.feature_function_of = feature_function_of  # lineage -> the version's function
        self.config = config
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.registry = registry
        self.evaluator = evaluator
        self.audit = audit
        self.default_benchmarks = list(default_benchmarks) if default_benchmarks else None

    async def evaluate(
        self,
        version_id: str,
        benchmark: str | Sequence[str] | None,
        metrics: dict[str, float] | None = None,
        thresholds: dict[str, float] | None = None,
        gate_set: str | None = None,
        threshold_overrides: Mapping[str, float] | None = None,
    ) -> EvaluationResult:
        """Evaluate the version's artifact on packs; without an artifact, check reported metrics.

        ``thresholds`` (the ordinis call) adds a gate per metric at threshold x
        eval_benchmark_threshold; ``gate_set`` names the YAML gate set (default production).
        Reported metrics never open production: only the engine's own evaluation does.
        """
        mv = self.registry.get_model_version(version_id)
        model_type = self.registry.model_type_of(mv.version_id)
        trials = self.registry.trial_count_of(mv.version_id)
        model: Any = None
        holdout: BenchmarkDataset | None = None
        if mv.artifact_path:
            model = await asyncio.to_thread(self.registry.load_model, mv.version_id)
            packs = benchmark if benchmark is not None else self.default_benchmarks
            oos = OutOfSample.for_version(self.clock.now(), mv.lineage, mv.parameters)
            holdout = await asyncio.to_thread(self._forward_holdout, mv, model, oos)
            fn = self.feature_function_of(mv.lineage) if self.feature_function_of else None
            result = await self.evaluator.evaluate(
                model,
                mv.version_id,
                packs,
                holdout=holdout,
                trials=trials,
                count_verdict=False,  # the gates below decide; _record counts the verdict once
                oos=oos,
                policy=self.registry.position_policy_of(mv.version_id),
                feature_function=fn,
            )
        elif metrics:
            result = EvaluationResult(
                model_version_id=mv.version_id,
                benchmark_name=str(benchmark or "reported"),
                passed=False,
                metrics={k: float(v) for k, v in metrics.items()},
            )
        else:
            raise EvaluationError(
                f"version {mv.version_id} has no artifact and no metrics were given: register "
                "the model with an artifact, or pass metrics= and thresholds="
            )
        combined = dict(result.metrics)
        for k, v in (metrics or {}).items():
            combined.setdefault(k, float(v))
        parity = await asyncio.to_thread(self.latest_parity, mv.version_id)
        if parity is not None and math.isfinite(parity.parity_ratio):
            combined["parity_ratio"] = parity.parity_ratio
            result.metrics["parity_ratio"] = parity.parity_ratio
        gates, opens = self._gates(
            mv.artifact_path is not None, gate_set, thresholds, threshold_overrides, model_type
        )
        report = gates.evaluate(combined)
        self._attach(result, report, gates, opens, trials)
        await self._record(mv.model_name, mv.run_id, result, report)
        if opens and holdout is not None:
            await asyncio.to_thread(self._keep_holdout_backtest, mv, model, holdout)
        return result

    def _keep_holdout_backtest(
        self, mv: ModelVersion, model: Any, holdout: BenchmarkDataset
    ) -> None:
        """The production verdict's forward holdout, traded as the live book trades, kept as
        the version's backtest for parity (what its shadow and canary are compared with)."""
        try:
            backtest = holdout_backtest(model, holdout, self.registry.position_policy_of(
                mv.version_id), mv.version_id, self.clock.now())
        except Exception as exc:  # parity then says "no backtest record"; the verdict stands
            log.warning("no holdout backtest for %s: %s", mv.version_id, exc)
            return
        if backtest is not None:
            self.backtests.put(backtest, "engine")

    def _forward_holdout(
        self, mv: ModelVersion, model: object, oos: OutOfSample
    ) -> BenchmarkDataset | None:
        """Events from the end of the training window to now (engine-trained versions only)."""
        if oos.excluded_end is None or not mv.training_job_id:
            return None
        names = [str(n) for n in getattr(model, "feature_names", [])]
        if not names:
            return None
        return self._holdout(oos.excluded_end, oos.as_of, names)

    def _holdout(
        self, start: datetime, end: datetime, names: list[str]
    ) -> BenchmarkDataset | None:
        """``forward_holdout`` over the store, in the store-read helper when there is one."""
        if self.offload is None:
            return forward_holdout(self.store, start, end, names)
        return self.offload.call(forward_holdout, self.store, start, end, names)

    def _gates(
        self,
        has_artifact: bool,
        gate_set: str | None,
        thresholds: Mapping[str, float] | None,
        overrides: Mapping[str, float] | None,
        model_type: str | None = None,
    ) -> tuple[GateSet, bool]:
        """The gate set to apply, and whether its verdict may open production."""
        if thresholds and gate_set is None and not has_artifact:
            return legacy_threshold_gates(thresholds, self.config.eval_benchmark_threshold), False
        name = gate_set or "production"
        gates = load_gate_set(name, model_type=model_type)
        production = load_gate_set("production", model_type=model_type)
        if overrides:
            gates = with_threshold_overrides(gates, overrides)
        if thresholds:
            extra = legacy_threshold_gates(thresholds, self.config.eval_benchmark_threshold)
            gates = GateSet(
                name=gates.name,
                gates=gates.gates
                + tuple(dataclasses.replace(g, name=f"{g.name}_reported") for g in extra.gates),
                model_type=gates.model_type,
            )
        opens = has_artifact and gates.fingerprint() == production.fingerprint()
        return gates, opens

    def _attach(
        self,
        result: EvaluationResult,
        report: GateReport,
        gates: GateSet,
        opens: bool,
        trials: int,
    ) -> None:
        result.passed = bool(report.passed)
        result.thresholds = {g.name: float(g.threshold) for g in report.results}
        result.evaluated_at = self.clock.now()
        result.gate_report = report
        scope = result.scope
        packs = tuple(f"{c.name}@{c.version[:12]}" for c in scope.used) if scope else ()
        ratio = result.metrics.get("parity_ratio")
        result.verdict = ProductionVerdict(
            evaluation_id=result.evaluation_id,
            gate_set=gates.name,
            gate_set_hash=gates.fingerprint(),
            opens_production=opens,
            passed=bool(report.passed),
            trials=trials,
            packs=packs,
            as_of=scope.as_of if scope else self.clock.now(),
            waiting_for=tuple(r.name for r in report.waiting),
            blocked_by=tuple(r.name for r in report.failures),
            parity_ratio=None if ratio is None else float(ratio),
        )

    async def _record(
        self, model_name: str, run_id: str | None, result: EvaluationResult, report: GateReport
    ) -> None:
        """Keep the evaluation as its own record: the store (its history), one MLflow run
        (step = the version's evaluation number), the gate set's tags on the version."""
        now = self.clock.now()
        await asyncio.to_thread(
            self.store.put_record,
            StoredRecord(
                EVALUATION_KIND,
                result.evaluation_id,
                evaluation_to_dict(result),
                now,
                now,
                result.model_version_id,
            ),
        )
        sequence = await asyncio.to_thread(
            lambda: len(self.store.list_records(EVALUATION_KIND, tag=result.model_version_id))
        )
        gate_set = report.gate_set or result.gate_set or ""
        eval_run = await self.registry.log_evaluation_run(
            result.model_version_id,
            {"ordinis.gate_set": gate_set, "ordinis.evaluation_id": result.evaluation_id,
             "ordinis.benchmark": result.benchmark_name[:250],
             "ordinis.passed": "true" if result.passed else "false",
             "ordinis.evaluation_sequence": str(sequence)},
            mlflow_metrics(result),
            sequence,
        )
        summary = {k: v for k, v in result.metrics.items() if math.isfinite(v)}
        await self.registry.record_evaluation(
            result.model_version_id,
            result.passed,
            summary,
            result.evaluation_id,
            verdict=result.verdict,
            label=report.summary(),
            gate_set=gate_set,
            run_id=eval_run,
        )
        self.audit.append(
            "engine",
            "model.evaluate",
            result.model_version_id,
            "allow" if result.passed else "deny",
            report.summary()[:500],
            {
                "evaluation_id": result.evaluation_id,
                "benchmark": result.benchmark_name,
                "gate_set": report.gate_set,
                "sequence": sequence,
                "mlflow_run_id": eval_run,
                "verdict": result.verdict.to_dict() if result.verdict else None,
            },
        )
        record_verdict(self.metrics, model_name, result.passed, report)

    def stored(self, version_id: str | None = None) -> list[EvaluationResult]:
        """Evaluation results from the store, oldest first (of one version, or all)."""
        records = self.store.list_records(EVALUATION_KIND, tag=version_id)
        return [evaluation_from_dict(r.body) for r in records]

    # ------------------------------------------------------------------ parity (live evidence)
    async def record_parity(
        self, version_id: str, result: ParityResult, source: str = ""
    ) -> ParityEvidence:
        """Store a parity result of a shadow/canary run, audit it, and re-judge the version's
        latest production evaluation with its ``parity_ratio`` (a new stored verdict)."""
        mv = self.registry.get_model_version(version_id)
        if not isinstance(result, ParityResult):
            raise ValidationError(
                "record_parity",
                [FieldProblem("result", type(result).__name__, "must be a ParityResult")],
            )
        now = self.clock.now()
        evidence = ParityEvidence.of(mv.version_id, result, now, source)
        await asyncio.to_thread(
            self.store.put_record,
            StoredRecord(
                PARITY_KIND, new_id(), evidence.to_dict(), now, now, mv.version_id
            ),
        )
        self.audit.append(
            source or "engine",
            "model.parity",
            mv.version_id,
            "allow" if result.passed else "deny",
            _parity_reason(result),
            {"parity_ratio": evidence.to_dict()["parity_ratio"], "passed": result.passed},
        )
        await self._rejudge_with_parity(mv, evidence)
        return evidence

    async def measure_parity(
        self, version_id: str, live: object, periods_per_year: float | None, actor: str
    ) -> ParityEvidence:
        """Parity of a live run the host or an operator reports (per-period returns) against
        the version's stored backtest, computed here (ParityValidator), then recorded."""
        mv = self.registry.get_model_version(version_id)
        returns = live_returns(live)
        if periods_per_year is not None and not (
            isinstance(periods_per_year, int | float) and math.isfinite(periods_per_year)
            and periods_per_year > 0
        ):
            raise ValidationError("measure_parity", [FieldProblem(
                "periods_per_year", periods_per_year, "must be a number > 0 (daily: 252)")])
        result = await asyncio.to_thread(
            self._parity_of, mv.version_id, returns, periods_per_year)
        return await self.record_parity(mv.version_id, result, source=actor)

    def _parity_of(
        self, version_id: str, returns: pd.Series, periods_per_year: float | None
    ) -> ParityResult:
        stored = self.backtests.get(version_id)
        if stored is None:
            raise ValidationError("measure_parity", [FieldProblem(
                "version_id", version_id, no_backtest(version_id) + " (over HTTP: PUT "
                "/v1/versions/{id}/backtest)")])
        return parity_of(stored, returns, periods_per_year=periods_per_year)

    def latest_parity(self, version_id: str) -> ParityEvidence | None:
        """The newest parity result recorded for a version."""
        records = self.store.list_records(PARITY_KIND, tag=version_id)
        if not records:
            return None
        return ParityEvidence.from_dict(records[-1].body)

    async def _rejudge_with_parity(self, mv: ModelVersion, evidence: ParityEvidence) -> None:
        """The latest production-set evaluation, gated again with the new parity_ratio."""
        latest = next(
            (
                r
                for r in reversed(await asyncio.to_thread(self.stored, mv.version_id))
                if r.verdict is not None and r.verdict.opens_production
            ),
            None,
        )
        if latest is None or latest.verdict is None:
            return
        model_type = self.registry.model_type_of(mv.version_id)
        gates = load_gate_set("production", model_type=model_type)
        metrics = dict(latest.metrics)
        if math.isfinite(evidence.parity_ratio):
            metrics["parity_ratio"] = evidence.parity_ratio
        else:
            metrics.pop("parity_ratio", None)
        report = gates.evaluate(metrics)
        again = dataclasses.replace(
            latest,
            evaluation_id=new_id(),
            metrics=metrics,
            details=dict(latest.details)
            | {
                "rejudged_from": latest.evaluation_id,
                "parity_recorded_at": evidence.recorded_at.isoformat(),
            },
        )
        self._attach(again, report, gates, True, latest.verdict.trials)
        await self._record(mv.model_name, None, again, report)

    async def compare(
        self, version_a: str, version_b: str, benchmark: str | Sequence[str] | None,
        alpha: float = 0.05,
    ) -> ComparisonResult:
        """One-sided paired test of challenger ``version_a`` against champion ``version_b``.

        Both are judged as of now and outside both training windows (plus the events after both,
        when the engine trained one of them), with the challenger's position policy.
        """
        mva = self.registry.get_model_version(version_a)
        mvb = self.registry.get_model_version(version_b)
        model_a = await asyncio.to_thread(self.registry.load_model, version_a)
        model_b = await asyncio.to_thread(self.registry.load_model, version_b)
        packs = benchmark if benchmark is not None else self.default_benchmarks
        now = self.clock.now()
        oa = OutOfSample.for_version(now, mva.lineage, mva.parameters)
        ob = OutOfSample.for_version(now, mvb.lineage, mvb.parameters)
        starts = [t for t in (oa.excluded_start, ob.excluded_start) if t is not None]
        ends = [t for t in (oa.excluded_end, ob.excluded_end) if t is not None]
        oos = OutOfSample(now, min(starts) if starts else None, max(ends) if ends else None)
        holdout = None
        if oos.excluded_end is not None and (mva.training_job_id or mvb.training_job_id):
            names = sorted(
                {str(n) for m in (model_a, model_b) for n in getattr(m, "feature_names", [])}
            )
            holdout = await asyncio.to_thread(self._holdout, oos.excluded_end, now, names)
        return await self.evaluator.compare_models(
            model_a, version_a, model_b, version_b, packs, alpha=alpha, oos=oos,
            policy=self.registry.position_policy_of(version_a), holdout=holdout,
        )
