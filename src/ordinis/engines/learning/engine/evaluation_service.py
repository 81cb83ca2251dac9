"""Engine glue for evaluation: load the version, run the packs, apply the gates, store the result.

Results live in the event store (kind ``evaluation``, tagged with the version id), as metrics
on the version's MLflow run, and as the version's evaluation tag that promotion checks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import EvaluationError
from ordinis.engines.learning.core.models import EvaluationResult, StoredRecord
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
from ordinis.engines.learning.evaluation.serialization import (
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

EVALUATION_KIND = "evaluation"


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
    """Evaluates registered versions and records the verdicts where promotion looks for them."""

    def __init__(
        self,
        config: LearningEngineConfig,
        store: EventStore,
        clock: Clock,
        metrics: LearningMetrics,
        registry: ModelRegistry,
        evaluator: ModelEvaluator,
        audit: AuditLog,
        default_benchmarks: Sequence[str] | None = None,
        feature_function_of: Callable[[Mapping[str, str]], FeatureFunction | None] | None = None,
    ) -> None:
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
        """
        mv = self.registry.get_model_version(version_id)
        if mv.artifact_path:
            model = await asyncio.to_thread(self.registry.load_model, mv.version_id)
            packs = benchmark if benchmark is not None else self.default_benchmarks
            fn = self.feature_function_of(mv.lineage) if self.feature_function_of else None
            result = await self.evaluator.evaluate(
                model,
                mv.version_id,
                packs,
                trials=max(1, self.registry.trial_count(mv.model_name)),
                count_verdict=False,  # the gates below decide; _record counts the verdict once
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
        gates = self._gates(mv.artifact_path is not None, gate_set, thresholds, threshold_overrides)
        report = gates.evaluate(combined)
        self._attach(result, report)
        await self._record(mv.model_name, mv.run_id, result, report)
        return result

    def _gates(
        self,
        has_artifact: bool,
        gate_set: str | None,
        thresholds: Mapping[str, float] | None,
        overrides: Mapping[str, float] | None,
    ) -> GateSet:
        if thresholds and gate_set is None and not has_artifact:
            return legacy_threshold_gates(thresholds, self.config.eval_benchmark_threshold)
        gates = load_gate_set(gate_set or "production")
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
        return gates

    def _attach(self, result: EvaluationResult, report: GateReport) -> None:
        result.passed = bool(report.passed)
        result.thresholds = {g.name: float(g.threshold) for g in report.results}
        result.evaluated_at = self.clock.now()
        result.gate_report = report

    async def _record(
        self, model_name: str, run_id: str | None, result: EvaluationResult, report: GateReport
    ) -> None:
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
        summary = {k: v for k, v in result.metrics.items() if math.isfinite(v)}
        await self.registry.record_evaluation(
            result.model_version_id, result.passed, summary, result.evaluation_id
        )
        if run_id:
            await asyncio.to_thread(self._log_to_mlflow, run_id, result)
        failed = "; ".join(r.message for r in report.results if r.verdict is Verdict.FAIL)
        self.audit.append(
            "engine",
            "model.evaluate",
            result.model_version_id,
            "allow" if result.passed else "deny",
            "gates passed" if result.passed else failed[:500],
            {
                "evaluation_id": result.evaluation_id,
                "benchmark": result.benchmark_name,
                "gate_set": report.gate_set,
            },
        )
        record_verdict(self.metrics, model_name, result.passed, report)

    def _log_to_mlflow(self, run_id: str, result: EvaluationResult) -> None:
        from mlflow.entities import Metric

        ts = int(self.clock.time() * 1000)
        values = mlflow_metrics(result)
        client = self.registry.mlflow_client
        client.log_batch(run_id, metrics=[Metric(k, v, ts, 0) for k, v in sorted(values.items())])

    def stored(self, version_id: str | None = None) -> list[EvaluationResult]:
        """Evaluation results from the store, oldest first (of one version, or all)."""
        records = self.store.list_records(EVALUATION_KIND, tag=version_id)
        return [evaluation_from_dict(r.body) for r in records]

    async def compare(
        self, version_a: str, version_b: str, benchmark: str | Sequence[str] | None
    ) -> ComparisonResult:
        """Challenger ``version_a`` against champion ``version_b`` on the same packs."""
        model_a = await asyncio.to_thread(self.registry.load_model, version_a)
        model_b = await asyncio.to_thread(self.registry.load_model, version_b)
        packs = benchmark if benchmark is not None else self.default_benchmarks
        return await self.evaluator.compare_models(model_a, version_a, model_b, version_b, packs)
