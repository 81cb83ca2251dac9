"""Protocols between the engine and its parts, and the LearningEngineProtocol hosts rely on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.models import (
    DriftAlert,
    EvaluationResult,
    EventType,
    HealthStatus,
    LearningEvent,
    ModelStage,
    ModelVersion,
    RolloutStrategy,
    TrainingJob,
)


@runtime_checkable
class PredictiveModel(Protocol):
    """A trained model as the evaluator and router use it.

    ``predict`` returns, per row of ``X`` (columns ``feature_names``), a signal in [-1, 1]:
    its sign is the direction, its size the conviction. Positions derive from it.
    """

    feature_names: Sequence[str]

    def predict(self, X: pd.DataFrame) -> np.ndarray: ...


@runtime_checkable
class LearningEngineProtocol(Protocol):
    """What the ordinis host calls on the LearningEngine."""

    async def initialize(self) -> None: ...

    async def shutdown(self) -> None: ...

    async def health_check(self) -> HealthStatus: ...

    def record_event(self, event: LearningEvent) -> str: ...

    async def record_event_durable(self, event: LearningEvent) -> str: ...

    async def flush_events(self) -> int: ...

    def get_events(
        self,
        event_type: EventType | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        symbol: str | None = None,
        source_engine: str | None = None,
        limit: int = 1000,
    ) -> list[LearningEvent]: ...

    async def submit_training_job(
        self, model_name: str, model_type: str, config: dict[str, Any]
    ) -> TrainingJob: ...

    async def register_model_version(
        self,
        model_name: str,
        version: str,
        artifact_path: str | None = None,
        metrics: dict[str, float] | None = None,
        parameters: dict[str, Any] | None = None,
        training_job_id: str | None = None,
        description: str = "",
        model: Any = None,
    ) -> ModelVersion: ...

    async def promote_model(
        self,
        model_name: str,
        version_id: str,
        target_stage: ModelStage,
        rollout_strategy: RolloutStrategy | None = None,
    ) -> ModelVersion: ...

    def get_production_model(self, model_name: str) -> ModelVersion | None: ...

    def check_drift(
        self, model_name: str, current_metrics: dict[str, float]
    ) -> list[DriftAlert]: ...

    async def evaluate_model(
        self,
        version_id: str,
        benchmark_name: str,
        metrics: dict[str, float] | None = None,
        thresholds: dict[str, float] | None = None,
    ) -> EvaluationResult: ...
