"""Engine glue for evaluation: load the version, run the packs, apply the gates, store the result."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import EvaluationError
from ordinis.engines.learning.core.models import EvaluationResult, StoredRecord
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics

if TYPE_CHECKING:
    from ordinis.engines.learning.evaluation.gates import GateReport
    from ordinis.engines.learning.governance.audit import AuditLog
    from ordinis.engines.learning.registry import ModelRegistry
    from ordinis.engines.learning.evaluation.evaluator import ModelEvaluator

EVALUATION_KIND = "evaluation"


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
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.registry = registry
        self.evaluator = evaluator
        self.audit = audit
        self.default_benchmarks = list(default_benchmarks) if default_benchmarks else None

    def gate_set(self, name_or_path: str | None, model_type: str | None, thresholds: dict[str, float] | None) -> Any:
        from ordinis.engines.learning.evaluation.gates import GateSet, load_gate_set

        gates = load_gate_set(name_or_path or "production", model_type=model_type)
        if thresholds:
            extra = GateSet.from_dict(
                {
                    "name": "thresholds",
                    "gates": [
                        {
                            "name": f"{k}_threshold", "metric": k, "gate_type": "performance",
                            "threshold": float(v) * self.config.eval_benchmark_threshold,
                            "comparison": "gte", "required": True,
                        }
                        for k, v in thresholds.items()
                    ],
                }
            )
            gates = gates.merged(extra) if hasattr(gates, "merged") else extra
        return gates

    async def evaluate(
        self,
        version_id: str,
        benchmark: str | Sequence[str] | None,
        metrics: dict[str, float] | None = None,
        thresholds: dict[str, float] | None = None,
        gate_set: str | None = None,
    ) -> EvaluationResult:
        """Real evaluation of the version's artifact on packs; legacy metric check without one."""
        mv = self.registry.get_model_version(version_id)
        model_type = mv.parameters.get("model_type") if mv.parameters else None
        if mv.artifact_path:
            model = self.registry.load_model(version_id)
            packs = benchmark if benchmark is not None else self.default_benchmarks
            result = await self.evaluator.evaluate(
                model, version_id, packs, trials=max(1, self.registry.trial_count(mv.model_name))
            )
            combined = dict(result.metrics)
            if metrics:
                for k, v in metrics.items():
                    combined.setdefault(k, float(v))
        elif metrics:
            result = EvaluationResult(
                model_version_id=version_id,
                benchmark_name=str(benchmark or "reported"),
                passed=False,
                metrics={k: float(v) for k, v in metrics.items()},
                evaluated_at=self.clock.now(),
            )
            combined = dict(result.metrics)
        else:
            raise EvaluationError(
                f"version {version_id} has no artifact and no metrics were given: register the "
                "model with an artifact, or pass metrics= and thresholds="
            )
        if thresholds and not mv.artifact_path and gate_set is None:
            gates = self.gate_set(None, model_type, thresholds)
            gates = gates if not hasattr(gates, "only") else gates.only([f"{k}_threshold" for k in thresholds])
        else:
            gates = self.gate_set(gate_set, model_type, thresholds)
        report: GateReport = gates.evaluate(combined)
        result.passed = bool(report.passed)
        result.thresholds = {g.name: float(g.threshold) for g in report.results}
        result.details["gate_report"] = report.to_dict() if hasattr(report, "to_dict") else str(report)
        result.details["gate_set"] = gate_set or "production"
        result.evaluated_at = self.clock.now()
        self._store_result(result)
        summary = {k: v for k, v in combined.items() if isinstance(v, float) and math.isfinite(v)}
        await self.registry.record_evaluation(version_id, result.passed, summary, result.evaluation_id)
        self.audit.append(
            "engine", "model.evaluate", version_id, "allow" if result.passed else "deny",
            "gates passed" if result.passed else "; ".join(
                r.message for r in report.results if r.verdict.value == "fail"
            )[:500],
            {"evaluation_id": result.evaluation_id, "benchmark": result.benchmark_name},
        )
        self.metrics.evaluations_total.labels(mv.model_name, str(result.passed).lower()).inc()
        for r in report.results:
            self.metrics.gate_results_total.labels(r.name, r.verdict.value).inc()
        result.details["gate_report_obj"] = report
        return result

    def _store_result(self, result: EvaluationResult) -> None:
        from ordinis.engines.learning.evaluation.evaluator import evaluation_to_dict

        body = evaluation_to_dict(result)
        now = self.clock.now()
        self.store.put_record(
            StoredRecord(EVALUATION_KIND, result.evaluation_id, body, now, now, result.model_version_id)
        )

    def stored(self, version_id: str | None = None) -> list[EvaluationResult]:
        from ordinis.engines.learning.evaluation.evaluator import evaluation_from_dict

        records = self.store.list_records(EVALUATION_KIND, tag=version_id)
        return [evaluation_from_dict(r.body) for r in records]

    async def compare(self, version_a: str, version_b: str, benchmark: str | Sequence[str] | None) -> Any:
        model_a = self.registry.load_model(version_a)
        model_b = self.registry.load_model(version_b)
        packs = benchmark if benchmark is not None else self.default_benchmarks
        return await self.evaluator.compare_models(model_a, version_a, model_b, version_b, packs)
