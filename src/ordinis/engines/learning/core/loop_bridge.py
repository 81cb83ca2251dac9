"""The engine's side of the closed loop: LoopActions over training, evaluation and the registry.

It also routes what the loop listens to: drift alerts, trade outcomes and live metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.models import (
    DriftAlert,
    EventType,
    FeedbackRecord,
    ModelStage,
    TrainingJob,
)
from ordinis.engines.learning.events.store import EventQuery, EventStore
from ordinis.engines.learning.features import (
    DISCOVERED_SET,
    LISTED_SET,
    feature_frame,
    lineage_feature_names,
)
from ordinis.engines.learning.feedback.actions import GateOutcome

if TYPE_CHECKING:
    from ordinis.engines.learning.core.evaluation_service import EvaluationService
    from ordinis.engines.learning.core.training_service import TrainingService
    from ordinis.engines.learning.drift.monitor import DriftMonitor
    from ordinis.engines.learning.drift.tracker import LivePerformanceTracker
    from ordinis.engines.learning.feedback.pipeline import ContinuousImprovementPipeline, LoopEvent
    from ordinis.engines.learning.feedback.pipeline_config import PipelineConfig
    from ordinis.engines.learning.feedback.triggers import RetrainingTrigger
    from ordinis.engines.learning.governance.audit import AuditLog
    from ordinis.engines.learning.registry import ModelRegistry, StageChange
    from ordinis.engines.learning.training.executor import TrainingExecutor

log = logging.getLogger(__name__)

# At most this many rows of features are read back for data validation.
_MAX_VALIDATION_ROWS = 50_000
# The live window compared with the production reference, and the rows it needs.
_LIVE_DATA_DAYS = 60
_MIN_LIVE_ROWS = 50


class LoopBridge:
    """Implements ``feedback.LoopActions`` for the engine and feeds the loop its observations."""

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        pipeline_config: PipelineConfig,
        training: TrainingService,
        executor: TrainingExecutor,
        evaluation: EvaluationService,
        registry: ModelRegistry,
        drift: DriftMonitor,
        tracker: LivePerformanceTracker,
        audit: AuditLog,
        spawn: Callable[[Any, str], asyncio.Task[Any]],
    ) -> None:
        self.store = store
        self.clock = clock
        self.pipeline_config = pipeline_config
        self.training = training
        self.executor = executor
        self.evaluation = evaluation
        self.registry = registry
        self.drift = drift
        self.tracker = tracker
        self.audit = audit
        self.spawn = spawn
        self.loop: ContinuousImprovementPipeline | None = None
        self.listeners: list[Callable[[LoopEvent], None]] = []
        self._periods: dict[str, tuple[datetime, float]] = {}
        self._reference_of: dict[str, str] = {}

    # ------------------------------------------------------------------ LoopActions
    def _window(self) -> tuple[datetime, datetime]:
        end = self.clock.now()
        return end - timedelta(seconds=self.pipeline_config.data_collection.window_seconds), end

    async def start_training(self, model_name: str, trigger: RetrainingTrigger) -> TrainingJob:
        stage = self.pipeline_config.training
        start, end = self._window()
        config: dict[str, Any] = {
            "algorithm": stage.algorithm,
            "params": dict(stage.params),
            "timeout_seconds": stage.timeout_seconds,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "trigger_id": trigger.trigger_id,
            **self._feature_config(model_name),
        }
        return await self.training.submit(
            model_name, stage.model_type, config, actor=f"loop:{trigger.trigger_type.value}"
        )

    async def wait_for_training(self, job_id: str) -> TrainingJob:
        return await self.executor.wait(job_id)

    async def evaluate_and_gate(self, model_name: str, version_id: str) -> GateOutcome:
        stage = self.pipeline_config.evaluation
        result = await self.evaluation.evaluate(
            version_id,
            stage.benchmarks or None,
            gate_set=stage.gate_set,
            threshold_overrides=stage.thresholds or None,
        )
        report = result.details.get("gate_report_text", "")
        failed = result.details.get("failed_gates", [])
        summary = "all gates passed" if result.passed else "failed: " + ", ".join(failed)
        return GateOutcome(
            passed=result.passed,
            report_summary=summary,
            metrics=dict(result.metrics),
            evaluation_id=result.evaluation_id,
            report_text=str(report),
        )

    async def promote(
        self, model_name: str, version_id: str, stage: ModelStage, reason: str
    ) -> None:
        await self.registry.promote_model(
            model_name, version_id, stage, actor="loop", reason=reason
        )

    def count_training_samples(self, model_name: str, start: datetime, end: datetime) -> int:
        return self.training.count_samples(start, end)

    def _signal_events(self, start: datetime | None, end: datetime | None) -> list[Any]:
        return self.store.query_events(
            EventQuery(
                event_type=EventType.SIGNAL_GENERATED,
                start=start,
                end=end,
                limit=_MAX_VALIDATION_ROWS,
                descending=True,
            )
        )

    def _latest_lineage(self, model_name: str) -> dict[str, str]:
        versions = self.registry.list_versions(model_name)
        if not versions:
            return {}
        return dict(max(versions, key=lambda v: v.created_at).lineage)

    def _feature_config(self, model_name: str) -> dict[str, Any]:
        """A retrain keeps the model's feature set: the named version, or its listed names."""
        lineage = self._latest_lineage(model_name)
        name = lineage.get("feature_set")
        names = lineage_feature_names(lineage)
        if name and name not in (DISCOVERED_SET, LISTED_SET) and lineage.get("feature_set_version"):
            return {"feature_set": f"{name}@v{lineage['feature_set_version']}"}
        return {"features": list(names)} if names else {}

    def _features(
        self, start: datetime | None, end: datetime | None, names: tuple[str, ...] | None
    ) -> pd.DataFrame | None:
        return feature_frame(self._signal_events(start, end), names)

    def model_feature_names(self, model_name: str) -> tuple[str, ...] | None:
        return lineage_feature_names(self._latest_lineage(model_name))

    def training_window_features(self, model_name: str) -> pd.DataFrame | None:
        """The window's features, in the columns of the model's own set (NaN where absent)."""
        start, end = self._window()
        return self._features(start, end, lineage_feature_names(self._latest_lineage(model_name)))

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
        start = _lineage_time(latest.lineage.get("window_start"))
        end = _lineage_time(latest.lineage.get("window_end"))
        if end is None:
            return None
        names = lineage_feature_names(latest.lineage)
        return self._features(start, end + timedelta(microseconds=1), names)

    # ------------------------------------------------------------------ data and prediction drift
    def on_stage_change(self, change: StageChange) -> None:
        """A new production version: its training window becomes the drift reference."""
        if change.to_stage is not ModelStage.PRODUCTION:
            return
        try:
            self.set_production_reference(
                change.model_name, f"{change.model_name}:{change.version}"
            )
        except Exception:
            log.exception("could not set the drift reference of %s", change.version)

    def set_production_reference(self, model_name: str, version_id: str) -> bool:
        """Profile the version's training features and its predictions on them (persisted)."""
        mv = self.registry.get_model_version(version_id)
        start = _lineage_time(mv.lineage.get("window_start"))
        end = _lineage_time(mv.lineage.get("window_end"))
        if end is None:
            return False
        model = self.registry.load_model(version_id)
        names = lineage_feature_names(mv.lineage) or tuple(
            getattr(model, "feature_names", ()) or ())
        features = self._features(start, end + timedelta(microseconds=1), names or None)
        if features is None or features.empty:
            return False
        features = features.dropna()
        predictions = np.asarray(model.predict(features), dtype=float)
        self.drift.set_reference(model_name, features, predictions)
        self._reference_of[model_name] = version_id
        return True

    def bind_reference(self, model_name: str, version_id: str) -> None:
        """Mark the stored reference of ``model_name`` as the profile of ``version_id``."""
        self._reference_of[model_name] = version_id

    def check_live_data(self) -> list[DriftAlert]:
        """Scheduled: recent features and predictions of each production model vs its reference.

        Alerts go to the monitor's listeners like every other drift alert (and so to the loop).
        """
        alerts: list[DriftAlert] = []
        live = [
            name
            for name, version_id in self._reference_of.items()
            if (prod := self.registry.get_production_model(name)) is not None
            and prod.version_id == version_id
        ]
        if not live:
            return alerts
        end = self.clock.now()
        events = self._signal_events(end - timedelta(days=_LIVE_DATA_DAYS), end)
        frame = feature_frame(events)  # the same recent rows serve every model
        for model_name in live:
            names = lineage_feature_names(
                self.registry.get_model_version(self._reference_of[model_name]).lineage)
            features = None if frame is None else (
                frame.reindex(columns=list(names)) if names else frame).dropna()
            if features is not None and len(features) >= _MIN_LIVE_ROWS:
                alerts += self.drift.check_data_drift(model_name, features)
            predictions = [
                float(e.payload["signal"])
                for e in events
                if e.payload.get("model_name") == model_name
                and isinstance(e.payload.get("signal"), int | float)
            ]
            if len(predictions) >= _MIN_LIVE_ROWS:
                alerts += self.drift.check_prediction_drift(model_name, np.asarray(predictions))
        return alerts

    # ------------------------------------------------------------------ observations
    def on_loop_event(self, event: LoopEvent) -> None:
        self.audit.append(
            "loop",
            f"loop.{event.step.value}",
            event.model_name,
            "allow",
            event.message[:500],
            {"trigger_id": event.trigger_id or "", "outcome": event.outcome},
        )
        for listener in list(self.listeners):
            listener(event)

    def on_drift_alert(self, alert: DriftAlert) -> None:
        """Drift alert → the loop (in the background: detection must not wait on training)."""
        if self.loop is None:
            return
        self.spawn(self.loop.handle_drift_alert(alert), f"drift-alert-{alert.alert_id}")

    def on_feedback(self, record: FeedbackRecord) -> None:
        """Trade outcomes feed the live tracker, the streaming detectors and the loss rule."""
        if record.feedback_type != "trade_outcome":
            return
        model_name = record.data.get("model_name")
        if not model_name or self.registry.get_production_model(str(model_name)) is None:
            return  # only production models are watched
        pnl = record.data.get("pnl")
        ret = record.outcome if record.outcome is not None else record.data.get("return_pct")
        if ret is None:
            return
        signal = (
            record.data.get("metadata", {}).get("signal")
            if isinstance(record.data.get("metadata"), dict)
            else None
        )
        self.tracker.record_outcome(
            str(model_name),
            None if signal is None else float(signal),
            float(ret),
            pnl=None if pnl is None else float(pnl),
            at=record.timestamp,
        )
        if pnl is not None:
            self._pnl_period(str(model_name), record.timestamp, float(pnl))
            if self.loop is not None:
                self.spawn(self.loop.on_trade_outcome(str(model_name), float(pnl)), "loss-rule")

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

    async def manual_trigger(self, model_name: str, reason: str) -> Any:
        assert self.loop is not None
        return await self.loop.request_retrain(model_name, reason)

    async def ingest_results(self, results: Any) -> None:
        """``engine.update(results)``: live metrics per model, as {model_name: {metric: value}}."""
        if self.loop is None or not isinstance(results, dict):
            return
        for model_name, metrics in results.items():
            if isinstance(metrics, dict):
                self.drift.check_drift(str(model_name), {k: float(v) for k, v in metrics.items()})
                await self.loop.on_live_metrics(str(model_name), metrics)


def _lineage_time(value: str | None) -> datetime | None:
    """A lineage timestamp (ISO-8601), or None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
