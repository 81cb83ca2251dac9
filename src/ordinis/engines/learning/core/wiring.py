"""Builds and connects the engine's parts; the only place that knows all of them.

Order matters: the audit log and policies first (every later change is audited), then the
pipeline, breakers and collector (state restored before the first signal), the registry
(caches rebuilt from MLflow), the executor (interrupted jobs resolved), evaluation, drift
(baselines and references reloaded) and the closed loop on top.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ordinis.engines.learning.collectors.feedback import FeedbackCollector
from ordinis.engines.learning.core.clock import ScheduledTask
from ordinis.engines.learning.core.errors import NotFoundError
from ordinis.engines.learning.core.evaluation_service import EvaluationService
from ordinis.engines.learning.core.loop_bridge import LoopBridge
from ordinis.engines.learning.core.models import TrainingJob, TrainingStatus
from ordinis.engines.learning.core.training_service import TrainingService
from ordinis.engines.learning.drift.monitor import DriftMonitor
from ordinis.engines.learning.drift.tracker import LivePerformanceTracker
from ordinis.engines.learning.evaluation.evaluator import ModelEvaluator
from ordinis.engines.learning.events.pipeline import EventPipeline
from ordinis.engines.learning.events.retention import RetentionJob, Window, schedule_retention
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.feedback.pipeline import ContinuousImprovementPipeline
from ordinis.engines.learning.feedback.pipeline_config import PipelineConfig, load_pipeline_config
from ordinis.engines.learning.feedback.policy import RetrainingPolicy
from ordinis.engines.learning.governance.audit import AuditLog
from ordinis.engines.learning.governance.policies import PolicyEngine, default_policies
from ordinis.engines.learning.registry import ModelRegistry
from ordinis.engines.learning.safety.manager import CircuitBreakerManager
from ordinis.engines.learning.training.executor import TrainingExecutor
from ordinis.engines.learning.training.trainers import TrainerRegistry

if TYPE_CHECKING:
    from ordinis.engines.learning.core.engine import LearningEngine
    from ordinis.engines.learning.safety.manager import BreakerChange

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """Every running part of one engine."""

    audit: AuditLog
    policies: PolicyEngine
    pipeline: EventPipeline
    breakers: CircuitBreakerManager
    collector: FeedbackCollector
    registry: ModelRegistry
    trainers: TrainerRegistry
    executor: TrainingExecutor
    training: TrainingService
    evaluator: ModelEvaluator
    evaluation: EvaluationService
    drift: DriftMonitor
    tracker: LivePerformanceTracker
    pipeline_config: PipelineConfig
    retraining: RetrainingPolicy
    loop: ContinuousImprovementPipeline
    loop_bridge: LoopBridge
    scheduled: list[ScheduledTask] = field(default_factory=list)
    retention: RetentionJob | None = None

    def stop_duties(self) -> None:
        """Cancel the leader's schedules (retention, drift checks, retraining ticks)."""
        for task in self.scheduled:
            task.cancel()
        self.scheduled.clear()
        if self.retention is not None:
            self.retention.cancel()
            self.retention = None

    async def close(self) -> None:
        """Stop in reverse order: schedules, jobs, then flush the pipeline last."""
        self.stop_duties()
        await self.executor.stop()
        await self.registry.close()
        if self.pipeline.running:
            await self.pipeline.stop()


def _make_backend(engine: LearningEngine) -> Any:
    cfg = engine.config
    if cfg.training_backend == "ray":
        from ordinis.engines.learning.training.ray_backend import RayBackend

        return RayBackend(address=cfg.ray_address)
    from ordinis.engines.learning.training.local_backend import LocalProcessBackend

    return LocalProcessBackend(cfg.max_concurrent_jobs)


async def build_parts(engine: LearningEngine, store: EventStore, read_only: bool = False) -> Parts:
    """Create, restore and connect every part of ``engine`` over an open ``store``.

    Nothing here writes or starts leader work: the pipeline starts (unless ``read_only``),
    state is restored, and ``start_duties`` later starts training and schedules on the
    engine that leads.
    """
    from ordinis.engines.learning.core.engine import disabled_event_types

    cfg, clock, metrics = engine.config, engine.clock, engine.metrics
    audit = AuditLog(store, clock, metrics)
    policies = PolicyEngine(default_policies(cfg), enabled=cfg.enable_governance, metrics=metrics)

    pipeline = EventPipeline(store, cfg, clock, metrics, disabled_event_types(cfg))
    if not read_only:
        await pipeline.start()

    def on_breaker_change(change: BreakerChange) -> None:
        audit.append(
            change.by or "breaker",
            f"breaker.{change.to_state.value}",
            change.engine,
            "allow",
            change.reason,
            {"from": change.from_state.value},
        )

    breakers = CircuitBreakerManager(store, clock, metrics, cfg, on_change=on_breaker_change)
    breakers.load()
    collector = FeedbackCollector(pipeline, breakers, clock, metrics)

    registry = ModelRegistry(cfg, store, clock, metrics, policies, audit)
    registry.write_guard = engine.guard_registry_write
    await registry.open()

    trainers = TrainerRegistry.default()
    training = TrainingService(cfg, store, clock, policies, audit, registry)
    executor = TrainingExecutor(
        cfg,
        store,
        clock,
        metrics,
        _make_backend(engine),
        trainers,
        on_complete=training.on_complete,
        dataset_builder=training.build_dataset,
    )
    training.executor = executor
    executor.add_progress_listener(_FailedJobAudit(audit))
    await asyncio.to_thread(executor.load_recorded_jobs)

    pipeline_config = load_pipeline_config(cfg.pipeline_config_path)
    evaluator = ModelEvaluator(cfg, clock, metrics)
    evaluation = EvaluationService(
        cfg,
        store,
        clock,
        metrics,
        registry,
        evaluator,
        audit,
        default_benchmarks=pipeline_config.evaluation.benchmarks,
    )

    drift = DriftMonitor(store, clock, metrics, cfg)
    drift.load()
    tracker = LivePerformanceTracker(clock, window=cfg.live_metrics_window)

    retraining = RetrainingPolicy(cfg, store, clock, metrics, pipeline_config)
    bridge = LoopBridge(
        store,
        clock,
        pipeline_config,
        training,
        executor,
        evaluation,
        registry,
        drift,
        tracker,
        audit,
        engine.spawn,
    )
    loop = ContinuousImprovementPipeline(
        retraining, bridge, store, clock, metrics, pipeline_config, on_event=bridge.on_loop_event
    )
    bridge.loop = loop
    drift.add_listener(bridge.on_drift_alert)
    registry.add_listener(bridge.on_stage_change)
    collector.add_listener(bridge.on_feedback)

    parts = Parts(
        audit=audit,
        policies=policies,
        pipeline=pipeline,
        breakers=breakers,
        collector=collector,
        registry=registry,
        trainers=trainers,
        executor=executor,
        training=training,
        evaluator=evaluator,
        evaluation=evaluation,
        drift=drift,
        tracker=tracker,
        pipeline_config=pipeline_config,
        retraining=retraining,
        loop=loop,
        loop_bridge=bridge,
    )
    return parts


async def start_duties(engine: LearningEngine, parts: Parts) -> None:
    """The leader's work: training workers, retention, drift checks and retraining schedules."""
    cfg, clock, metrics, store = engine.config, engine.clock, engine.metrics, engine.store
    drift, bridge, registry, loop = parts.drift, parts.loop_bridge, parts.registry, parts.loop
    tracker = parts.tracker
    await parts.executor.start()
    sched = engine.scheduler
    parts.retention = schedule_retention(
        sched, store, clock, cfg.event_retention_days, cfg.retention_check_interval_seconds,
        metrics, protected=lambda: training_windows(registry),
    )
    if cfg.enable_drift_detection:
        parts.scheduled.append(drift.schedule(sched, tracker))
        parts.scheduled.append(
            sched.every(cfg.drift_check_interval_seconds, bridge.check_live_data, name="data-drift")
        )
        for name in registry.list_models():  # references survive restarts; rebind them
            prod = registry.get_production_model(name)
            if prod is not None and _has_reference(drift, name):
                bridge.bind_reference(name, prod.version_id)
    parts.scheduled.append(
        sched.every(3600.0, lambda: _spawn_tick(engine, loop), name="retraining-schedule")
    )


def training_windows(registry: ModelRegistry) -> list[Window]:
    """The data windows of every registered version (retention keeps their events)."""
    windows: list[Window] = []
    for name in registry.list_models():
        for mv in registry.list_versions(name):
            start = _lineage_time(mv.lineage.get("window_start"))
            end = _lineage_time(mv.lineage.get("window_end"))
            if start is not None:
                windows.append((start, end or start))
    return windows


def _lineage_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class _FailedJobAudit:
    """Writes one audit record for every training job that ends FAILED."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self._seen: set[str] = set()

    def __call__(self, job: TrainingJob) -> None:
        if job.status is not TrainingStatus.FAILED or job.job_id in self._seen:
            return
        self._seen.add(job.job_id)
        try:
            self.audit.append(
                "executor", "training.failed", job.model_name, "allow",
                (job.error_message or "failed")[:500],
                {"job_id": job.job_id, "model_type": job.model_type,
                 "attempts": getattr(job, "attempts", 0)},
            )
        except Exception as exc:  # the job's own record holds the failure; never break it
            log.error("could not audit failed job %s: %r", job.job_id, exc)


def _has_reference(drift: DriftMonitor, model_name: str) -> bool:
    try:
        drift.reference(model_name)
    except NotFoundError:
        return False
    return True


def _spawn_tick(engine: LearningEngine, loop: ContinuousImprovementPipeline) -> None:
    if engine.is_running:
        engine.spawn(loop.tick(), "retraining-tick")
