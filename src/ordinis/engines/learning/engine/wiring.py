"""Builds and connects the engine's parts from an EngineContext; the only place that knows them all.

Order matters: the audit log and policies first (every later change is audited), then the
event pipeline, breakers and collector (state restored before the first signal), the registry
(caches rebuilt from MLflow), training (interrupted jobs resolved), evaluation, drift (baselines
and references reloaded) and the improvement loop on top. Every part receives what it needs at
construction; nothing is patched in afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ordinis.engines.learning.collectors.feedback import FeedbackCollector
from ordinis.engines.learning.core.clock import ScheduledTask
from ordinis.engines.learning.core.models import TrainingJob, TrainingStatus
from ordinis.engines.learning.drift.monitor import DriftMonitor
from ordinis.engines.learning.drift.tracker import LivePerformanceTracker
from ordinis.engines.learning.engine.backtest_records import BacktestRecords
from ordinis.engines.learning.engine.context import EngineContext
from ordinis.engines.learning.engine.cycle_ingest import CycleIngest
from ordinis.engines.learning.engine.drift_references import DriftReferences
from ordinis.engines.learning.engine.evaluation_service import EvaluationService
from ordinis.engines.learning.engine.feature_rows import lineage_time
from ordinis.engines.learning.engine.feature_service import FeatureService, chroma_situations
from ordinis.engines.learning.engine.loop_actions import EngineLoopActions
from ordinis.engines.learning.engine.loop_events import LoopEventLog
from ordinis.engines.learning.engine.observations import LoopObservations
from ordinis.engines.learning.engine.offload import Offload
from ordinis.engines.learning.engine.ownership_role import shares_store
from ordinis.engines.learning.engine.promotions import PromotionService
from ordinis.engines.learning.engine.training_data import TrainingData
from ordinis.engines.learning.engine.training_registrar import TrainingRegistrar
from ordinis.engines.learning.engine.training_service import TrainingService
from ordinis.engines.learning.evaluation.evaluator import ModelEvaluator
from ordinis.engines.learning.events.pipeline import EventPipeline
from ordinis.engines.learning.events.retention import RetentionJob, Window, schedule_retention
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.events.switches import disabled_event_types
from ordinis.engines.learning.feedback.improvement_loop import ImprovementLoop
from ordinis.engines.learning.feedback.pipeline_spec import PipelineSpec, load_pipeline_spec
from ordinis.engines.learning.feedback.policy import RetrainingPolicy
from ordinis.engines.learning.governance.approvals import PromotionRequests
from ordinis.engines.learning.governance.audit import AuditLog
from ordinis.engines.learning.governance.policies import PolicyEngine, default_policies
from ordinis.engines.learning.registry import ModelRegistry
from ordinis.engines.learning.rollout import (
    ABTestingFramework,
    ControllerDeps,
    ModelRouter,
    RolloutService,
)
from ordinis.engines.learning.safety.manager import BreakerChange, CircuitBreakerManager
from ordinis.engines.learning.safety.state import BreakerState
from ordinis.engines.learning.training.executor import TrainingExecutor
from ordinis.engines.learning.training.trainers import TrainerRegistry

log = logging.getLogger(__name__)
HANDED_POLL_SECONDS = 60.0  # how often the leader takes the triggers followers handed over


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
    rollouts: RolloutService
    ab_tests: ABTestingFramework
    features: FeatureService
    promotions: PromotionService
    offload: Offload
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
        """Stop in reverse order: schedules, jobs, then flush the pipeline last.

        Each step is idempotent, so a close that failed (the store refused the last events:
        StoreError, events kept) can be called again and picks up where it failed.
        """
        if self.scheduled:  # the leader's duties ran: keep what the trigger rules counted
            try:
                await asyncio.to_thread(self.loop.save_rule_state)
            except Exception:  # a store that is down must not stop the close
                log.exception("could not store the trigger rules' counts")
        self.stop_duties()
        await self.executor.stop()
        await self.registry.close()
        await self.pipeline.stop()  # idempotent; commits what a failed close left buffered
        self.features.close()
        await asyncio.to_thread(self.offload.close)


def _make_backend(ctx: EngineContext) -> Any:
    if ctx.config.training_backend == "ray":
        from ordinis.engines.learning.training.ray_backend import RayBackend

        return RayBackend(address=ctx.config.ray_address)
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


async def build_parts(ctx: EngineContext, store: EventStore, read_only: bool = False) -> Parts:
    """Create, restore and connect every part over an open ``store``.

    Nothing here starts leader work: the pipeline starts (unless ``read_only``), state is
    restored, and ``start_duties`` later starts training and schedules on the engine that
    leads (the sole owner of a SQLite store, or the elected leader on PostgreSQL). If any step
    fails, what the earlier steps started (the writer thread, MLflow connections) is stopped
    before the error propagates.
    """
    async with contextlib.AsyncExitStack() as undo:
        parts = await _build_parts(ctx, store, read_only, undo)
        undo.pop_all()  # built: the engine owns them now (Parts.close)
        return parts


async def _build_parts(
    ctx: EngineContext, store: EventStore, read_only: bool, undo: contextlib.AsyncExitStack
) -> Parts:
    cfg, clock, metrics = ctx.config, ctx.clock, ctx.metrics
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
    if not read_only:
        await pipeline.start()
        undo.push_async_callback(pipeline.stop)

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
    collector = FeedbackCollector(
        pipeline, breakers, clock, metrics, call_timeout=cfg.call_timeout_seconds
    )

    registry = ModelRegistry(cfg, store, clock, metrics, policies, audit)
    registry.write_guard = ctx.registry_guard
    undo.push_async_callback(registry.close)
    await registry.open()

    evaluator = ModelEvaluator(cfg, clock, metrics)
    features = FeatureService(cfg.data_dir, clock, evaluator.benchmarks)
    undo.callback(features.close)
    collector.enable_similarity(chroma_situations(collector.query_feedback))

    trainers = TrainerRegistry.default()
    offload = Offload(store, cfg.resolved_store_url)
    undo.callback(offload.close)
    data = TrainingData(cfg, store, clock, features, offload)
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
    executor.add_progress_listener(FailedJobAudit(audit))
    undo.push_async_callback(executor.stop)
    await asyncio.to_thread(executor.load_recorded_jobs)
    training = TrainingService(cfg, data, policies, audit, executor)

    spec = load_pipeline_spec(cfg.pipeline_config_path)
    backtests = BacktestRecords(store, audit)
    evaluation = EvaluationService(
        cfg,
        store,
        clock,
        metrics,
        registry,
        evaluator,
        audit,
        backtests,
        default_benchmarks=spec.evaluation.benchmarks,
        feature_function_of=features.function_of,
        offload=offload,
    )

    drift = DriftMonitor(store, clock, metrics, cfg)
    drift.load()
    tracker = LivePerformanceTracker(
        clock, window=cfg.live_metrics_window, policy=registry.default_policy
    )

    rollouts = RolloutService(
        ControllerDeps(
            store, clock, registry, ModelRouter(), audit, metrics,
            lambda version_id, result: evaluation.record_parity(version_id, result, "rollout"),
            backtests.get,
        ),
        cfg,
        spec,
        pipeline.record,
        ctx.spawn,
    )
    await asyncio.to_thread(rollouts.load)
    actions = EngineLoopActions(
        store, clock, spec, training, data, evaluation, registry, offload, pipeline.flush,
        rollouts=rollouts, require_production_verdict=cfg.require_eval_pass,
    )
    retraining = RetrainingPolicy(cfg, store, clock, metrics, spec, actions=actions)
    loop_events = LoopEventLog(audit)
    loop = ImprovementLoop(
        retraining, actions, store, clock, metrics, spec, on_event=loop_events.publish,
        baseline_of=drift.baseline_metrics, leads=ctx.leads,
    )
    observations = LoopObservations(loop, registry, drift, tracker, ctx.spawn)
    references = DriftReferences(store, clock, registry, drift, offload)
    drift.add_listener(observations.on_drift_alert)
    registry.add_listener(references.on_stage_change)
    registry.add_listener(observations.on_stage_change)
    collector.add_listener(observations.on_feedback)

    collector.add_listener(rollouts.on_feedback)
    drift.add_listener(rollouts.on_drift_alert)
    registry.add_listener(rollouts.on_stage_change)
    ab_tests = ABTestingFramework(store, clock, audit)
    await asyncio.to_thread(ab_tests.load)

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
        rollouts=rollouts,
        ab_tests=ab_tests,
        features=features,
        promotions=PromotionService(registry, PromotionRequests(store, clock), audit),
        offload=offload,
    )
    return parts


async def start_duties(ctx: EngineContext, parts: Parts, store: EventStore) -> None:
    """The leader's work: training workers, retention, drift checks and retraining schedules."""
    cfg, clock, metrics, sched = ctx.config, ctx.clock, ctx.metrics, ctx.scheduler
    drift, tracker, references, loop = parts.drift, parts.tracker, parts.references, parts.loop
    registry = parts.registry
    await parts.executor.start()
    await asyncio.to_thread(loop.load_rule_state)
    parts.retention = schedule_retention(
        sched, store, clock, cfg.event_retention_days, cfg.retention_check_interval_seconds,
        metrics, protected=lambda: training_windows(registry),
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
    if shares_store(cfg):  # followers hand their triggers over through the store

        def take_handed() -> None:
            if ctx.is_running():
                ctx.spawn(loop.take_handed_triggers(), "handed-triggers")

        parts.scheduled.append(sched.every(HANDED_POLL_SECONDS, take_handed,
                                           name="handed-triggers"))

    def rollout_tick() -> None:
        if ctx.is_running() and parts.rollouts.has_work:  # no task per bar when idle
            ctx.spawn(parts.rollouts.tick(), "rollout-tick")

    parts.scheduled.append(
        sched.every(cfg.rollout_check_interval_seconds, rollout_tick, name="rollout-check")
    )


def training_windows(registry: ModelRegistry) -> list[Window]:
    """The data windows of every registered version (retention keeps their events)."""
    windows: list[Window] = []
    for name in registry.list_models():
        for mv in registry.list_versions(name):
            start = lineage_time(mv.lineage.get("window_start"))
            end = lineage_time(mv.lineage.get("window_end"))
            if start is not None:
                windows.append((start, end or start))
    return windows


class FailedJobAudit:
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
                {"job_id": job.job_id, "model_type": job.model_type, "attempts": job.attempts},
            )
        except Exception as exc:  # the job's own record holds the failure; never break it
            log.error("could not audit failed job %s: %r", job.job_id, exc)
