"""Helpers of the closed-loop tests: the packaged pipeline as a mapping, a LoopActions over a
real scikit-learn model (trained on the window, gated on holdout accuracy), and a wired loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.linear_model import LogisticRegression

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.ids import new_id
from ordinis.engines.learning.core.models import ModelStage, TrainingJob, TrainingStatus
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.features.bar_features import FEATURE_NAMES
from ordinis.engines.learning.feedback import (
    GateOutcome,
    ImprovementLoop,
    LoopEvent,
    PipelineSpec,
    RetrainingPolicy,
    RetrainingTrigger,
    RolloutStart,
    default_pipeline_path,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics

START = datetime(2012, 1, 3, 14, 30, tzinfo=UTC)


def pipeline_mapping(**stage_overrides: dict[str, Any]) -> dict[str, Any]:
    """The packaged pipeline.yaml as a mapping, with some stage fields replaced."""
    data: dict[str, Any] = yaml.safe_load(default_pipeline_path().read_text())
    for stage in data["stages"]:
        stage.update(stage_overrides.get(stage["name"], {}))
    if "triggers" in stage_overrides:
        for key, value in stage_overrides["triggers"].items():
            data["triggers"][key].update(value)
    return data


class SklearnLoopActions:
    """LoopActions over a real LogisticRegression on S&P 500 bar features.

    ``label_mode="signal"``: the target is a noisy function of the features (learnable);
    ``"coin"``: the target is a coin flip (a candidate that cannot pass the accuracy gate).
    """

    def __init__(
        self,
        features: pd.DataFrame,
        clock: SimulatedClock,
        min_accuracy: float = 0.6,
        label_mode: str = "signal",
    ) -> None:
        self.features = features
        self.clock = clock
        self.min_accuracy = min_accuracy
        self.label_mode = label_mode
        self.fail_training = False
        self.window: pd.DataFrame | None = None
        self.reference: pd.DataFrame | None = None
        self.jobs: dict[str, TrainingJob] = {}
        self.models: dict[str, tuple[LogisticRegression, pd.DataFrame, np.ndarray]] = {}
        self.stages: dict[str, ModelStage] = {}
        self.promotions: list[tuple[str, str, ModelStage, str]] = []
        self.counted: list[tuple[datetime, datetime]] = []
        self.commits = 0
        # what start_rollout answers (default: no production version, nothing to decide)
        self.rollout_answer: RolloutStart | Exception = RolloutStart(
            False, "no production version", considered=False
        )
        self.rollout_calls: list[tuple[str, str, str]] = []

    async def commit_events(self) -> None:
        self.commits += 1

    def _data(self) -> tuple[pd.DataFrame, np.ndarray]:
        X = self.features.loc[self.features.index < self.clock.now()].tail(2000)
        rng = np.random.default_rng(7)
        if self.label_mode == "coin":
            y = rng.integers(0, 2, len(X))
        else:
            score = X["zscore_20"].to_numpy() - 2.0 * X["ret_5"].to_numpy() / X["ret_5"].std()
            y = (score + rng.normal(0.0, 0.4, len(X)) > 0).astype(int)
        return X, y

    async def start_training(self, model_name: str, trigger: RetrainingTrigger) -> TrainingJob:
        job = TrainingJob(
            job_id=new_id(), model_name=model_name, model_type="signal",
            created_at=self.clock.now(), trigger_id=trigger.trigger_id,
            status=TrainingStatus.RUNNING,
        )
        self.jobs[job.job_id] = job
        if self.fail_training:
            job.status = TrainingStatus.FAILED
            job.error_message = "out of memory (injected)"
            return job
        X, y = self._data()
        split = int(len(X) * 0.7)
        model = await asyncio.to_thread(
            LogisticRegression(max_iter=500).fit, X.iloc[:split], y[:split]
        )
        version_id = f"{model_name}:{len(self.models) + 1}"
        self.models[version_id] = (model, X.iloc[split:], y[split:])
        job.metrics = {"train_accuracy": float(model.score(X.iloc[:split], y[:split]))}
        job.model_version_id = version_id
        job.status = TrainingStatus.COMPLETED
        return job

    async def wait_for_training(self, job_id: str) -> TrainingJob:
        return self.jobs[job_id]

    async def evaluate_and_gate(self, model_name: str, version_id: str) -> GateOutcome:
        model, X_hold, y_hold = self.models[version_id]
        acc = float(model.score(X_hold, y_hold))
        passed = acc >= self.min_accuracy
        verdict = "pass" if passed else "FAIL"
        summary = f"holdout accuracy {acc:.3f} vs gate >= {self.min_accuracy:.2f}: {verdict}"
        return GateOutcome(
            passed=passed, report_summary=summary, metrics={"accuracy": acc},
            evaluation_id=new_id(), report_text=f"gate accuracy: {summary}",
        )

    async def promote(
        self, model_name: str, version_id: str, stage: ModelStage, reason: str
    ) -> None:
        self.stages[version_id] = stage
        self.promotions.append((model_name, version_id, stage, reason))

    async def start_rollout(self, model_name: str, version_id: str, reason: str) -> RolloutStart:
        self.rollout_calls.append((model_name, version_id, reason))
        if isinstance(self.rollout_answer, Exception):
            raise self.rollout_answer
        return self.rollout_answer

    def count_training_samples(self, model_name: str, start: datetime, end: datetime) -> int:
        self.counted.append((start, end))
        idx = self.features.index
        return int(((idx >= start) & (idx < end)).sum())

    def training_window_features(self, model_name: str) -> pd.DataFrame | None:
        if self.window is not None:
            return self.window
        return self.features.loc[self.features.index < self.clock.now()].tail(2000)[
            list(FEATURE_NAMES)
        ]

    def reference_features(self, model_name: str) -> pd.DataFrame | None:
        return self.reference

    def model_feature_names(self, model_name: str) -> tuple[str, ...] | None:
        return FEATURE_NAMES


class Loop:
    """A pipeline with everything it needs, for the tests."""

    def __init__(
        self,
        config: LearningEngineConfig,
        store: EventStore,
        clock: SimulatedClock,
        pipeline_config: PipelineSpec,
        actions: SklearnLoopActions,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.metrics = LearningMetrics()
        self.actions = actions
        self.events: list[LoopEvent] = []
        self.policy = RetrainingPolicy(config, store, clock, self.metrics, pipeline_config)
        self.pipeline = ImprovementLoop(
            self.policy, actions, store, clock, self.metrics, pipeline_config,
            on_event=self.events.append,
        )


