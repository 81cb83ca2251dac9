"""Engine glue for training: governance preflight, datasets from events, auto-registration."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.models import EventType, TrainingJob
from ordinis.engines.learning.events.store import EventQuery, EventStore

if TYPE_CHECKING:
    from ordinis.engines.learning.governance.audit import AuditLog
    from ordinis.engines.learning.governance.policies import PolicyEngine
    from ordinis.engines.learning.registry import ModelRegistry
    from ordinis.engines.learning.training.dataset import Dataset
    from ordinis.engines.learning.training.executor import TrainingExecutor
    from ordinis.engines.learning.training.trainers import TrainingOutcome


def _parse_time(field: str, value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(
            "training job config",
            [
                FieldProblem(
                    field, value, "must be an ISO-8601 time, e.g. 2015-01-01T00:00:00+00:00"
                )
            ],
        ) from None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed


class TrainingService:
    """Submits jobs through governance, builds their datasets and registers what they produce."""

    def __init__(
        self,
        config: LearningEngineConfig,
        store: EventStore,
        clock: Clock,
        policies: PolicyEngine,
        audit: AuditLog,
        registry: ModelRegistry,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.policies = policies
        self.audit = audit
        self.registry = registry
        self.executor: TrainingExecutor | None = None
        self._register_locks: dict[str, asyncio.Lock] = {}

    def window(self, job_config: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
        """A job's data window: config ``start``/``end``; ``end`` defaults to the clock's now."""
        start = _parse_time("start", job_config.get("start"))
        end = _parse_time("end", job_config.get("end")) or self.clock.now()
        return start, end

    def count_samples(
        self, start: datetime | None, end: datetime | None, symbol: str | None = None
    ) -> int:
        """Stored signal events in a window (the candidates for a training set)."""
        return self.store.count_events(
            EventQuery(
                event_type=EventType.SIGNAL_GENERATED,
                start=start,
                end=end,
                symbol=symbol,
                limit=None,
            )
        )

    async def submit(
        self, model_name: str, model_type: str, job_config: dict[str, Any], actor: str = "engine"
    ) -> TrainingJob:
        """Preflight (min samples, allowed model type), audit, then queue on the executor."""
        from ordinis.engines.learning.governance.policies import GovernanceAction

        assert self.executor is not None
        start, end = self.window(job_config)
        samples = self.count_samples(start, end, job_config.get("symbol"))
        action = GovernanceAction(
            action="train",
            actor=actor,
            model_name=model_name,
            model_type=model_type,
            sample_count=samples,
        )
        result = self.policies.preflight(action)
        decision = result.decision.value
        if decision in ("deny", "defer"):
            reason = "; ".join(r.reason for r in result.results if r.decision.value == decision)
            self.audit.append(
                actor,
                "training.submit",
                model_name,
                decision,
                reason,
                {"model_type": model_type, "samples": samples},
            )
            self.policies.enforce(action)  # raises PolicyDeniedError with the policy's reason
        job_config = dict(job_config)
        if model_type == "signal":
            job_config.setdefault("cv_folds", self.config.cross_validation_folds)
        job = await self.executor.submit(model_name, model_type, job_config)
        self.audit.append(
            actor,
            "training.submit",
            model_name,
            decision,
            "queued",
            {"job_id": job.job_id, "model_type": model_type, "samples": samples},
        )
        return job

    def build_dataset(self, job: TrainingJob) -> Dataset:
        """Signal events of the job's window, as features and next-return targets."""
        from ordinis.engines.learning.training.dataset import build_signal_dataset

        start, end = self.window(job.config)
        events = self.store.query_events(
            EventQuery(
                event_type=EventType.SIGNAL_GENERATED,
                start=start,
                end=end,
                symbol=job.config.get("symbol"),
                limit=None,
            )
        )
        return build_signal_dataset(events, min_samples=self.config.min_samples_for_training)

    def next_version(self, model_name: str) -> str:
        """Versions are v1, v2, ... per model name, claimed in the shared store so two engines
        never both register the same number."""
        return self.registry.allocate_version(model_name)

    async def on_complete(self, job: TrainingJob, outcome: TrainingOutcome) -> str | None:
        """Register the trained model in MLflow with its lineage; returns the version id."""
        lineage = {str(k): str(v) for k, v in (outcome.lineage or {}).items()}
        lineage["training_job_id"] = job.job_id
        if job.trigger_id:
            lineage["trigger_id"] = job.trigger_id
        # one registration per model at a time: two jobs finishing together must not both
        # pick the same next version number
        lock = self._register_locks.setdefault(job.model_name, asyncio.Lock())
        async with lock:
            return await self._register(job, outcome, lineage)

    async def _register(
        self, job: TrainingJob, outcome: TrainingOutcome, lineage: dict[str, str]
    ) -> str | None:
        mv = await self.registry.register_model_version(
            job.model_name,
            self.next_version(job.model_name),
            artifact_path=str(outcome.artifact_path),
            metrics={k: float(v) for k, v in outcome.metrics.items()},
            parameters=dict(outcome.params),
            training_job_id=job.job_id,
            description=f"trained by job {job.job_id} ({job.model_type})",
            lineage=lineage,
            model_type=job.model_type,
        )
        await self.registry.apply_retention(job.model_name)
        return mv.version_id
