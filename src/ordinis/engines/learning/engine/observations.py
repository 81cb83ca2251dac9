"""LoopObservations: what the closed loop listens to (drift alerts, trade outcomes, metrics)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ordinis.engines.learning.core.errors import LearningEngineError
from ordinis.engines.learning.core.models import (
    DriftAlert,
    FeedbackRecord,
    ModelStage,
    ModelVersion,
)
from ordinis.engines.learning.core.strategy import PositionPolicy
from ordinis.engines.learning.engine.context import Spawn

if TYPE_CHECKING:
    from ordinis.engines.learning.drift.monitor import DriftMonitor
    from ordinis.engines.learning.drift.tracker import LivePerformanceTracker
    from ordinis.engines.learning.feedback.improvement_loop import ImprovementLoop
    from ordinis.engines.learning.registry import ModelRegistry
    from ordinis.engines.learning.registry.history import StageChange


_PRE_PRODUCTION = frozenset({ModelStage.STAGING, ModelStage.SHADOW, ModelStage.CANARY})


class LoopObservations:
    """Routes observations to the tracker, the streaming detectors and the improvement loop."""

    def __init__(
        self,
        loop: ImprovementLoop,
        registry: ModelRegistry,
        drift: DriftMonitor,
        tracker: LivePerformanceTracker,
        spawn: Spawn,
        default_policy: PositionPolicy | None = None,
    ) -> None:
        self.loop = loop
        self.registry = registry
        self.drift = drift
        self.tracker = tracker
        self.spawn = spawn
        self._periods: dict[str, tuple[datetime, float]] = {}
        self.default_policy = default_policy or tracker.default_policy

    def watched(self, model_name: str, version_id: object) -> ModelVersion | None:
        """The serving version of a model: production, or (with no production version) the
        staging/shadow/canary version that the trade names (the staging path)."""
        production = self.registry.get_production_model(model_name)
        if production is not None or not version_id:
            return production
        try:
            mv = self.registry.get_model_version(str(version_id))
        except LearningEngineError:
            return None
        if mv.model_name != model_name or mv.stage not in _PRE_PRODUCTION:
            return None
        return mv

    def policy_of(self, version: ModelVersion) -> PositionPolicy:
        """The strategy definition the version carries (the engine's default otherwise)."""
        return PositionPolicy.of_lineage(version.lineage, self.default_policy)

    async def on_stage_change(self, change: StageChange) -> None:
        """A new production version (promotion or rollback) starts a fresh live window: the
        metrics drift checks read are then the serving version's own, not a mix of versions."""
        if change.to_stage is ModelStage.PRODUCTION:
            self.tracker.reset(change.model_name)

    def on_drift_alert(self, alert: DriftAlert) -> None:
        """Drift alert → the loop (in the background: detection must not wait on training)."""
        self.spawn(self.loop.handle_drift_alert(alert), f"drift-alert-{alert.alert_id}")

    def on_feedback(self, record: FeedbackRecord) -> None:
        """Trade outcomes feed the live tracker, the streaming detectors and the loss rule.

        The tracker gets ``return_pct``, the position's return (signed by the position, after
        costs), with the production version's position policy; a PnL is not a return and only
        feeds the PnL stream and the loss rule.
        """
        if record.feedback_type != "trade_outcome":
            return
        model_name = record.data.get("model_name")
        production = (
            self.watched(str(model_name), record.data.get("model_version")) if model_name else None
        )
        if production is None:
            return  # only the serving version is watched
        pnl = record.data.get("pnl")
        ret = record.data.get("return_pct")
        metadata = record.data.get("metadata")
        signal = metadata.get("signal") if isinstance(metadata, dict) else None
        if ret is not None:
            self.tracker.record_outcome(
                str(model_name),
                None if signal is None else float(signal),
                float(ret),
                pnl=None if pnl is None else float(pnl),
                at=record.timestamp,
                policy=self.policy_of(production),
            )
        if pnl is not None:
            self._pnl_period(str(model_name), record.timestamp, float(pnl))
            trigger = self.loop.trade_trigger(str(model_name), float(pnl))
            if trigger is not None:
                self.spawn(self.loop.handle_trigger(trigger), "loss-rule")

    def _pnl_period(self, model_name: str, at: datetime, pnl: float) -> None:
        """Sum trade PnL per clock timestamp; each closed period feeds the streaming detector.

        Many symbols close at the same bar: one value per period keeps the stream's noise and
        its cross-sectional clustering out of the detector, which then sees the book's PnL.
        """
        current = self._periods.get(model_name)
        if current is not None and current[0] != at:
            self.drift.update_stream(model_name, "pnl", current[1])
            current = None
        self._periods[model_name] = (at, (current[1] if current else 0.0) + pnl)

    async def on_live_metrics(self, metrics_by_model: Mapping[str, Any]) -> None:
        """``update({model_name: {metric: value}})``: drift check, then the degradation rule."""
        for model_name, metrics in metrics_by_model.items():
            if isinstance(metrics, Mapping):
                values = {str(k): float(v) for k, v in metrics.items()}
                self.drift.check_drift(str(model_name), values)
                await self.loop.on_live_metrics(str(model_name), values)
