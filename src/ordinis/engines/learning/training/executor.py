"""TrainingExecutor: queues, runs, times out, retries, cancels and records training jobs.

Jobs run PENDING -> RUNNING -> COMPLETED / FAILED / CANCELLED on an ExecutionBackend, at most
``max_concurrent_jobs`` at once (FIFO), inside the CPU/GPU slots they declare. Every
transition is persisted in the event store (kind "training_job"), so a restart knows what
was interrupted. Timestamps come from the Clock; waits for real work use real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import (
    EngineNotRunningError,
    FieldProblem,
    InsufficientDataError,
    NotFoundError,
    StoreError,
    TrainingError,
    ValidationError,
)
from ordinis.engines.learning.core.ids import new_id
from ordinis.engines.learning.core.models import TrainingJob, TrainingStatus
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.tracing import ATTR_JOB, ATTR_VERSION, span
from ordinis.engines.learning.training.backends import ExecutionBackend
from ordinis.engines.learning.training.dataset import Dataset
from ordinis.engines.learning.training.execution import (
    JobCancelledError,
    JobTimeoutError,
    TrainingPayload,
)
from ordinis.engines.learning.training.job_config import job_config_problems
from ordinis.engines.learning.training.job_records import (
    JOB_RECORD_KIND,
    copy_job,
    job_from_record,
    job_to_record,
)
from ordinis.engines.learning.training.resources import (
    ResourceAssignment,
    ResourceCapacity,
    ResourcePool,
    ResourceRequest,
    parse_resource_request,
)
from ordinis.engines.learning.training.trainers import (
    TrainerRegistry,
    TrainingOutcome,
    TransientTrainingError,
)

log = logging.getLogger(__name__)

OnComplete = Callable[[TrainingJob, TrainingOutcome], Awaitable[str | None]]
DatasetBuilder = Callable[[TrainingJob], Dataset | None]
ProgressListener = Callable[[TrainingJob], None]

INTERRUPTED = "interrupted"
_MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")


@dataclass(eq=False)
class _Entry:
    """The executor's live state of one unfinished job."""

    job: TrainingJob
    request: ResourceRequest
    phase: str = "queued"  # queued | preparing | backend | backoff | completing
    task: asyncio.Task[None] | None = None
    admit: asyncio.Future[None] | None = None
    assignment: ResourceAssignment | None = None
    dataset: Dataset | None = None
    cancel_requested: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    last_persist: float = 0.0
    trace_parent: Context | None = None  # the submitter's span: queue/run/register hang off it


class TrainingExecutor:
    """Runs training jobs on a backend and keeps their records; see docs/training.md."""

    def __init__(
        self,
        config: LearningEngineConfig,
        store: EventStore,
        clock: Clock,
        metrics: LearningMetrics,
        backend: ExecutionBackend,
        trainers: TrainerRegistry,
        on_complete: OnComplete | None = None,
        dataset_builder: DatasetBuilder | None = None,
        *,
        cpu_slots: int | None = None,
        gpu_devices: Sequence[int] | None = None,
        retry_backoff_seconds: float = 1.0,
        retry_backoff_max_seconds: float = 60.0,
        progress_persist_interval_seconds: float = 1.0,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.backend = backend
        self.trainers = trainers
        self.on_complete = on_complete
        self.dataset_builder = dataset_builder
        self._cpu_slots = cpu_slots
        self._gpu_devices = None if gpu_devices is None else tuple(gpu_devices)
        self.retry_backoff_seconds = retry_backoff_seconds
        self.retry_backoff_max_seconds = retry_backoff_max_seconds
        self.progress_persist_interval_seconds = progress_persist_interval_seconds
        self._jobs: dict[str, TrainingJob] = {}
        self._entries: dict[str, _Entry] = {}
        self._queue: deque[_Entry] = deque()
        self._active = 0
        self._pool = ResourcePool(cpu_slots=())
        self._listeners: list[ProgressListener] = []
        self._io: ThreadPoolExecutor | None = None
        self._started = False
        self._stopping = False
        self._owns_backend = False
        self._running_since: dict[str, tuple[str, float]] = {}  # job -> (model, unix start)
        self._gpu_holders: dict[int, int] = {}  # device -> running jobs holding it

    # ------------------------------------------------------------------ lifecycle
    @property
    def started(self) -> bool:
        return self._started

    def load_recorded_jobs(self) -> int:
        """Read the stored jobs into memory without changing any (read-only openers and
        followers list them; only the engine that runs jobs resolves interrupted ones)."""
        loaded = 0
        for record in self.store.list_records(JOB_RECORD_KIND):
            try:
                job = job_from_record(record)
            except (KeyError, ValueError, TypeError) as exc:
                log.error("skipping unreadable training job record %s: %s", record.key, exc)
                continue
            if job.job_id not in self._entries:  # never overwrite a job this executor runs
                self._jobs[job.job_id] = job
                loaded += 1
        return loaded

    async def start(self) -> None:
        """Start the backend (if not running), then restore jobs: interrupted ones are failed
        with "interrupted" or, with ``requeue_interrupted_jobs``, queued again."""
        if self._started:
            return
        self._stopping = False
        self._io = ThreadPoolExecutor(1, thread_name_prefix="training-store")
        try:
            if not self.backend.running:
                await asyncio.to_thread(self.backend.start)
                self._owns_backend = True
            cap = await asyncio.to_thread(self.backend.capacity)
            records = await self._call_store(self.store.list_records, JOB_RECORD_KIND)
        except BaseException:
            self._io.shutdown(wait=False)
            self._io = None
            raise
        # Default CPU slots: the backend's CPUs, but never fewer than max_concurrent_jobs, so
        # one-CPU jobs are limited by max_concurrent_jobs (slot ids then wrap onto cores).
        cpu_slots = (max(cap.cpu_slots, self.config.max_concurrent_jobs)
                     if self._cpu_slots is None else self._cpu_slots)
        self._pool = ResourcePool.of(ResourceCapacity(
            cpu_slots=cpu_slots,
            gpu_devices=cap.gpu_devices if self._gpu_devices is None else self._gpu_devices,
        ))
        self._started = True
        for record in records:
            try:
                job = job_from_record(record)
            except (KeyError, ValueError, TypeError) as exc:
                log.error("skipping unreadable training job record %s: %s", record.key, exc)
                continue
            self._jobs[job.job_id] = job
            if job.status.is_terminal:
                continue
            was = job.status.value
            request, problems = parse_resource_request(job.config)
            problems += self._pool.check(request)
            if self.config.requeue_interrupted_jobs and not problems:
                job.status = TrainingStatus.PENDING
                job.progress = 0.0
                job.progress_message = f"requeued: the engine stopped while it was {was}"
                entry = _Entry(job=job, request=request)
                await self._save(entry, force=True)
                self._launch(entry)
            elif problems:
                job.status = TrainingStatus.FAILED
                job.completed_at = self.clock.now()
                job.error_message = (
                    f"{INTERRUPTED}: the engine stopped while the job was {was}, and it cannot be "
                    "requeued here: " + "; ".join(map(str, problems)))
                await self._persist(job, force=True)
                self.metrics.training_jobs_total.labels(job.model_name, job.status.value).inc()
            else:
                job.status = TrainingStatus.FAILED
                job.completed_at = self.clock.now()
                job.error_message = (
                    f"{INTERRUPTED}: the engine stopped while the job was {was}; resubmit it, or "
                    "set requeue_interrupted_jobs=true to requeue such jobs on start"
                )
                await self._persist(job, force=True)
                self.metrics.training_jobs_total.labels(job.model_name, job.status.value).inc()

    async def stop(self) -> None:
        """Kill running work, leave unfinished jobs recorded for the next start, stop the backend
        if this executor started it."""
        if not self._started:
            return
        self._stopping = True
        entries = list(self._entries.values())
        for entry in entries:
            if entry.task is not None:
                entry.task.cancel()
        await asyncio.gather(*(e.task for e in entries if e.task is not None),
                             return_exceptions=True)
        if self._owns_backend:
            await asyncio.to_thread(self.backend.stop)
            self._owns_backend = False
        if self._io is not None:
            await asyncio.to_thread(self._io.shutdown, True)
            self._io = None
        self._started = False

    # ------------------------------------------------------------------ queries
    def get_job(self, job_id: str) -> TrainingJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                f"training job {job_id!r} not found; list_jobs() shows the known jobs")
        return copy_job(job)

    def list_jobs(
        self, model_name: str | None = None, status: TrainingStatus | None = None
    ) -> list[TrainingJob]:
        """Jobs in submission order, optionally of one model and/or one status."""
        jobs = sorted(self._jobs.values(), key=lambda j: (j.created_at, j.job_id))
        return [
            copy_job(j) for j in jobs
            if (model_name is None or j.model_name == model_name)
            and (status is None or j.status is TrainingStatus(status))
        ]

    async def wait(self, job_id: str, timeout: float | None = None) -> TrainingJob:
        """Wait until the job is finished (real time); TimeoutError names its current state."""
        job = self.get_job(job_id)
        entry = self._entries.get(job_id)
        if entry is None:
            return job
        try:
            await asyncio.wait_for(entry.done.wait(), timeout)
        except TimeoutError:
            now = self.get_job(job_id)
            raise TimeoutError(
                f"training job {job_id} still {now.status.value} after {timeout} s "
                f"(progress {now.progress:.0%}: {now.progress_message})") from None
        return self.get_job(job_id)

    def add_progress_listener(self, listener: ProgressListener) -> None:
        """Call ``listener(job_copy)`` on every status change and progress report."""
        self._listeners.append(listener)

    def remove_progress_listener(self, listener: ProgressListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def active_jobs(self) -> int:
        """Jobs holding a concurrency slot now."""
        return self._active

    # ------------------------------------------------------------------ submit / cancel
    def check_job(self, model_name: Any, model_type: Any, config: Any) -> None:
        """Raise ValidationError naming every bad field of a job request (name, model type,
        config keys and values); runs before the governance preflight, so a typo is reported
        as a typo and not as a policy refusal."""
        _, problems = self._validate(model_name, model_type, config)
        if problems:
            raise ValidationError("training job", problems)

    async def submit(self, model_name: str, model_type: str, config: dict[str, Any]) -> TrainingJob:
        """Validate, persist as PENDING and queue a job; bad input raises ValidationError and
        stores nothing."""
        if not self._started or self._stopping:
            raise EngineNotRunningError("TrainingExecutor is not started; await start() first")
        parent = otel_context.get_current()
        with span(self.metrics.tracer, "learning.training.submit", model=str(model_name)) as sp:
            job = await self._submit(model_name, model_type, config, parent)
            sp.set_attribute(ATTR_JOB, job.job_id)
            return job

    async def _submit(
        self, model_name: str, model_type: str, config: dict[str, Any], parent: Context
    ) -> TrainingJob:
        request, problems = self._validate(model_name, model_type, config)
        if problems:
            raise ValidationError("training job", problems)
        job = TrainingJob(
            job_id=new_id(),
            model_name=model_name,
            model_type=model_type,
            config=json.loads(json.dumps(config)),
            created_at=self.clock.now(),
            resources={"cpu": float(request.cpu), "gpu": float(request.gpu)},
        )
        trigger = config.get("trigger_id")
        if isinstance(trigger, str):
            job.trigger_id = trigger
        entry = _Entry(job=job, request=request, trace_parent=parent)
        try:
            await self._call_store(self.store.put_record, job_to_record(job, self.clock.now()))
        except Exception as exc:
            raise StoreError(f"could not persist training job for {model_name!r}: {exc}") from exc
        self._jobs[job.job_id] = job
        self._launch(entry)
        return copy_job(job)

    async def cancel(self, job_id: str) -> TrainingJob:
        """Cancel a queued or running job (its process is killed); a finished job is returned
        unchanged."""
        job = self.get_job(job_id)
        entry = self._entries.get(job_id)
        if entry is None or job.status.is_terminal:
            return job
        entry.cancel_requested = True
        if entry.phase == "backend":
            if not await self.backend.cancel(job_id) and entry.phase != "completing":
                self._cancel_task(entry)
        elif entry.phase != "completing":
            self._cancel_task(entry)
        await entry.done.wait()
        return self.get_job(job_id)

    @staticmethod
    def _cancel_task(entry: _Entry) -> None:
        if entry.task is not None and not entry.task.done():
            entry.task.cancel()

    def _validate(
        self, model_name: Any, model_type: Any, config: Any
    ) -> tuple[ResourceRequest, list[FieldProblem]]:
        problems: list[FieldProblem] = []
        if not isinstance(model_name, str) or not _MODEL_NAME_RE.match(model_name):
            problems.append(FieldProblem(
                "model_name", model_name,
                "must be 1-200 characters of letters, digits, '_', '.', '-' starting with a "
                "letter or digit"))
        known_type = isinstance(model_type, str) and model_type in self.trainers
        if not known_type:
            problems.extend(self.trainers.unknown(model_type).problems)
        request = ResourceRequest()
        trainer = self.trainers.get(model_type) if known_type else None
        config_problems = job_config_problems(config, trainer)
        problems.extend(config_problems)
        if not isinstance(config, Mapping):
            return request, problems
        try:
            json.dumps(config, allow_nan=False)
        except (TypeError, ValueError) as exc:
            problems.append(FieldProblem(
                "config", "<not JSON>",
                f"must hold only JSON values (it is stored with the job): {exc}"))
        if "timeout_seconds" in config:
            t = config["timeout_seconds"]
            if (isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t)
                    or t <= 0):
                problems.append(FieldProblem("config.timeout_seconds", t,
                                             "must be a number of seconds > 0"))
        if "max_retries" in config:
            r = config["max_retries"]
            if isinstance(r, bool) or not isinstance(r, int) or r < 0:
                problems.append(FieldProblem("config.max_retries", r, "must be an integer >= 0"))
        request, resource_problems = parse_resource_request(config)
        problems.extend(resource_problems)
        if not resource_problems:
            problems.extend(self._pool.check(request))
        if known_type:
            try:
                problems.extend(self.trainers.validate_config(model_type, config))
            except Exception as exc:
                problems.append(FieldProblem("config", "<trainer validation>", str(exc)))
        return request, problems

    # ------------------------------------------------------------------ scheduling
    def _launch(self, entry: _Entry) -> None:
        self._entries[entry.job.job_id] = entry
        entry.task = asyncio.create_task(self._drive(entry), name=f"training-{entry.job.job_id}")

    async def _admit(self, entry: _Entry) -> None:
        """Wait (FIFO) for a concurrency slot and the job's resources."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry.admit = fut
        entry.phase = "queued"
        job = entry.job
        queued = self.metrics.training_jobs_queued.labels(job.model_name)
        queued.inc()
        with span(self.metrics.tracer, "learning.training.queue", model=job.model_name,
                  job=job.job_id, parent=entry.trace_parent):
            self._queue.append(entry)
            self._pump()
            try:
                await fut
            except asyncio.CancelledError:
                if entry in self._queue:
                    self._queue.remove(entry)
                self._release(entry)
                raise
            finally:
                queued.dec()

    def _pump(self) -> None:
        while self._queue and self._active < self.config.max_concurrent_jobs:
            head = self._queue[0]
            if head.admit is None or head.admit.done():
                self._queue.popleft()
                continue
            assignment = self._pool.try_acquire(head.request)
            if assignment is None:
                break  # strict FIFO: the head waits for its resources, nobody overtakes it
            self._queue.popleft()
            head.assignment = assignment
            self._active += 1
            head.admit.set_result(None)

    def _release(self, entry: _Entry) -> None:
        if entry.assignment is None:
            return
        self._pool.release(entry.assignment)
        entry.assignment = None
        self._active -= 1
        self._pump()

    # ------------------------------------------------------------------ one job
    async def _drive(self, entry: _Entry) -> None:
        job = entry.job
        try:
            await self._lifecycle(entry)
        except asyncio.CancelledError:
            self._release(entry)
            if entry.cancel_requested or not self._stopping:
                await self._finish(entry, TrainingStatus.CANCELLED, "cancelled")
            else:
                job.progress_message = "interrupted by engine shutdown"
                await self._persist(job, force=True)
        except Exception as exc:
            log.exception("training job %s failed inside the executor", job.job_id)
            self._release(entry)
            await self._finish(entry, TrainingStatus.FAILED,
                               f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self._entries.pop(job.job_id, None)
            entry.done.set()

    async def _lifecycle(self, entry: _Entry) -> None:
        job = entry.job
        timeout = float(job.config.get("timeout_seconds",
                                       self.config.training_job_timeout_seconds))
        max_retries = int(job.config.get("max_retries", self.config.training_max_retries))
        while True:
            await self._admit(entry)
            try:
                with span(self.metrics.tracer, "learning.training.run", model=job.model_name,
                          job=job.job_id, parent=entry.trace_parent, attempt=job.attempts + 1):
                    outcome = await self._attempt(entry, timeout)
            except TransientTrainingError as exc:
                self._release(entry)
                if job.attempts > max_retries:
                    await self._finish(
                        entry, TrainingStatus.FAILED,
                        f"failed after {job.attempts} attempt(s); last transient error: {exc}")
                    return
                # Real time: pacing a retry of real work, like an I/O backoff.
                delay = min(self.retry_backoff_seconds * 2 ** (job.attempts - 1),
                            self.retry_backoff_max_seconds)
                job.status = TrainingStatus.PENDING
                job.error_message = f"attempt {job.attempts} failed (transient): {exc}"
                job.progress_message = f"retrying in {delay:g} s"
                entry.phase = "backoff"
                await self._save(entry, force=True)
                await asyncio.sleep(delay)
                continue
            except JobCancelledError:
                self._release(entry)
                await self._finish(entry, TrainingStatus.CANCELLED, "cancelled")
                return
            except (JobTimeoutError, InsufficientDataError, TrainingError) as exc:
                self._release(entry)
                await self._finish(entry, TrainingStatus.FAILED, str(exc))
                return
            except Exception as exc:
                self._release(entry)
                await self._finish(entry, TrainingStatus.FAILED,
                                   f"{type(exc).__name__}: {exc}")
                return
            self._release(entry)
            await self._complete(entry, outcome)
            return

    async def _attempt(self, entry: _Entry, timeout_seconds: float) -> TrainingOutcome:
        job = entry.job
        job.attempts += 1
        job.status = TrainingStatus.RUNNING
        if job.started_at is None:
            job.started_at = self.clock.now()
        job.progress = 0.0
        job.progress_message = f"attempt {job.attempts} started"
        entry.phase = "preparing"
        await self._save(entry, force=True)
        gauge = self.metrics.training_jobs_active.labels(job.model_name)
        gauge.inc()
        self._mark_running(entry, True)
        try:
            if entry.dataset is None and self.dataset_builder is not None:
                self._on_progress(entry, 0.0, "building the dataset")
                entry.dataset = await asyncio.to_thread(self.dataset_builder, copy_job(job))
            payload = TrainingPayload(
                job=copy_job(job),
                trainer_spec=self.trainers.spec(job.model_type),
                dataset=entry.dataset,
                output_dir=str(self._output_dir(job)),
                resources=entry.assignment or ResourceAssignment(),
                attempt=job.attempts,
            )
            entry.phase = "backend"
            if entry.cancel_requested:
                raise JobCancelledError(f"job {job.job_id} cancelled")
            return await self.backend.run(
                payload.job, payload, lambda f, m: self._on_progress(entry, f, m), timeout_seconds)
        finally:
            entry.phase = "completing"
            gauge.dec()
            self._mark_running(entry, False)

    def _mark_running(self, entry: _Entry, running: bool) -> None:
        """Publish the review's training_job_start_time{model_name} (the model's oldest running
        job) and training_gpu_utilization{device} (devices held by running jobs)."""
        job = entry.job
        gpus = entry.assignment.gpus if entry.assignment is not None else ()
        if running:
            started = job.started_at.timestamp() if job.started_at else self.clock.time()
            self._running_since[job.job_id] = (job.model_name, started)
        else:
            self._running_since.pop(job.job_id, None)
        for device in gpus:
            held = max(0, self._gpu_holders.get(device, 0) + (1 if running else -1))
            self._gpu_holders[device] = held
            self.metrics.training_gpu_utilization.labels(str(device)).set(1.0 if held else 0.0)
        starts = [t for m, t in self._running_since.values() if m == job.model_name]
        if starts:
            self.metrics.training_job_start_time.labels(job.model_name).set(min(starts))
        else:
            with contextlib.suppress(KeyError):
                self.metrics.training_job_start_time.remove(job.model_name)

    async def _complete(self, entry: _Entry, outcome: TrainingOutcome) -> None:
        job = entry.job
        job.metrics = {str(k): float(v) for k, v in outcome.metrics.items()}
        job.artifacts_path = outcome.artifact_path
        job.error_message = None
        if self.on_complete is not None:
            self._on_progress(entry, 1.0, "registering the model")
            try:
                with span(self.metrics.tracer, "learning.training.register", model=job.model_name,
                          job=job.job_id, parent=entry.trace_parent) as sp:
                    job.model_version_id = await self.on_complete(copy_job(job), outcome)
                    if job.model_version_id:
                        sp.set_attribute(ATTR_VERSION, job.model_version_id)
            except Exception as exc:
                log.exception("on_complete hook failed for training job %s", job.job_id)
                await self._finish(entry, TrainingStatus.FAILED,
                                   f"trained, but on_complete (registration) failed: "
                                   f"{type(exc).__name__}: {exc}")
                return
        await self._finish(entry, TrainingStatus.COMPLETED, None)

    async def _finish(self, entry: _Entry, status: TrainingStatus, message: str | None) -> None:
        job = entry.job
        job.status = status
        job.completed_at = self.clock.now()
        job.error_message = message
        if status is TrainingStatus.COMPLETED:
            job.progress = 1.0
            job.progress_message = "completed"
        await self._save(entry, force=True)
        self.metrics.training_jobs_total.labels(job.model_name, status.value).inc()
        if job.started_at is not None:
            self.metrics.training_job_duration.labels(job.model_name, job.model_type).observe(
                max(0.0, (job.completed_at - job.started_at).total_seconds()))
        with contextlib.suppress(KeyError):
            self.metrics.training_job_progress.remove(job.job_id)

    def _output_dir(self, job: TrainingJob) -> Path:
        return (self.config.artifacts_dir / "training" / job.job_id).resolve()

    # ------------------------------------------------------------------ progress and records
    def _on_progress(self, entry: _Entry, fraction: float, message: str) -> None:
        job = entry.job
        if job.status.is_terminal:
            return
        job.progress = max(0.0, min(1.0, float(fraction)))
        job.progress_message = message
        self.metrics.training_job_progress.labels(job.job_id).set(job.progress)
        self._notify(job)
        # Real time: throttling store writes of progress is I/O pacing, not a decision.
        now = time.monotonic()
        if now - entry.last_persist >= self.progress_persist_interval_seconds:
            entry.last_persist = now
            self._persist_nowait(job)

    async def _save(self, entry: _Entry, force: bool = False) -> None:
        entry.last_persist = time.monotonic()
        await self._persist(entry.job, force=force)
        self._notify(entry.job)

    def _notify(self, job: TrainingJob) -> None:
        if not self._listeners:
            return
        snapshot = copy_job(job)
        for listener in list(self._listeners):
            try:
                listener(snapshot)
            except Exception:
                log.exception("training progress listener failed")

    async def _persist(self, job: TrainingJob, force: bool = False) -> None:
        """Write the job's record (ordered with every other write of this executor)."""
        fut = self._persist_nowait(job)
        if fut is not None and force:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(fut)

    def _persist_nowait(self, job: TrainingJob) -> Future[None] | None:
        if self._io is None:
            return None
        record = job_to_record(job, self.clock.now())

        def done(f: Future[None]) -> None:
            exc = f.exception()
            if exc is not None:
                self.metrics.event_store_errors_total.labels("put_record").inc()
                log.error("could not persist training job %s: %s", record.key, exc)

        fut = self._io.submit(self.store.put_record, record)
        fut.add_done_callback(done)
        return fut

    async def _call_store(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._io is None:
            raise EngineNotRunningError("TrainingExecutor is not started; await start() first")
        return await asyncio.wrap_future(self._io.submit(fn, *args))
