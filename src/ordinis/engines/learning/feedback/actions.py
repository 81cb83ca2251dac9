"""LoopActions: what the closed loop asks of the engine (train, wait, gate, promote, data).

The feedback package never imports training/, evaluation/ or registry/; the engine implements
this protocol over them, and tests implement it over a small real scikit-learn model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pandas as pd

from ordinis.engines.learning.core.gate_report import GateReport
from ordinis.engines.learning.core.models import ModelStage, TrainingJob

if TYPE_CHECKING:
    from ordinis.engines.learning.feedback.triggers import RetrainingTrigger


@dataclass(slots=True)
class GateOutcome:
    """The verdict of evaluating and gating one candidate version."""

    passed: bool
    report_summary: str
    metrics: dict[str, float] = field(default_factory=dict)
    evaluation_id: str | None = None
    report_text: str = ""
    report: GateReport | None = None


@dataclass(frozen=True, slots=True)
class RolloutStart:
    """Whether the loop started the production rollout of a staged candidate, and why.

    ``considered`` is False when there was nothing to decide (no production version to
    compare with): the loop then reports nothing, and the candidate stays staged.
    """

    started: bool
    message: str
    rollout_id: str | None = None
    considered: bool = True


@runtime_checkable
class LoopActions(Protocol):
    """The engine side of the loop; the async verbs may take long, the sync ones must be quick."""

    async def commit_events(self) -> None:
        """Commit every event recorded so far: the loop's reads of ``[start, now)`` then see
        all of it, whatever the writer's timing (the same window on every run)."""
        ...

    async def start_training(self, model_name: str, trigger: RetrainingTrigger) -> TrainingJob:
        """Submit a training job for ``model_name`` (``trigger.trigger_id`` as its trigger)."""
        ...

    async def wait_for_training(self, job_id: str) -> TrainingJob:
        """Return the job once it is terminal (completed, failed or cancelled)."""
        ...

    async def evaluate_and_gate(self, model_name: str, version_id: str) -> GateOutcome:
        """Evaluate the candidate version on the pipeline's benchmarks and apply the gate set."""
        ...

    async def promote(
        self, model_name: str, version_id: str, stage: ModelStage, reason: str
    ) -> None:
        """Move the version to ``stage`` (through governance preflight and the audit log)."""
        ...

    async def start_rollout(self, model_name: str, version_id: str, reason: str) -> RolloutStart:
        """Start the pipeline's production rollout of a staged candidate against the serving
        version, when the production gates allow it (their verdict waits only for parity)."""
        ...

    def count_training_samples(self, model_name: str, start: datetime, end: datetime) -> int:
        """How many training samples the model would get from ``[start, end)``."""
        ...

    def training_window_features(self, model_name: str) -> pd.DataFrame | None:
        """Features of the training window (None: the model has no feature table to validate)."""
        ...

    def model_feature_names(self, model_name: str) -> Sequence[str] | None:
        """The features of the model's own set (its latest version); None when not known yet."""
        ...

    def reference_features(self, model_name: str) -> pd.DataFrame | None:
        """Features the training window is compared with for drift (None: skip the drift check)."""
        ...
