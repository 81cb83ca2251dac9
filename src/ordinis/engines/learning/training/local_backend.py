"""LocalProcessBackend: a pool of warm worker processes fed over pipes.

Workers are spawned once with numpy, pandas, scikit-learn and LightGBM preloaded, so a job
starts in milliseconds. A job that crashes its worker, hangs past its timeout or is cancelled
costs only that process: it is killed (SIGKILL) and replaced; the engine never goes down.
The pool is driven by one reader thread per worker and can serve several event loops.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ordinis.engines.learning.core.errors import TrainingError
from ordinis.engines.learning.core.models import TrainingJob
from ordinis.engines.learning.training.execution import (
    JobCancelledError,
    JobTimeoutError,
    TrainerFailure,
    TrainingPayload,
    WorkerCrashedError,
)
from ordinis.engines.learning.training.resources import ResourceCapacity
from ordinis.engines.learning.training.trainers import TrainingOutcome

log = logging.getLogger(__name__)

DEFAULT_PRELOAD: tuple[str, ...] = (
    "numpy",
    "pandas",
    "joblib",
    "sklearn.linear_model",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.metrics",
    "lightgbm",
    "ordinis.engines.learning.training.signal_trainer",
)
# How much lower than the engine the training workers run (POSIX nice increment): training
# yields the CPU to the engine's hot path, so warming a worker's imports at start does not
# halve the event throughput. The worker nices itself first thing (no preexec_fn: not
# thread-safe in the parent).
WORKER_NICENESS = 10
_WORKER_BOOT = (
    "import os, contextlib\n"
    f"with contextlib.suppress(OSError): os.nice({WORKER_NICENESS})\n"
    "from ordinis.engines.learning.training.local_worker import main; main()"
)
_MAX_STARTUP_FAILURES = 3
_BIG_PAYLOAD_BYTES = 1 << 20
_live_backends: weakref.WeakSet[LocalProcessBackend] = weakref.WeakSet()


@atexit.register
def _kill_workers_at_exit() -> None:
    for backend in list(_live_backends):
        backend.stop(timeout=1.0)


def _reap(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    """Wait (real time: OS pacing, not a decision) for a process to end; its exit code or None."""
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and every process it started (its process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        with contextlib.suppress(OSError, ValueError):
            process.kill()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass(eq=False, slots=True)
class _Job:
    """One job inside the backend: waiting for a worker, then running on one."""

    job_id: str
    loop: asyncio.AbstractEventLoop
    on_progress: Callable[[float, str], None]
    timeout: float
    waiting: asyncio.Future[_Worker]
    result: asyncio.Future[TrainingOutcome]
    worker: _Worker | None = None
    kill_reason: str | None = None
    sent: bool = False
    cancel_requested: bool = False


@dataclass(eq=False, slots=True)
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    index: int
    pid: int = 0
    sentinel: int | None = None
    ready: bool = False
    dead: bool = False
    killing: bool = False
    job: _Job | None = None
    thread: threading.Thread | None = field(default=None)


def _post(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    """Schedule ``fn(*args)`` on ``loop`` from any thread; a closed loop has nobody to tell."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(fn, *args)


def _settle(fut: asyncio.Future[Any], value: Any = None, exc: BaseException | None = None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)


class LocalProcessBackend:
    """Runs each job in a warm worker process of a pool of ``max_workers``."""

    name = "local"

    def __init__(
        self,
        max_workers: int = 2,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        pin_cpus: bool = True,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers={max_workers!r}: must be >= 1")
        self.max_workers = max_workers
        self.preload = tuple(preload)
        self.pin_cpus = pin_cpus
        self._lock = threading.RLock()
        self._ready_changed = threading.Condition(self._lock)
        self._workers: list[_Worker] = []
        self._idle: deque[_Worker] = deque()
        self._waiting: deque[_Job] = deque()
        self._jobs: dict[str, _Job] = {}
        self._running = False
        self._counter = itertools.count()
        self._startup_failures = 0
        self._broken: str | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Spawn the pool (idempotent). Workers import their libraries in the background."""
        with self._lock:
            if self._running:
                return
            self._running = True
            self._broken = None
            self._startup_failures = 0
            for _ in range(self.max_workers):
                self._spawn()
        _live_backends.add(self)

    def stop(self, timeout: float = 5.0) -> None:
        """Fail waiting jobs, kill running ones, let idle workers exit, join everything."""
        with self._lock:
            if not self._running and not self._workers:
                return
            self._running = False
            waiting = list(self._waiting)
            self._waiting.clear()
            workers = list(self._workers)
            for w in workers:
                if w.job is not None and not w.dead:
                    w.job.kill_reason = "stopped"
                    w.killing = True
        for job in waiting:
            _post(job.loop, _settle, job.waiting, None, TrainingError("training backend stopped"))
        for w in workers:
            try:
                if w.killing:
                    _kill_group(w.process)
                else:
                    w.conn.send(None)
            except (OSError, ValueError):
                pass
        for w in workers:
            # An idle worker holds no job: a short grace, then it is killed (one still
            # importing its preload would otherwise hold the engine's shutdown for seconds).
            grace = timeout if w.killing else min(timeout, 0.5)
            if _reap(w.process, grace) is None:
                _kill_group(w.process)
                _reap(w.process, 1.0)
            if w.thread is not None and w.thread is not threading.current_thread():
                w.thread.join(timeout)
        _live_backends.discard(self)

    # ------------------------------------------------------------------ pool internals
    def _spawn(self) -> None:
        """Start one worker process. Lock held."""
        parent_sock, child_sock = socket.socketpair()
        index = next(self._counter)
        env = dict(os.environ)
        # The worker sees the modules this process sees (test trainers, plugins, ...).
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", _WORKER_BOOT, str(child_sock.fileno()), str(os.getpid()),
                 ",".join(self.preload), "1" if self.pin_cpus else "0"],
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # its own process group: a kill takes its children too
            )
        finally:
            child_sock.close()
        conn = Connection(parent_sock.detach())
        try:
            sentinel: int | None = os.pidfd_open(process.pid)
        except (AttributeError, OSError):
            sentinel = None  # no pidfd: the pipe's EOF alone tells that the worker died
        worker = _Worker(process=process, conn=conn, index=index, pid=process.pid,
                         sentinel=sentinel)
        worker.thread = threading.Thread(
            target=self._read_loop, args=(worker,), name=f"ordinis-training-worker-{index}",
            daemon=True,
        )
        self._workers.append(worker)
        worker.thread.start()

    def _read_loop(self, w: _Worker) -> None:
        watched: list[Any] = [w.conn] if w.sentinel is None else [w.conn, w.sentinel]
        while True:
            try:
                ready = wait(watched)
            except OSError:
                break
            if w.conn in ready:
                try:
                    msg = w.conn.recv()
                except (EOFError, OSError):
                    break
                self._on_message(w, msg)
                continue
            if not w.conn.poll():
                break
        self._on_death(w)

    def _on_message(self, w: _Worker, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "ready":
            with self._lock:
                w.ready = True
                self._startup_failures = 0
                self._offer(w)
                self._ready_changed.notify_all()
            return
        with self._lock:
            job = w.job
        if job is None or job.job_id != msg[1]:
            return
        if kind == "progress":
            _post(job.loop, self._progress, job, msg[2], msg[3])
            return
        with self._lock:
            w.job = None
            self._jobs.pop(job.job_id, None)
            reusable = not w.killing and self._running
            if reusable:
                self._offer(w)
        if kind == "done":
            _post(job.loop, _settle, job.result, msg[2], None)
        else:
            failure: TrainerFailure = msg[2]
            _post(job.loop, _settle, job.result, None, failure.to_exception())

    @staticmethod
    def _progress(job: _Job, fraction: float, message: str) -> None:
        if not job.result.done():
            try:
                job.on_progress(fraction, message)
            except Exception:
                log.exception("progress callback of job %s failed", job.job_id)

    def _on_death(self, w: _Worker) -> None:
        code = _reap(w.process, 1.0)
        if w.sentinel is not None:
            os.close(w.sentinel)
            w.sentinel = None
        with self._lock:
            w.dead = True
            if w in self._workers:
                self._workers.remove(w)
            if w in self._idle:
                self._idle.remove(w)
            job = w.job
            w.job = None
            if job is not None:
                self._jobs.pop(job.job_id, None)
            if not w.ready and job is None and not w.killing:
                self._startup_failures += 1
            respawn = self._running and self._broken is None
            if self._startup_failures >= _MAX_STARTUP_FAILURES:
                self._broken = (
                    f"training worker processes die while starting ({_describe_exit(code)}); "
                    f"check that the preload modules {list(self.preload)} import cleanly"
                )
                respawn = False
                for waiting in list(self._waiting):
                    _post(waiting.loop, _settle, waiting.waiting, None, TrainingError(self._broken))
                self._waiting.clear()
            if respawn:
                try:
                    self._spawn()
                except Exception:
                    log.exception("could not respawn a training worker")
        with contextlib.suppress(OSError):
            w.conn.close()
        if job is None:
            return
        if job.kill_reason == "timeout":
            exc: TrainingError = JobTimeoutError(f"timed out after {job.timeout:g} s")
        elif job.kill_reason == "cancelled":
            exc = JobCancelledError(f"job {job.job_id} cancelled")
        elif job.kill_reason == "stopped":
            exc = TrainingError("training backend stopped while the job was running")
        else:
            exc = WorkerCrashedError(
                f"worker process {w.pid} died while training ({_describe_exit(code)})"
            )
        _post(job.loop, _settle, job.result, None, exc)

    def _offer(self, w: _Worker) -> None:
        """Give a ready worker to the first waiting job, or park it idle. Lock held."""
        if w.dead or not w.ready or w.job is not None:
            return
        while self._waiting:
            job = self._waiting.popleft()
            if job.waiting.done():
                continue
            w.job = job
            job.worker = w
            _post(job.loop, self._deliver, job, w)
            return
        if w not in self._idle:
            self._idle.append(w)

    def _deliver(self, job: _Job, w: _Worker) -> None:
        if job.waiting.done():  # cancelled meanwhile: hand the worker on
            with self._lock:
                if w.job is job:
                    w.job = None
                    job.worker = None
                    self._offer(w)
            return
        job.waiting.set_result(w)

    def _kill(self, job: _Job, reason: str) -> bool:
        with self._lock:
            w = job.worker
            if w is None or w.job is not job or w.dead or w.killing:
                return False
            job.kill_reason = reason
            w.killing = True
        with contextlib.suppress(OSError, ValueError):
            _kill_group(w.process)
        return True

    # ------------------------------------------------------------------ public API
    async def run(
        self,
        job: TrainingJob,
        payload: TrainingPayload,
        on_progress: Callable[[float, str], None],
        timeout_seconds: float,
    ) -> TrainingOutcome:
        """Run one attempt in a worker process; raises the job's failure as a TrainingError."""
        loop = asyncio.get_running_loop()
        try:
            data = bytes(ForkingPickler.dumps(("run", payload)))
        except Exception as exc:
            raise TrainingError(f"job {job.job_id}: the payload cannot be pickled: {exc}") from exc
        handle = _Job(job.job_id, loop, on_progress, timeout_seconds,
                      loop.create_future(), loop.create_future())
        with self._lock:
            if not self._running:
                raise TrainingError("training backend is not started; call start() first")
            if self._broken:
                raise TrainingError(self._broken)
            if job.job_id in self._jobs:
                raise TrainingError(f"job {job.job_id} is already running on this backend")
            self._jobs[job.job_id] = handle
            self._waiting.append(handle)
            while self._idle and not handle.waiting.done() and handle.worker is None:
                self._offer(self._idle.popleft())
        try:
            try:
                worker = await handle.waiting
            except BaseException:
                with self._lock:
                    if handle in self._waiting:
                        self._waiting.remove(handle)
                    self._jobs.pop(job.job_id, None)
                    w = handle.worker
                    if w is not None and w.job is handle:  # delivered but not taken
                        w.job = None
                        self._offer(w)
                raise
            with self._lock:
                if handle.cancel_requested:
                    if worker.job is handle:
                        worker.job = None
                        self._offer(worker)
                    raise JobCancelledError(f"job {job.job_id} cancelled")
                handle.sent = True
            try:
                if len(data) > _BIG_PAYLOAD_BYTES:
                    await asyncio.to_thread(worker.conn.send_bytes, data)
                else:
                    worker.conn.send_bytes(data)
            except (OSError, ValueError):
                pass  # the worker died; its reader thread reports the crash on handle.result
            timer = loop.call_later(timeout_seconds, self._kill, handle, "timeout")
            try:
                return await handle.result
            finally:
                timer.cancel()
        except asyncio.CancelledError:
            self._kill(handle, "cancelled")
            raise

    async def cancel(self, job_id: str) -> bool:
        """Cancel a waiting job, or kill the process of a running one; False if unknown here."""
        with self._lock:
            handle = self._jobs.get(job_id)
            if handle is None:
                return False
            if not handle.sent:
                handle.cancel_requested = True
                self._jobs.pop(job_id, None)
                if handle in self._waiting:
                    self._waiting.remove(handle)
                _post(handle.loop, _settle, handle.waiting, None,
                      JobCancelledError(f"job {job_id} cancelled"))
                return True
        return self._kill(handle, "cancelled")

    def capacity(self) -> ResourceCapacity:
        """This machine's cores and visible GPUs (slot ids wrap onto cores when pinning)."""
        return ResourceCapacity.of_this_machine()

    def worker_pids(self) -> list[int]:
        """Pids of the live workers (for health checks and tests)."""
        with self._lock:
            return [w.pid for w in self._workers if not w.dead]

    def ready_workers(self) -> int:
        with self._lock:
            return sum(1 for w in self._workers if w.ready and not w.dead)

    def wait_ready(self, workers: int | None = None, timeout: float | None = None) -> bool:
        """Block until ``workers`` (default all) workers have warmed up; False on timeout."""
        need = self.max_workers if workers is None else workers
        with self._ready_changed:
            return self._ready_changed.wait_for(lambda: self.ready_workers() >= need, timeout)
