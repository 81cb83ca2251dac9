"""Submits training jobs: governance preflight, the audit record, then the executor's queue."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import TrainingJob
from ordinis.engines.learning.engine.training_data import TrainingData

if TYPE_CHECKING:
    from ordinis.engines.learning.governance.audit import AuditLog
    from ordinis.engines.learning.governance.policies import PolicyEngine
    from ordinis.engines.learning.training.executor import TrainingExecutor


class TrainingService:
    """The engine's way in to training: every job passes preflight and is audited."""

    def __init__(
        self,
        config: LearningEngineConfig,
        data: TrainingData,
        policies: PolicyEngine,
        audit: AuditLog,
        executor: TrainingExecutor,
    ) -> None:
        self.config = config
        self.data = data
        self.policies = policies
        self.audit = audit
        self.executor = executor

    async def submit(
        self, model_name: str, model_type: str, job_config: dict[str, Any], actor: str = "engine"
    ) -> TrainingJob:
        """Preflight (min samples, allowed model type), audit, then queue on the executor."""
        from ordinis.engines.learning.governance.policies import GovernanceAction

        start, end = self.data.window(job_config)
        samples = await asyncio.to_thread(
            self.data.count_samples, start, end, job_config.get("symbol")
        )
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
