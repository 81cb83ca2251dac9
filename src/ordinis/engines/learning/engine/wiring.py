"""Builds and connects the engine's parts from an EngineContext; the only place that knows them all.

Order matters: the audit log and policies first (every later change is audited), then the
event pipeline, breakers and collector (state restored before the first signal), the registry
(caches rebuilt from MLflow), training (interrupted jobs resolved), evaluation, drift (baselines
and references reloaded) and the improvement loop on top. Every part receives what it needs at
construction; nothing is patched in afterwards.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ordinis.engines.learning.collectors.feedback import FeedbackCollector
from ordinis.engines.learning.core.clock import ScheduledTask
from ordinis.engines.learning.drift.monitor import DriftMonitor
from ordinis.engines.learning.drift.tracker import LivePerformanceTracker
from ordinis.engines.learning.engine.context import EngineContext
from ordinis.engines.learning.engine.cycle_ingest import CycleIngest
from ordinis.engines.learning.engine.drift_references import DriftReferences
from ordinis.engines.learning.engine.evaluation_service import EvaluationService
from ordinis.engines.learning.engine.feature_service import FeatureService, chroma_situations
from ordinis.engines.learning.engine.loop_actions import EngineLoopActions
from ordinis.engines.learning.engine.loop_events import LoopEventLog
from ordinis.engines.learning.engine.observations import LoopObservations
from ordinis.engines.learning.engine.promotions import PromotionService
from ordinis.engines.learning.engine.training_data import TrainingData
from ordinis.engines.learning.engine.training_registrar import TrainingRegistrar
from ordinis.engines.learning.engine.training_service import TrainingService
from ordinis.engines.learning.evaluation.evaluator import ModelEvaluator
from ordinis.engines.learning.events.pipeline import EventPipeline
from ordinis.engines.learning.events.retention import RetentionJob, schedule_retention
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.events.switches import disabled_event_types
from ordinis.engines.learning.feedback.improvement_loop import ImprovementLoop
from ordinis.engines.learning.feedback.pipeline_spec import PipelineSpec, load_pipeline_spec
from ordinis.engines.learning.feedback.policy import RetrainingPolicy
from ordinis.engines.learning.governance.approvals import PromotionRequests
from ordinis.engines.learning.governance.audit import AuditLog
from ordinis.engines.learning.governance.policies import PolicyEngine, default_policies
from ordinis.engines.learning.registry import ModelRegistry
from ordinis.engines.learning.safety.manager import BreakerChange, CircuitBreakerManager
from ordinis.engines.learning.safety.state import BreakerState
from ordinis.engines.learning.training.executor import TrainingExecutor
from ordinis.engines.learning.training.trainers import TrainerRegistry

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
    spec: PipelineSpec
    retraining: RetrainingPolicy
    loop: ImprovementLoop
    loop_events: LoopEventLog
    observations: LoopObservations
    references: DriftReferences
    cycles: CycleIngest
    features: FeatureService
    promotions: PromotionService
    scheduled: list[ScheduledTask] = field(default_factory=list)
    retention: RetentionJob | None = None

    async def close(self) -> None:
        """Stop in reverse order: schedules, jobs, then flush the pipeline last."""
        for task in self.scheduled:
            task.cancel()
        if self.retention is not None:
            self.retention.cancel()
        await self.executor.stop()
        await self.registry.close()
        await self.pipeline.stop()
        self.features.close()


def _make_backend(ctx: EngineContext) -> Any:
    if ctx.config.training_backend == "ray":
        from ordinis.engines.learning.training.ray_backend import RayBackend

        return RayBackend()
    from ordinis.engines.learning.training.local_backend import LocalProcessBackend

    return LocalProcessBackend(ctx.config.max_concurrent_jobs)


def off_loop(ctx: EngineContext, fn: Callable[[], object], name: str) -> Callable[[], None]:
    """A scheduler callback that runs ``fn`` in a worker thread, never on the host's loop.

    Failures are reported to the scheduler (health shows them until the task next succeeds).
    Without a running event loop (a synchronous caller), ``fn`` runs inline.
    """
    scheduler = ctx.scheduler

    async def run() -> None:
        try:
            await asyncio.to_thread(fn)
        except Exception as exc:
            scheduler.record_failure(name, exc)
        else:
            scheduler.record_success(name)

    def callback() -> None:
        if not ctx.is_running():
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            fn()
            return
        ctx.spawn(run(), name)

    return callback


async def build_parts(ctx: EngineContext, store: EventStore) -> Parts:
    """Create, restore and connect every part over an open ``store``."""
    cfg, clock, metrics, sched = ctx.config, ctx.clock, ctx.metrics, ctx.scheduler
    audit = AuditLog(store, clock, metrics)

    def open_breakers() -> list[str]:
        """Breakers that are not closed (the promotion policy reads them at decision time)."""
        return [
            name for name, snap in breakers.states().items()
            if snap.state is not BreakerState.CLOSED
        ]

    policies = PolicyEngine(
        default_policies(cfg, open_breakers), enabled=cfg.enable_governance, metrics=metrics
    )

    pipeline = EventPipeline(store, cfg, clock, metrics, disabled_event_types(cfg))
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
    await registry.open()

    evaluator = ModelEvaluator(cfg, clock, metrics)
    features = FeatureService(cfg.data_dir, clock, evaluator.benchmarks)
    collector.enable_similarity(chroma_situations(collector.query_feedback))

    trainers = TrainerRegistry.default()
    data = TrainingData(cfg, store, clock, features)
    registrar = TrainingRegistrar(registry)
    executor = TrainingExecutor(
        cfg,
        store,
        clock,
        metrics,
        _make_backend(ctx),
        trainers,
        on_complete=registrar.on_complete,
        dataset_builder=data.build_dataset,
    )
    await executor.start()
    training = TrainingService(cfg, data, policies, audit, executor)

    spec = load_pipeline_spec(cfg.pipeline_config_path)
    evaluation = EvaluationService(
        cfg,
        store,
        clock,
        metrics,
        registry,
        evaluator,
        audit,
        default_benchmarks=spec.evaluation.benchmarks,
        feature_function_of=features.function_of,
    )

    drift = DriftMonitor(store, clock, metrics, cfg)
    drift.load()
    tracker = LivePerformanceTracker(clock, window=cfg.live_metrics_window)

    actions = EngineLoopActions(store, clock, spec, training, data, evaluation, registry)
    retraining = RetrainingPolicy(cfg, store, clock, metrics, spec, actions=actions)
    loop_events = LoopEventLog(audit)
    loop = ImprovementLoop(
        retraining, actions, store, clock, metrics, spec, on_event=loop_events.publish
    )
    observations = LoopObservations(loop, registry, drift, tracker, ctx.spawn)
    references = DriftReferences(store, clock, registry, drift)
    drift.add_listener(observations.on_drift_alert)
    registry.add_listener(references.on_stage_change)
    collector.add_listener(observations.on_feedback)

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
        spec=spec,
        retraining=retraining,
        loop=loop,
        loop_events=loop_events,
        observations=observations,
        references=references,
        cycles=CycleIngest(pipeline.record, collector, clock),
        features=features,
        promotions=PromotionService(registry, PromotionRequests(store, clock), audit),
    )
    parts.retention = schedule_retention(
        sched, store, clock, cfg.event_retention_days, cfg.retention_check_interval_seconds, metrics
    )
    if cfg.enable_drift_detection:
        drift.attach_tracker(tracker)
        parts.scheduled.append(
            sched.every(
                cfg.drift_check_interval_seconds,
                off_loop(ctx, drift.run_scheduled_checks, "drift-check:run"),
                name="drift-check",
            )
        )
        parts.scheduled.append(
            sched.every(
                cfg.drift_check_interval_seconds,
                off_loop(ctx, references.check_live_data, "data-drift:run"),
                name="data-drift",
            )
        )

    def tick() -> None:
        if ctx.is_running():
            ctx.spawn(loop.tick(), "retraining-tick")

    parts.scheduled.append(sched.every(3600.0, tick, name="retraining-schedule"))
    return parts
