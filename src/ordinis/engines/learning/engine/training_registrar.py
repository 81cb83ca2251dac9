"""Registers what a completed training job produced: the next version, with its lineage."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from ordinis.engines.learning.core.models import TrainingJob
from ordinis.engines.learning.core.strategy import LINEAGE_KEY as POLICY_KEY
from ordinis.engines.learning.core.strategy import PositionPolicy

if TYPE_CHECKING:
    from ordinis.engines.learning.registry import ModelRegistry
    from ordinis.engines.learning.training.trainers import TrainingOutcome


class TrainingRegistrar:
    """The executor's completion callback: one registration per model name at a time."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self._register_locks: dict[str, asyncio.Lock] = {}

    def next_version(self, model_name: str) -> str:
        """Versions are v1, v2, ... per model name, claimed in the shared store so two engines
        never both register the same number."""
        return self.registry.allocate_version(model_name)

    async def on_complete(self, job: TrainingJob, outcome: TrainingOutcome) -> str | None:
        """Register the trained model in MLflow with its lineage; returns the version id."""
        lineage = {str(k): str(v) for k, v in (outcome.lineage or {}).items()}
        lineage["training_job_id"] = job.job_id
        policy = job.config.get("position_policy")
        if policy is not None:  # the strategy definition the job was asked to train for
            text = policy if isinstance(policy, str) else json.dumps(policy)
            lineage[POLICY_KEY] = PositionPolicy.from_json(text).to_json()
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
