"""LearningEngine: the facade that wires the parts of the closed loop together.

The parts (pipeline, breakers, registry, executor, evaluator, drift monitor, retraining
pipeline) do not reach into each other; this class connects them, owns their lifecycle and
keeps the signatures the ordinis code already calls.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ordinis.engines.learning.core.clock import Clock, Scheduler, SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import (
    BufferFullError,
    EngineNotRunningError,
    FieldProblem,
    NotFoundError,
    ValidationError,
)
from ordinis.engines.learning.core.models import (
    DriftAlert,
    EvaluationResult,
    EventType,
    HealthLevel,
    HealthStatus,
    LearningEvent,
    MetricDrift,
    ModelStage,
    ModelVersion,
    RolloutStrategy,
    TrainingJob,
)
from ordinis.engines.learning.core.strategy import PositionPolicy
from ordinis.engines.learning.engine import heap_freeze
from ordinis.engines.learning.engine.context import EngineContext
from ordinis.engines.learning.engine.ownership_role import Ownership
from ordinis.engines.learning.engine.promotions import blocking
from ordinis.engines.learning.engine.wiring import Parts, build_parts, start_duties
from ordinis.engines.learning.events.factory import open_store
from ordinis.engines.learning.events.identity import (
    IDENTITY_KEY,
    IDENTITY_KIND,
    StoreIdentity,
    ensure_identity,
    read_identity,
)
from ordinis.engines.learning.events.ownership import this_holder
from ordinis.engines.learning.events.retention import ensure_policy
from ordinis.engines.learning.events.store import EventQuery, EventStats, EventStore
from ordinis.engines.learning.governance.approvals import PromotionRequest, RequestStatus
from ordinis.engines.learning.governance.policies import PolicyResult
from ordinis.engines.learning.observability.health import (
    HealthSignals,
    StoreReachability,
    assess,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.telemetry import EngineTelemetry
from ordinis.engines.learning.rollout import (
    ABTestingFramework,
    Prediction,
    RolloutReport,
    RoutedModel,
)

if TYPE_CHECKING:
    import pandas as pd

    from ordinis.engines.learning.drift.data_drift import ReferenceProfile
    from ordinis.engines.learning.drift.tracker import LiveMetrics
    from ordinis.engines.learning.evaluation.backtest_record import StoredBacktest
    from ordinis.engines.learning.evaluation.benchmarks import BenchmarkDataset
    from ordinis.engines.learning.evaluation.evaluator import ModelEvaluator
    from ordinis.engines.learning.evaluation.parity import (
        BacktestRecord,
        ParityEvidence,
        ParityResult,
    )
    from ordinis.engines.learning.events.pipeline import EventPipeline
    from ordinis.engines.learning.features import (
        FeatureFunction,
        FeatureSet,
        FeatureSpec,
        FeatureStore,
    )
    from ordinis.engines.learning.feedback.improvement_loop import LoopEvent
    from ordinis.engines.learning.feedback.report import ImprovementReport
    from ordinis.engines.learning.feedback.triggers import RetrainingTrigger
    from ordinis.engines.learning.governance.audit import AuditVerification
    from ordinis.engines.learning.safety.state import BreakerSnapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineDuties:
    """The work an engine runs beside the host (``LearningEngine.duties``)."""

    training: bool  # the training executor and its workers
    event_writer: bool  # the pipeline's writer thread
    retention: bool  # the retention job
    schedules: tuple[str, ...]  # scheduled checks by name (drift-check, rollout-check, ...)

class LearningEngine:
    """The LearningEngine of ordinis: collect, train, register, evaluate, detect drift, retrain.

    Use ``async with LearningEngine(config) as engine:`` or call ``initialize()`` and
    ``shutdown()``. Pass a ``SimulatedClock`` to replay history at full speed.
    """

    def __init__(
        self,
        config: LearningEngineConfig | None = None,
        clock: Clock | None = None,
        metrics: LearningMetrics | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        self.config = config or LearningEngineConfig()
        self.clock: Clock = clock or SystemClock()
        self.metrics = metrics or LearningMetrics()
        self.telemetry = EngineTelemetry(self.config, self.metrics)
        self.scheduler = Scheduler(self.clock)
        self._running = False
        self._started_at: datetime | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._store: EventStore | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._parts: Parts | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ownership = Ownership(self.config, read_only)
        self._reach = StoreReachability()
        self.identity: StoreIdentity | None = None
        self._stop_audited = False
        self._heap_frozen = False  # this engine holds a heap freeze (heap_freeze.release)

    @classmethod
    def open_read_only(
        cls, config: LearningEngineConfig | None = None, clock: Clock | None = None
    ) -> LearningEngine:
        """An engine for inspection (CLI read commands, reports, service readers): it takes no
        lock, writes nothing (no audit, no job changes), starts nothing (no workers, no
        schedules) and runs beside a live engine. Use ``async with`` as usual."""
        return cls(config, clock, read_only=True)

    @property
    def read_only(self) -> bool:
        return self._ownership.read_only

    @property
    def role(self) -> str:
        """``owner`` (SQLite), ``leader`` or ``follower`` (PostgreSQL), or ``read-only``."""
        return self._ownership.role.value

    # ------------------------------------------------------------------ lifecycle
    async def initialize(self) -> None:
        """Claim the store (lock or leader election), open it, restore state (breakers, jobs,
        registry, baselines), and on the engine that leads start training and schedules.

        A failed start closes whatever it had opened (store, writer thread, worker processes,
        MLflow connections) and releases the claim before the error propagates.
        """
        if self._running:
            return
        if self._parts is not None or self._store is not None:
            raise EngineNotRunningError(
                "LearningEngine: the last shutdown() did not complete (events may still be "
                "buffered); call `await engine.shutdown()` again until it succeeds, then "
                "initialize()"
            )
        self._loop = asyncio.get_running_loop()
        self._started_at = self.clock.now()
        if not self.read_only:  # an inspector serves no metrics: the live engine has the port
            await self.telemetry.start()  # a busy metrics_port fails here, before any store opens
        try:
            await self._open()
        except BaseException:
            await self._abandon()
            await self.telemetry.stop()
            raise
        self._running = True
        if self.config.freeze_startup_heap and not self._heap_frozen:
            heap_freeze.freeze()
            self._heap_frozen = True
        if not self.clock.simulated:
            self._ticker = asyncio.create_task(self._tick_forever(), name="learning-scheduler")
        if not self.read_only:
            self.audit("engine", "engine.start", "engine", "allow", "initialize",
                       {"role": self.role})

    def _context(self) -> EngineContext:
        return EngineContext(
            config=self.config,
            clock=self.clock,
            metrics=self.metrics,
            scheduler=self.scheduler,
            spawn=self.spawn,
            is_running=lambda: self._running,
            registry_guard=self._guard_registry_write,
            leads=lambda: self._ownership.leads,
        )

    async def _open(self) -> None:
        cfg = self.config
        if self.read_only:
            self._store = await asyncio.to_thread(
                open_store, cfg.resolved_store_url, read_only=True
            )
            self.identity = await asyncio.to_thread(read_identity, self._store)
            self._parts = await build_parts(self._context(), self._store, read_only=True)
            return
        assert self._started_at is not None
        holder = this_holder(self._started_at)
        self._ownership.claim(holder)
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self._store = await asyncio.to_thread(
            open_store, cfg.resolved_store_url, init=cfg.init_store
        )
        store, now = self._store, self.clock.now()
        self.identity = await asyncio.to_thread(
            ensure_identity, store, now, int(getattr(store, "schema_version", 0))
        )
        _, previous = await asyncio.to_thread(
            ensure_policy, store, cfg.event_retention_days, cfg.retention_policy_change, now
        )
        self._parts = await build_parts(self._context(), store)
        if previous is not None:
            self.audit("engine", "retention.policy", "events", "allow",
                       "retention_policy_change=true",
                       {"from_days": previous.retention_days,
                        "to_days": cfg.event_retention_days})
        await self.check_leadership()

    async def _abandon(self) -> None:
        """Undo a failed start: stop what started, close what opened (best effort), release
        the claim."""
        self._running = False
        await self._stop_tasks()
        parts, store = self._parts, self._store
        self._parts = None
        self._store = None
        if parts is not None:
            try:
                parts.stop_duties()
                await parts.close()
            except Exception:  # the start already failed; report that error, not this one
                log.exception("cleanup after a failed initialize() failed")
        if store is not None:
            try:
                await asyncio.to_thread(store.close)
            except Exception:
                log.exception("closing the store after a failed initialize() failed")
        self._ownership.release()

    async def check_leadership(self) -> bool:
        """On a shared store: take over when the leader is gone, step down when this engine
        lost its session. Runs on every tick (and ``update()``); True when this engine leads."""
        parts, own = self._parts, self._ownership
        if parts is None or self.read_only:
            return False
        leader = own.leader
        if leader is None:  # sole owner of a SQLite store
            if not parts.executor.started:
                await start_duties(self._context(), parts, self.store)
            return True
        was = leader.is_leader
        now_leads = (
            await asyncio.to_thread(leader.still_leader) if was
            else await asyncio.to_thread(leader.try_acquire)
        )
        if now_leads and not was:
            await parts.registry.close()  # rebuild the caches: the old leader wrote to MLflow
            await parts.registry.open()
            await asyncio.to_thread(parts.executor.load_recorded_jobs)
            await asyncio.to_thread(parts.drift.load)  # baselines, references, episodes it set
            await start_duties(self._context(), parts, self.store)
            self.audit("engine", "engine.lead", "engine", "allow", "leader elected",
                       {"holder": leader.holder.describe()})
        elif was and not now_leads:
            log.warning("lost leadership of %s; stepping down", self.config.resolved_store_url)
            parts.stop_duties()
            await parts.executor.stop()
        return now_leads

    def _guard_registry_write(self) -> None:
        """The registry's write guard: refuses on a read-only opener or a follower."""
        self._ownership.require_leader("model registry write")

    async def _stop_tasks(self) -> None:
        """Cancel the scheduler ticker; wait (bounded) for background work, then cancel it."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        if self._background:
            _, pending = await asyncio.wait(
                list(self._background), timeout=self.config.shutdown_timeout_seconds
            )
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5.0)

    async def shutdown(self) -> None:
        """Flush every buffered event, stop jobs and tasks, close the store, release the lock.

        Can be retried until it succeeds: if the store cannot take the buffered events,
        StoreError is raised, the events stay buffered and the store stays open, and the
        next ``shutdown()`` tries again.
        """
        if self._parts is None and self._store is None:
            return
        self._running = False
        await self._stop_tasks()
        parts = self._parts
        if parts is not None:
            if not self._stop_audited and not self.read_only:
                try:
                    self.audit("engine", "engine.stop", "engine", "allow", "shutdown", {})
                    self._stop_audited = True
                except Exception:  # the store may be down: flushing the events comes first
                    log.exception("could not audit engine.stop; retried by the next shutdown()")
            await parts.close()
            self._parts = None
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
            self._store = None
        self._stop_audited = False
        self._ownership.release()
        if self._heap_frozen:
            heap_freeze.release()
            self._heap_frozen = False
        await self.telemetry.stop()

    async def __aenter__(self) -> LearningEngine:
        await self.initialize()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    async def _tick_forever(self) -> None:
        # Wall-clock pacing of the scheduler for the SystemClock; decisions use the Clock.
        while True:
            if self._ownership.leader is not None:
                try:
                    await self.check_leadership()
                except Exception as exc:  # the store may be down: try again next tick
                    log.warning("leadership check failed: %r", exc)
            if self._ownership.leads:
                self.scheduler.run_due()
            await asyncio.sleep(0.5)

    def _require(self) -> Parts:
        if self._parts is None:
            raise EngineNotRunningError(
                "LearningEngine is not running: call `await engine.initialize()` "
                "(or use `async with LearningEngine(...)`) first"
            )
        return self._parts

    @property
    def store(self) -> EventStore:
        if self._store is None:
            raise EngineNotRunningError("LearningEngine is not running: no store is open")
        return self._store

    @property
    def is_running(self) -> bool:
        return self._running

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any] | None:
        """Run a background coroutine tied to the engine's lifetime (errors are logged).

        Safe from any thread: from a worker thread (an off-loop check that raised an alert) the
        task is created on the engine's loop, and ``drain()`` still waits for it.
        """
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop:
            loop.call_soon_threadsafe(self._start_task, coro, name)
            return None
        return self._start_task(coro, name)

    def _start_task(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._background.add(task)

        def _done(t: asyncio.Task[Any]) -> None:
            self._background.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background task %s failed: %r", name, t.exception())

        task.add_done_callback(_done)
        return task

    @property
    def duties(self) -> EngineDuties:
        """What this engine runs now: training workers, the event writer, retention and the
        scheduled checks (a follower or a read-only opener runs none of them)."""
        parts = self._require()
        return EngineDuties(
            training=parts.executor.started,
            event_writer=parts.pipeline.running,
            retention=parts.retention is not None,
            schedules=tuple(sorted(t.name for t in parts.scheduled)),
        )

    @property
    def event_pipeline(self) -> EventPipeline:
        """The event pipeline (buffer, writer, group commit): its ``stats()`` and store."""
        return self._require().pipeline

    @property
    def has_background_work(self) -> bool:
        """True while a background task (a retrain, an off-loop check) is still running."""
        return bool(self._background)

    async def drain(self) -> None:
        """Wait until every background task (retrains started by drift, ...) has finished."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
            await asyncio.sleep(0)  # tasks handed over from worker threads start here

    # ------------------------------------------------------------------ audit
    def audit(
        self,
        actor: str,
        action: str,
        target: str,
        decision: str,
        reason: str,
        details: dict[str, Any],
    ) -> None:
        """Append one record to the tamper-evident audit log."""
        self._require().audit.append(actor, action, target, decision, reason, details)

    def verify_audit(self) -> AuditVerification:
        """Check the audit log's hash chain end to end (an edit behind its back shows here)."""
        return self._require().audit.verify()

    def audit_records(self, limit: int | None = None) -> list[Any]:
        """Audit records, oldest first; with ``limit``, the newest ``limit`` of them."""
        records = self._require().audit.records()
        return records[-limit:] if limit else records

    # ------------------------------------------------------------------ events
    def record_event(self, event: LearningEvent) -> str:
        """Buffer an event (validated here); returns its id. Durable after flush.

        Never does I/O. A full buffer blocks for at most ``max_block_seconds`` while the
        writer thread drains, then raises BufferFullError (the event is not recorded).
        """
        parts = self._require()
        self._ownership.require_writer("record_event")
        return parts.pipeline.record(event)

    async def record_event_async(self, event: LearningEvent, timeout: float | None = None) -> str:
        """Like record_event, but awaits buffer space (at most ``timeout`` s, default
        ``call_timeout_seconds``; then CallTimeoutError, the event not recorded)."""
        parts = self._require()
        self._ownership.require_writer("record_event_async")
        return await parts.pipeline.record_async(event, timeout=timeout)

    async def record_event_durable(
        self, event: LearningEvent, timeout: float | None = None
    ) -> str:
        """Record an event and return once the store has committed it, or raise
        CallTimeoutError after ``timeout`` s (the event stays buffered; retry with its id)."""
        parts = self._require()
        self._ownership.require_writer("record_event_durable")
        return await parts.pipeline.record_durable(event, timeout=timeout)

    async def record_events(
        self, events: Sequence[LearningEvent], durable: bool = True
    ) -> list[str]:
        """Record a batch (waiting for buffer space); ``durable``: return once all committed.

        An event the pipeline refuses raises a ValidationError naming its index; the events
        before it stay recorded (event ids are idempotency keys: resending the batch is safe).
        """
        pipeline = self._require().pipeline
        ids: list[str] = []
        record = pipeline.record
        for i, event in enumerate(events):
            try:
                try:
                    ids.append(record(event))  # non-blocking; a full buffer waits below
                except BufferFullError:
                    ids.append(await pipeline.record_async(event))
            except ValidationError as exc:
                problems = [
                    FieldProblem(f"[{i}].{p.field}", p.value, p.problem) for p in exc.problems
                ]
                if durable and ids:
                    await pipeline.flush()
                raise ValidationError(
                    f"event batch ({i} of {len(events)} recorded before this one)", problems
                ) from None
        if durable:
            await pipeline.flush()
        return ids

    async def record_json_events(self, items: list[Any], durable: bool = True) -> list[str]:
        """Record a batch of events given as decoded JSON objects (the HTTP API's batches),
        encoded straight to the store's rows; ``durable``: return once all committed.

        A bad event refuses the whole batch (nothing recorded) with a ValidationError naming
        its index and field. A missing timestamp is the engine clock's now.
        """
        pipeline = self._require().pipeline
        ids = await pipeline.record_json(items, self.clock.now())
        if durable:
            await pipeline.flush()
        return ids

    async def flush_events(self, timeout: float | None = None) -> int:
        """Commit every buffered event; returns how many. CallTimeoutError after ``timeout`` s
        (default ``call_timeout_seconds``); the events stay buffered and keep being written."""
        return await self._require().pipeline.flush(timeout=timeout)

    def get_events(
        self,
        event_type: EventType | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        symbol: str | None = None,
        source_engine: str | None = None,
        limit: int | None = 1000,
        newest_first: bool = False,
    ) -> list[LearningEvent]:
        """Events from the store, filtered; oldest first (``newest_first``: the newest first)."""
        q = EventQuery(
            event_type=event_type,
            start=start,
            end=end,
            symbol=symbol,
            source_engine=source_engine,
            limit=limit,
            descending=newest_first,
        )
        return self._require().pipeline.query(q)

    def event_stats(self) -> EventStats:
        """Counts of stored events, by type, with the first and last timestamps."""
        return self.store.event_stats()

    @property
    def feedback(self) -> Any:
        """The FeedbackCollector the trading engines call (`record_trade_outcome`, ...)."""
        parts = self._require()
        self._ownership.require_writer("feedback")
        return parts.collector

    @property
    def evaluator(self) -> ModelEvaluator:
        """The evaluator the engine judges versions with: its benchmark packs and backtests."""
        return self._require().evaluator

    @property
    def breakers(self) -> Any:
        """The circuit breakers (`record_error`, `reset`, `states`)."""
        return self._require().breakers

    def breaker_states(self) -> dict[str, BreakerSnapshot]:
        """Every circuit breaker's state, reason and history counters."""
        return dict(self._require().breakers.states())

    def reset_breaker(self, engine: str, by: str, reason: str) -> BreakerSnapshot:
        """Close a breaker by hand; ``reason`` is required and audited with ``by``."""
        if not reason.strip():
            raise ValidationError(
                "reset_breaker", [FieldProblem("reason", reason, "must say why (non-empty)")]
            )
        return self._require().breakers.reset(engine, by, reason)

    def should_allow_signals(self, timeout: float | None = None) -> tuple[bool, str]:
        """(allowed, reason): False while a breaker that guards signals is open."""
        return self._require().breakers.should_allow_signals(timeout=timeout)

    def should_allow_execution(self, timeout: float | None = None) -> tuple[bool, str]:
        """(allowed, reason): False while a breaker that guards execution is open."""
        return self._require().breakers.should_allow_execution(timeout=timeout)

    # ------------------------------------------------------------------ training
    async def submit_training_job(
        self,
        model_name: str,
        model_type: str,
        config: dict[str, Any] | None = None,
        actor: str = "engine",
    ) -> TrainingJob:
        """Queue a training job (governance preflight first); it runs on the executor."""
        parts = self._require()
        self._ownership.require_leader("submit_training_job")
        parts.executor.check_job(model_name, model_type, {} if config is None else config)
        return await parts.training.submit(model_name, model_type, config or {}, actor)

    def get_training_job(self, job_id: str) -> TrainingJob | None:
        """The job with this id, or None when there is none (the review's protocol)."""
        try:
            return self._require().executor.get_job(job_id)
        except NotFoundError:
            return None

    def list_training_jobs(
        self, model_name: str | None = None, status: Any = None
    ) -> list[TrainingJob]:
        parts = self._require()
        if not self._ownership.leads:  # another engine runs the jobs: read them fresh
            parts.executor.load_recorded_jobs()
        return parts.executor.list_jobs(model_name=model_name, status=status)

    async def cancel_training_job(self, job_id: str) -> TrainingJob:
        self._ownership.require_leader("cancel_training_job")
        job = await self._require().executor.cancel(job_id)
        self.audit("engine", "training.cancel", job_id, "allow", "cancelled", {})
        return job

    async def wait_for_training_job(self, job_id: str, timeout: float | None = None) -> TrainingJob:
        return await self._require().executor.wait(job_id, timeout=timeout)

    def register_trainer(self, model_type: str, spec: str) -> None:
        """Make a trainer (``"module:attribute"``) available for jobs of ``model_type``."""
        self._require().trainers.register(model_type, spec)

    def add_training_progress_listener(self, listener: Callable[[TrainingJob], None]) -> None:
        """Called on every status change and progress report of every training job."""
        self._require().executor.add_progress_listener(listener)

    async def wait_for_training_workers(self) -> None:
        """Wait until the training backend's workers and the store-read helper (which builds
        datasets and holdouts) are warm (start-up cost paid once)."""
        parts = self._require()
        ready = getattr(parts.executor.backend, "wait_ready", None)
        if ready is not None:
            await asyncio.gather(asyncio.to_thread(ready), asyncio.to_thread(parts.offload.warm))
        else:
            await asyncio.to_thread(parts.offload.warm)

    # ------------------------------------------------------------------ registry
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
        lineage: dict[str, str] | None = None,
        actor: str = "engine",
    ) -> ModelVersion:
        """Register a version in MLflow with lineage and artifact hashes."""
        return await self._require().registry.register_model_version(
            model_name,
            version,
            artifact_path=artifact_path,
            metrics=metrics,
            parameters=parameters,
            training_job_id=training_job_id,
            description=description,
            model=model,
            lineage=lineage,
            actor=actor,
        )

    def allocate_model_version(self, model_name: str) -> str:
        """The next free ``v<n>`` of a model, claimed in the shared store: engines registering
        at once never get the same number (pass it to ``register_model_version``)."""
        self._ownership.require_leader("allocate_model_version")
        return self._require().registry.allocate_version(model_name)

    async def promote_model(
        self,
        model_name: str,
        version_id: str,
        target_stage: ModelStage | str,
        rollout_strategy: RolloutStrategy | str | None = None,
        actor: str = "engine",
        reason: str = "",
        approved_by: str | None = None,
    ) -> ModelVersion:
        """Move a version to a stage (preflight first). PRODUCTION needs a passed verdict of the
        production gate set of its model type, computed with the current trials, parity
        included (``production_blocker`` says what is missing); with ``approval: manual`` an
        ``approved_by`` other than ``actor``.

        PRODUCTION with a ``rollout_strategy`` (SHADOW, CANARY, BLUE_GREEN) starts a rollout:
        the version goes to shadow, then through the plan of pipeline.yaml, judged on live
        evidence (``get_rollout`` shows it). IMMEDIATE (emergencies only, when the config's
        ``allow_immediate_rollout`` is set, with a ``reason``) and a model without a production
        version cut over at once; so does ``rollout_strategy=None`` (the direct move).
        """
        stage = _parse_stage(target_stage)
        parts = self._require()
        if stage is ModelStage.PRODUCTION and rollout_strategy is not None:
            strategy = _parse_strategy(rollout_strategy)
            await parts.rollouts.start(model_name, version_id, strategy, actor, reason)
            return parts.registry.get_model_version(version_id)
        return await parts.registry.promote_model(
            model_name,
            version_id,
            stage,
            rollout_strategy=rollout_strategy,
            actor=actor,
            reason=reason,
            approved_by=approved_by,
        )

    async def request_promotion(
        self,
        version_id: str,
        target_stage: ModelStage | str = ModelStage.PRODUCTION,
        requested_by: str = "engine",
        reason: str = "",
    ) -> PromotionRequest:
        """A pending promotion request (four eyes): an approver other than ``requested_by``
        approves it with ``approve_promotion``. Audited with what still blocks it."""
        return await self._require().promotions.request(
            version_id, target_stage, requested_by, reason
        )

    async def approve_promotion(
        self, request_id: str, approver: str, reason: str = ""
    ) -> ModelVersion:
        """Approve a pending request and promote; refused (PolicyDeniedError) when the approver
        is the requester or another policy blocks the promotion."""
        return await self._require().promotions.approve(request_id, approver, reason)

    async def reject_promotion(
        self, request_id: str, approver: str, reason: str
    ) -> PromotionRequest:
        """Close a pending promotion request without promoting."""
        return await self._require().promotions.reject(request_id, approver, reason)

    def list_promotion_requests(
        self, model_name: str | None = None, pending_only: bool = False
    ) -> list[PromotionRequest]:
        """Promotion requests, oldest first."""
        status = RequestStatus.PENDING if pending_only else None
        return self._require().promotions.requests.list(model_name, status)

    def get_promotion_request(self, request_id: str) -> PromotionRequest:
        """One promotion request (NotFoundError when unknown)."""
        return self._require().promotions.requests.get(request_id)

    def explain_promotion(
        self,
        version_id: str,
        target_stage: ModelStage | str = ModelStage.PRODUCTION,
        actor: str = "engine",
    ) -> list[PolicyResult]:
        """What still blocks promoting ``version_id`` now (empty: it may go); changes nothing."""
        pre = self._require().promotions.explain(version_id, target_stage, actor)
        return blocking(pre)

    def version_at(
        self, model_name: str, at: datetime, stage: ModelStage | str = ModelStage.PRODUCTION
    ) -> ModelVersion | None:
        """The version that held ``stage`` at time ``at`` (None: no version did)."""
        registry = self._require().registry
        version = registry.version_at(model_name, stage, at)
        return None if version is None else registry.get_model_version(f"{model_name}:{version}")

    async def rollback(self, model_name: str, reason: str, actor: str = "engine") -> ModelVersion:
        """Restore the previous production version."""
        return await self._require().registry.rollback(model_name, reason, actor=actor)

    def get_production_model(self, model_name: str) -> ModelVersion | None:
        """The production version of a model, from memory (the hot path)."""
        parts = self._parts
        if parts is None:
            return None
        return parts.registry.get_production_model(model_name)

    def get_model_version(self, version_id: str) -> ModelVersion:
        return self._require().registry.get_model_version(version_id)

    def list_model_versions(
        self, model_name: str, stage: ModelStage | None = None
    ) -> list[ModelVersion]:
        return self._require().registry.list_versions(model_name, stage=stage)

    def list_models(self) -> list[str]:
        return self._require().registry.list_models()

    def load_model(self, version_id: str) -> Any:
        """The model object of a version, after its artifact hashes were verified."""
        return self._require().registry.load_model(version_id)

    def stage_history(self, model_name: str, version: str | None = None) -> list[Any]:
        return self._require().registry.stage_history(model_name, version=version)

    # ------------------------------------------------------------------ serving and rollout
    def route(self, model_name: str, key: str) -> RoutedModel:
        """The version (id and loaded model) serving ``key`` (a symbol, strategy or account).

        From memory in microseconds; sticky per key within a rollout. Raises NotFoundError
        when the model has no production version.
        """
        return self._require().rollouts.route(model_name, key)

    def predict(self, model_name: str, key: str, features: Any) -> Prediction:
        """Route, predict and buffer a MODEL_PREDICTION event with the serving version's id.

        ``features`` goes to the model's ``predict`` as given; the signal is its first value.
        During a rollout the other version predicts the same features in shadow, off this path
        (a shadow never changes the served signal). A failing candidate is rolled back and the
        champion answers instead.
        """
        return self._require().rollouts.predict(model_name, key, features)

    def predict_batch(
        self, model_name: str, keys: Sequence[str], features: Any
    ) -> list[Prediction]:
        """``predict`` for many keys at once (a host's bar of symbols): ``features`` is a 2-D
        batch (a DataFrame or array) with one row per key, in the order of ``keys``.

        Each key is routed as ``predict`` routes it; each serving version predicts its keys'
        rows in one call of its model's ``predict`` (which must take a batch and return one
        value per row). One MODEL_PREDICTION event per key, shadows off this path, and a
        failing candidate rolled back with the champion answering its rows, as in ``predict``.
        """
        return self._require().rollouts.predict_batch(model_name, keys, features)

    def position_policy(self, version_id: str) -> PositionPolicy:
        """The strategy definition a version carries (signal to position, sizing, costs): the
        one its evaluation and live tracking use, so a host trading the version with it trades
        what was judged. Versions registered without one carry the engine's default."""
        return self._require().registry.position_policy_of(version_id)

    def record_prediction_outcome(self, prediction_id: str, realised_return: float) -> bool:
        """The delayed realised return of a prediction, attributed to the versions that made it.

        ``realised_return`` is the asset's return over the prediction's horizon (each version's
        position policy turns it into that version's PnL), not the position's return. A trade
        outcome naming the prediction (``signal_id``) is attributed the same way, its
        ``return_pct`` divided by the served version's position, unless this was called first.
        False when the prediction is not part of a rollout (nothing to attribute).
        """
        return self._require().rollouts.record_outcome(prediction_id, realised_return)

    def report_serving_error(
        self, model_name: str, key: str, error_type: str, detail: str = ""
    ) -> bool:
        """An error on a served request; on a candidate's traffic it feeds the candidate's
        circuit breaker, whose trip rolls the candidate back (returns True then)."""
        return self._require().rollouts.report_serving_error(model_name, key, error_type, detail)

    async def start_rollout(
        self,
        model_name: str,
        version_id: str,
        strategy: RolloutStrategy | str | None = None,
        actor: str = "engine",
        reason: str = "",
    ) -> RolloutReport | None:
        """Start a rollout (strategy: argument, else pipeline.yaml, else the config's default).

        Returns None when the version cut over at once (IMMEDIATE, or no champion)."""
        parsed = None if strategy is None else _parse_strategy(strategy)
        return await self._require().rollouts.start(model_name, version_id, parsed, actor, reason)

    def get_rollout(self, model_name: str) -> RolloutReport:
        """The model's current (or last) rollout: phase, step, traffic, evidence, decisions."""
        return self._require().rollouts.report(model_name)

    def list_rollouts(self) -> list[RolloutReport]:
        """Every model's current (or last) rollout, by model name."""
        return self._require().rollouts.reports()

    async def advance_rollouts(self) -> dict[str, str]:
        """Close due periods and let every rollout decide now; returns each model's move.

        The scheduler does this every ``rollout_check_interval_seconds`` of the engine clock.
        """
        moves = await self._require().rollouts.tick()
        return {name: move.kind.value for name, move in moves.items()}

    async def approve_rollout(self, model_name: str, approver: str) -> RolloutReport:
        """An operator's approval of a rollout waiting for one (manual approval)."""
        return await self._require().rollouts.approve(model_name, approver)

    async def abort_rollout(
        self, model_name: str, reason: str, actor: str = "operator"
    ) -> RolloutReport:
        """An operator's rollback: the champion serves again at once; the candidate is archived."""
        return await self._require().rollouts.abort(model_name, actor, reason)

    def set_backtest_record(
        self, version_id: str, record: BacktestRecord, actor: str = "host"
    ) -> None:
        """The backtest a version's live evidence is compared with for parity (REC-7).

        Stored (it outlives a restart in the middle of a rollout) and audited; it replaces the
        one the engine derives from the forward holdout of a version it trained. The returns
        are per period of the rollout (``period_seconds``, a day by default); the engine keeps
        ``returns`` (its last 20,000 periods) and ``periods_per_year``.
        """
        from ordinis.engines.learning.evaluation.backtest_record import host_backtest

        parts = self._require()
        mv = parts.registry.get_model_version(version_id)
        backtest = host_backtest(mv.version_id, record, self.clock.now())
        parts.evaluation.backtests.put(backtest, actor)

    def get_backtest(self, version_id: str) -> StoredBacktest | None:
        """The version's stored backtest as kept (its ``source``: ``host`` or
        ``forward_holdout``, its description; ``as_record(period_seconds)`` gives the record)."""
        parts = self._require()
        mv = parts.registry.get_model_version(version_id)
        return parts.evaluation.backtests.get(mv.version_id)

    def get_backtest_record(self, version_id: str, period_seconds: float = 86400.0
                            ) -> BacktestRecord | None:
        """The backtest parity compares a version's live evidence with (None: there is none):
        the host's, else the engine's own from the version's forward holdout, grouped into
        periods of ``period_seconds`` (a rollout's period: a day)."""
        if not (isinstance(period_seconds, int | float) and math.isfinite(period_seconds)
                and period_seconds > 0):
            raise ValidationError("get_backtest_record", [FieldProblem(
                "period_seconds", period_seconds,
                "must be a number of seconds > 0 (a day: 86400)")])
        stored = self.get_backtest(version_id)
        return None if stored is None else stored.as_record(float(period_seconds))

    def get_parity(self, version_id: str) -> ParityEvidence | None:
        """The newest parity evidence recorded for a version (None when there is none)."""
        return self._require().evaluation.latest_parity(version_id)

    @property
    def ab_tests(self) -> ABTestingFramework:
        """The ABTestingFramework: create_test, get_variant, record_result, results, stop."""
        return self._require().ab_tests

    # ------------------------------------------------------------------ evaluation
    async def evaluate_model(
        self,
        version_id: str,
        benchmark_name: str | Sequence[str] | None = None,
        metrics: dict[str, float] | None = None,
        thresholds: dict[str, float] | None = None,
        gate_set: str | None = None,
        threshold_overrides: Mapping[str, float] | None = None,
    ) -> EvaluationResult:
        """Evaluate a version on benchmark packs and pass it through the gates.

        As of the clock's now, outside the version's training window (widened by purge and
        embargo), plus its forward holdout when the engine trained it; ``gate_set`` defaults to
        production, the only set whose verdict can open production.

        With ``metrics`` and ``thresholds`` (the ordinis call of today) and no artifact, the
        reported metrics are checked against ``thresholds * eval_benchmark_threshold``.
        ``threshold_overrides`` (gate name or metric -> threshold) judges with changed gates,
        as the improvement loop's pipeline spec does; such a verdict never opens production.
        """
        self._ownership.require_leader("evaluate_model")
        return await self._require().evaluation.evaluate(
            version_id, benchmark_name, metrics=metrics, thresholds=thresholds, gate_set=gate_set,
            threshold_overrides=threshold_overrides,
        )

    async def compare_models(
        self,
        version_a: str,
        version_b: str,
        benchmark: str | Sequence[str] | None = None,
        alpha: float = 0.05,
    ) -> Any:
        """Challenger against champion on the same packs: a ONE-SIDED paired block-bootstrap
        test (H1: challenger's Sharpe > champion's) at ``alpha``; ``.a_better`` follows it and
        ``.describe()`` states it. Point-in-time and outside both training windows."""
        return await self._require().evaluation.compare(version_a, version_b, benchmark, alpha)

    async def record_parity(self, version_id: str, result: ParityResult) -> ParityEvidence:
        """Record live parity evidence (a shadow/canary run's ParityResult) for a version.

        Stored as a typed record and audited; the version's production verdict is judged again
        with this ``parity_ratio`` (until a version has one, its parity gate is "waiting for
        live evidence"). Promotion to production then follows the new verdict.
        """
        return await self._require().evaluation.record_parity(version_id, result)

    async def measure_parity(
        self,
        version_id: str,
        live_returns: Sequence[float] | pd.Series,
        periods_per_year: float | None = None,
        actor: str = "host",
    ) -> ParityEvidence:
        """Measure parity of a live run of the version (its per-day returns from a staging run
        or the host's own shadow) against the version's stored backtest, and record it.

        The engine computes the result itself (``ParityValidator``: Sharpe ratio, win rate,
        drawdown, with bootstrap intervals); the version's production verdict is judged again
        with the new ``parity_ratio``. This is how a model's first production version gets its
        parity: it has no champion for a rollout to be compared with.
        """
        return await self._require().evaluation.measure_parity(
            version_id, live_returns, periods_per_year, actor)

    def production_blocker(self, version_id: str) -> str | None:
        """Why the version cannot be promoted to production now (None: it can)."""
        return self._require().registry.production_blocker(version_id)

    def get_evaluations(self, version_id: str | None = None) -> list[EvaluationResult]:
        """Stored evaluation results, oldest first."""
        return self._require().evaluation.stored(version_id)

    # ------------------------------------------------------------------ features
    def register_feature_set(
        self,
        name: str,
        features: Sequence[str | FeatureSpec],
        *,
        version: int = 1,
        source: str = "payload",
        function: str | None = None,
        ttl_seconds: float | None = None,
        description: str = "",
    ) -> FeatureSet:
        """Register a version of a feature set; a job names it in ``config.feature_set``."""
        return self._require().features.register_set(
            name, features, version=version, source=source, function=function,
            ttl_seconds=ttl_seconds, description=description)

    def register_feature_function(
        self, function: FeatureFunction, description: str = ""
    ) -> FeatureSet:
        """Register a function over bars (and its set of the same name) for packs and jobs."""
        return self._require().features.register_function(function, description)

    def get_feature_set(self, name: str, version: int | None = None) -> FeatureSet:
        """A registered set (``version`` None: the latest), store-sourced ones included."""
        return self._require().features.synced_sets().get(name, version)

    @property
    def feature_store(self) -> FeatureStore:
        """The point-in-time FeatureStore (``<data_dir>/features.duckdb``, opened on first use)."""
        return self._require().features.store()

    def register_benchmark(
        self,
        name: str,
        prices: pd.DataFrame | pd.Series,
        *,
        feature_function: FeatureFunction | str | None = None,
        **kwargs: Any,
    ) -> BenchmarkDataset:
        """Register a user pack of close prices whose features ``feature_function`` computes
        (default: ``bar_features``); evaluations name it like a built-in pack."""
        return self._require().features.register_benchmark(
            name, prices, feature_function=feature_function, **kwargs)

    # ------------------------------------------------------------------ drift
    def set_baseline(self, model_name: str, metrics: dict[str, float]) -> None:
        """Set the performance baseline: drift checks and the loop's degradation rule use it
        (leader work: the leader runs the checks, from its own copy)."""
        parts = self._require()
        self._ownership.require_leader("set_baseline")
        parts.drift.set_baseline(model_name, metrics)  # stored; the loop reads it

    def get_baseline(self, model_name: str) -> dict[str, float]:
        """The drift baseline metrics of ``model_name`` (NotFoundError when none was set)."""
        return dict(self._require().drift.baseline(model_name).metrics)

    def list_baselines(self) -> dict[str, dict[str, float]]:
        """Every model's drift baseline metrics (every baseline set, registered model or not:
        the checks compare with each of them)."""
        found = self._require().drift.baselines()
        return {name: dict(found[name].metrics) for name in sorted(found)}

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking store of this engine (``ordinis-learning ui`` opens it)."""
        return self.config.resolved_mlflow_uri

    def live_metrics(self, model_name: str) -> LiveMetrics:
        """The production model's live metrics over the tracker's window."""
        return self._require().tracker.metrics(model_name)

    def reset_live_metrics(self, model_name: str) -> None:
        """Forget the live window of ``model_name`` (a new version starts trading)."""
        self._require().tracker.reset(model_name)

    def drift_reference(self, model_name: str) -> ReferenceProfile:
        """The data/prediction drift reference of the production version of ``model_name``."""
        return self._require().drift.reference(model_name)

    def check_drift(self, model_name: str, current_metrics: dict[str, float]) -> list[DriftAlert]:
        """Compare metrics with the baseline; alerts go to the closed loop as well (leader
        work: the alerts open episodes and triggers the leader acts on)."""
        parts = self._require()
        self._ownership.require_leader("check_drift")
        return parts.drift.check_drift(model_name, current_metrics)

    def compare_with_baseline(
        self, model_name: str, current_metrics: dict[str, float]
    ) -> list[MetricDrift]:
        """Where each metric stands against the baseline now, with its open drift episode
        (which is why a check inside it raises nothing); changes nothing, alerts nothing."""
        return self._require().drift.compare(model_name, current_metrics)

    def get_drift_alerts(
        self,
        model_name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[DriftAlert]:
        return self._require().drift.alerts(model_name=model_name, start=start, end=end)

    async def trigger_retraining(
        self, model_name: str, reason: str, wait: bool = True
    ) -> RetrainingTrigger:
        """A MANUAL retraining trigger through the same safeguards as automatic ones; the model
        must have a version (a misspelt name is refused, not trained as a new model).

        With ``wait`` it returns once the chain has ended (refused, trained, gated, promoted,
        rolled out). Without, it returns the pending trigger at once and runs the chain in the
        background (``get_retraining_trigger`` follows it; ``drain`` waits for it).
        """
        self._ownership.require_leader("trigger_retraining")
        parts = self._require()
        known = parts.registry.list_models()
        if model_name not in known:
            raise NotFoundError(
                f"model {model_name!r} is not registered; known models: "
                f"{', '.join(sorted(known)) or 'none'}. Retraining needs a version to replace: "
                "train the first one with submit_training_job"
            )
        if wait:
            return await parts.loop.request_retrain(model_name, reason)
        trigger = parts.loop.open_manual_trigger(model_name, reason)
        self.spawn(parts.loop.handle_trigger(trigger), f"retrain-{trigger.trigger_id}")
        return trigger

    def list_retraining_triggers(
        self,
        model_name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[RetrainingTrigger]:
        """Retraining triggers with their status and every step they went through."""
        return self._require().retraining.list_triggers(model_name, start, end)

    def get_retraining_trigger(self, trigger_id: str) -> RetrainingTrigger | None:
        """One retraining trigger by id (None when unknown)."""
        return self._require().retraining.get(trigger_id)

    def loop_report(
        self, start: datetime, end: datetime, model_name: str | None = None
    ) -> ImprovementReport:
        """The continuous-improvement report of ``[start, end)``."""
        return self._require().loop.report(start, end, model_name)

    def subscribe_loop_events(self, listener: Callable[[LoopEvent], None]) -> Callable[[], None]:
        """Call ``listener`` with every step the closed loop takes; returns the unsubscribe call."""
        return self._require().loop_events.subscribe(listener)

    # ------------------------------------------------------------------ orchestration
    async def update(self, results: Any = None) -> dict[str, Any]:
        """The host's call every cycle: record its results, run due schedules, flush events.

        ``results`` is the ordinis orchestration's list, one entry per cycle with its signals,
        fills and outcomes (see ``core.cycle_results``); a ``{model_name: {metric: value}}``
        mapping reports live metrics instead. A malformed entry raises a ValidationError naming
        its index and field, and nothing of the list is recorded.
        """
        parts = self._require()
        self._ownership.require_writer("update")
        cycles = 0
        if isinstance(results, Mapping):
            self._ownership.require_leader("update(live metrics): a drift check")
            await parts.observations.on_live_metrics(results)
        elif isinstance(results, Sequence) and not isinstance(results, str | bytes):
            cycles = await parts.cycles.ingest(results)
        elif results is not None:
            raise ValidationError(
                "update(results)",
                [
                    FieldProblem(
                        "results",
                        type(results).__name__,
                        "must be a list of cycle results or a {model_name: metrics} mapping",
                    )
                ],
            )
        await asyncio.to_thread(parts.rollouts.run_shadows)
        leads = await self.check_leadership()
        fired = self.scheduler.run_due() if leads else 0
        flushed = await parts.pipeline.flush(timeout=self.config.shutdown_timeout_seconds)
        return {
            "cycles": cycles,
            "scheduled_run": fired,
            "events_flushed": flushed,
            "time": self.clock.now(),
        }

    # ------------------------------------------------------------------ health and stats
    async def health_check(self) -> HealthStatus:
        """HEALTHY / DEGRADED / UNHEALTHY from real signals: store reachability (with a grace
        period), consecutive flush failures, flush lag, breakers and failing schedules."""
        t0 = time.perf_counter()
        if self._parts is None:
            return HealthStatus(HealthLevel.UNHEALTHY, "engine not running", {}, 0.0)
        parts = self._parts
        store_error = await asyncio.to_thread(self._probe_store)
        down = self._reach.observe(store_error is None, self.clock.now())
        stats = parts.pipeline.stats()
        try:
            allowed, reason = parts.breakers.should_allow_signals(consume_probe=False)
        except Exception as exc:  # e.g. a read-only opener cannot persist a transition
            allowed, reason = True, f"breaker state unknown: {exc}"
        failing = {
            name: f"{type(err).__name__}: {err}" for name, err in self.scheduler.failing.items()
        }
        if parts.retention is not None and parts.retention.last_error is not None:
            failing["event-retention"] = parts.retention.last_error
        signals = HealthSignals(
            store_error=store_error,
            store_down_seconds=down,
            consecutive_flush_failures=stats.consecutive_flush_failures,
            flush_error=stats.last_error,
            flush_lag_seconds=stats.oldest_buffered_age_seconds,
            buffered=stats.buffered,
            capacity=stats.capacity,
            signals_allowed=allowed,
            signals_reason=reason,
            failing_tasks=failing,
        )
        level, causes = assess(signals)
        details: dict[str, Any] = {
            "role": self.role,
            "buffered": stats.buffered,
            "flush_failures": stats.flush_failures,
            "consecutive_flush_failures": stats.consecutive_flush_failures,
            "flush_lag_seconds": stats.oldest_buffered_age_seconds,
            "store_down_seconds": down,
            "signals_allowed": allowed,
            "failing_tasks": sorted(failing),
        }
        return HealthStatus(
            level, "; ".join(causes) or "ok", details, (time.perf_counter() - t0) * 1000
        )

    def _probe_store(self) -> str | None:
        """One cheap read (the identity record); a dropped connection gets one reconnect."""
        error: str | None = None
        for _ in range(2):
            try:
                self.store.get_record(IDENTITY_KIND, IDENTITY_KEY)
                return None
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}".strip()
        return error

    def get_stats(self) -> dict[str, Any]:
        """A summary of the engine's state for dashboards and the CLI."""
        parts = self._require()
        ps = parts.pipeline.stats()
        return {
            "running": self._running,
            "started_at": self._started_at,
            "clock": self.clock.now(),
            "pipeline": ps,
            "breakers": parts.breakers.states(),
            "models": parts.registry.list_models(),
            "training_jobs": len(parts.executor.list_jobs()),
            "drift_alerts": len(parts.drift.alerts()),
        }


def _parse_strategy(strategy: RolloutStrategy | str) -> RolloutStrategy:
    if isinstance(strategy, RolloutStrategy):
        return strategy
    try:
        return RolloutStrategy(str(strategy).lower())
    except ValueError:
        allowed = ", ".join(s.value for s in RolloutStrategy)
        raise ValidationError(
            "rollout",
            [FieldProblem("rollout_strategy", strategy, f"not a strategy; use one of {allowed}")],
        ) from None


def _parse_stage(stage: ModelStage | str) -> ModelStage:
    if isinstance(stage, ModelStage):
        return stage
    try:
        return ModelStage(str(stage).lower())
    except ValueError:
        allowed = ", ".join(s.value for s in ModelStage)
        raise NotFoundError(f"target_stage={stage!r} is not a stage; allowed: {allowed}") from None
