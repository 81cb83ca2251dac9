"""EngineLoopActions: the closed loop's verbs (train, wait, evaluate and gate, promote, roll
out, data)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import LearningEngineError
from ordinis.engines.learning.core.models import ModelStage, TrainingJob
from ordinis.engines.learning.core.strategy import LINEAGE_KEY as POLICY_LINEAGE_KEY
from ordinis.engines.learning.engine.feature_rows import (
    lineage_features,
    lineage_time,
    retrain_feature_config,
    window_features,
)
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.feedback.actions import GateOutcome, RolloutStart

if TYPE_CHECKING:
    from ordinis.engines.learning.engine.evaluation_service import EvaluationService
    from ordinis.engines.learning.engine.offload import Offload
    from ordinis.engines.learning.engine.training_data import TrainingData
    from ordinis.engines.learning.engine.training_service import TrainingService
    from ordinis.engines.learning.feedback.pipeline_spec import PipelineSpec
    from ordinis.engines.learning.feedback.triggers import RetrainingTrigger
    from ordinis.engines.learning.registry import ModelRegistry
    from ordinis.engines.learning.rollout.service import RolloutService


class EngineLoopActions:
    """Implements ``feedback.LoopActions`` over training, evaluation and the registry."""

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        spec: PipelineSpec,
        training: TrainingService,
        data: TrainingData,
        evaluation: EvaluationService,
        registry: ModelRegistry,
        offload: Offload | None = None,
        commit: Callable[[], Awaitable[object]] | None = None,
        rollouts: RolloutService | None = None,
        require_production_verdict: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.spec = spec
        self.training = training
        self.data = data
        self.evaluation = evaluation
        self.registry = registry
        self.offload = offload  # window reads decode in the store-read helper, off the host
        self.commit = commit  # the event pipeline's flush
        self.rollouts = rollouts
        # config.require_eval_pass: when off, production opens without a production verdict,
        # and the loop's rollout does not ask for one either
        self.require_production_verdict = require_production_verdict
        # model -> (version id, its training window's features): read once per version
        self._references: dict[str, tuple[str, pd.DataFrame | None]] = {}

    async def commit_events(self) -> None:
        if self.commit is not None:
            await self.commit()

    def _window_features(
        self, start: datetime | None, end: datetime | None, names: tuple[str, ...] | None
    ) -> pd.DataFrame | None:
        args = (self.store, start, end, names)
        if self.offload is not None:
            return self.offload.call(window_features, *args)
        return window_features(*args)

    def _window(self) -> tuple[datetime, datetime]:
        end = self.clock.now()
        return end - timedelta(seconds=self.spec.data_collection.window_seconds), end

    async def start_training(self, model_name: str, trigger: RetrainingTrigger) -> TrainingJob:
        stage = self.spec.training
        start, end = self._window()
        # Hold out the newest part of the window: the candidate never sees it, and evaluation
        # judges it there (the forward holdout, from the end of its training window to now).
        end = end - (end - start) * self.spec.evaluation.holdout_fraction
        config: dict[str, Any] = {
            "algorithm": stage.algorithm,
            "params": dict(stage.params),
            "timeout_seconds": stage.timeout_seconds,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "trigger_id": trigger.trigger_id,
            **retrain_feature_config(self._latest_lineage(model_name)),
        }
        policy = self._current_policy(model_name)
        if policy is not None:  # a retrain keeps the strategy definition of the model
            config["position_policy"] = policy
        return await self.training.submit(
            model_name, stage.model_type, config, actor=f"loop:{trigger.trigger_type.value}"
        )

    def _current_policy(self, model_name: str) -> str | None:
        """The position policy of the production version (else the newest version)."""
        current = self.registry.get_production_model(model_name)
        if current is None:
            versions = self.registry.list_versions(model_name)
            current = versions[-1] if versions else None
        if current is None:
            return None
        return current.lineage.get(POLICY_LINEAGE_KEY)

    async def wait_for_training(self, job_id: str) -> TrainingJob:
        return await self.training.executor.wait(job_id)

    async def evaluate_and_gate(self, model_name: str, version_id: str) -> GateOutcome:
        """The same rule as ``engine.evaluate_model``: as of now, out of sample, forward holdout
        on top of the packs; the pipeline's gate set decides the loop's (staging) promotion."""
        stage = self.spec.evaluation
        result = await self.evaluation.evaluate(
            version_id,
            stage.benchmarks or None,
            gate_set=stage.gate_set,
            threshold_overrides=stage.thresholds or None,
        )
        report = result.gate_report
        return GateOutcome(
            passed=result.passed,
            report_summary=report.summary() if report is not None else "no gate report",
            metrics=dict(result.metrics),
            evaluation_id=result.evaluation_id,
            report_text=report.render() if report is not None else "",
            report=report,
        )

    async def promote(
        self, model_name: str, version_id: str, stage: ModelStage, reason: str
    ) -> None:
        await self.registry.promote_model(
            model_name, version_id, stage, actor="loop", reason=reason
        )

    async def start_rollout(self, model_name: str, version_id: str, reason: str) -> RolloutStart:
        """The pipeline's production rollout of a staged candidate, against the serving version.

        Only when the production gate set (no overrides) passes everything but the live
        evidence a rollout produces (parity): a candidate the production gates refuse would
        only be rolled back at the end of its canary, after taking traffic.
        """
        if self.rollouts is None:
            return RolloutStart(False, "no rollout service", considered=False)
        champion = self.registry.get_production_model(model_name)
        if champion is None:
            return RolloutStart(
                False,
                f"{model_name} has no production version to compare with: the first one is "
                "promoted by an operator, once its production verdict passes (parity included)",
                considered=False,
            )
        try:
            # a rollout in progress refuses the start: ask before the production evaluation
            self.rollouts.check_can_start(model_name)
            if self.require_production_verdict:
                refusal = await self._production_refusal(version_id)
                if refusal is not None:
                    return RolloutStart(False, f"{version_id} stays staged: {refusal}")
            report = await self.rollouts.start(model_name, version_id, None, "loop", reason)
        except LearningEngineError as exc:
            return RolloutStart(False, f"{version_id} stays staged: {exc}")
        if report is None:  # cut over at once (cannot happen with a champion; kept honest)
            return RolloutStart(True, f"{version_id} cut over to production at once")
        return RolloutStart(
            True,
            f"{report.strategy.value} rollout {report.rollout_id} of {version_id} against "
            f"{champion.version_id} started in {report.phase.value}",
            report.rollout_id,
        )

    async def _production_refusal(self, version_id: str) -> str | None:
        """What keeps the production gate set (no overrides, the pipeline's packs) from
        allowing a rollout; None when its verdict waits only for parity (or passed)."""
        result = await self.evaluation.evaluate(
            version_id, self.spec.evaluation.benchmarks or None, gate_set=None
        )
        verdict = result.verdict
        if verdict is None:
            return "no production verdict"
        if verdict.blocked_by or (not verdict.passed and tuple(verdict.waiting_for) != ("parity",)):
            return verdict.label()
        return None

    def count_training_samples(self, model_name: str, start: datetime, end: datetime) -> int:
        return self.data.count_samples(start, end)

    def _latest_lineage(self, model_name: str) -> dict[str, str]:
        versions = self.registry.list_versions(model_name)
        if not versions:
            return {}
        return dict(max(versions, key=lambda v: v.created_at).lineage)

    def model_feature_names(self, model_name: str) -> tuple[str, ...] | None:
        return lineage_features(self._latest_lineage(model_name))

    def training_window_features(self, model_name: str) -> pd.DataFrame | None:
        """The window's features in the columns of the model's own set (NaN where absent)."""
        start, end = self._window()
        return self._window_features(start, end, self.model_feature_names(model_name))

    def reference_features(self, model_name: str) -> pd.DataFrame | None:
        """The training reference: features of the latest version's own training window.

        Each new window is compared with the one the last candidate was trained on, so a broken
        feed or an abrupt jump in the data is refused before training (PSI above the pipeline's
        max_feature_drift), while the gradual change of overlapping windows passes.
        """
        versions = [
            v for v in self.registry.list_versions(model_name) if v.lineage.get("window_end")
        ]
        if not versions:
            return None
        latest = max(versions, key=lambda v: v.created_at)
        cached = self._references.get(model_name)
        if cached is not None and cached[0] == latest.version_id:
            return cached[1]  # the same version's window: read once, not on every trigger
        start = lineage_time(latest.lineage.get("window_start"))
        end = lineage_time(latest.lineage.get("window_end"))
        if end is None:
            return None
        frame = self._window_features(
            start, end + timedelta(microseconds=1), lineage_features(latest.lineage)
        )
        self._references[model_name] = (latest.version_id, frame)
        return frame
