"""RayBackend: each job attempt is a Ray task with declared CPU/GPU resources (the ``ray`` extra).

Ray is imported lazily. Progress travels through one small actor per backend that the
engine polls; cancel and timeout use ``ray.cancel(force=True)``, which kills the task's worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ordinis.engines.learning.core.errors import TrainingError
from ordinis.engines.learning.core.models import TrainingJob
from ordinis.engines.learning.training.execution import (
    JobCancelledError,
    JobTimeoutError,
    TrainerFailure,
    TrainingPayload,
    WorkerCrashedError,
    run_payload,
)
from ordinis.engines.learning.training.resources import ResourceAssignment, ResourceCapacity
from ordinis.engines.learning.training.trainers import TrainingOutcome

log = logging.getLogger(__name__)


class ProgressSink:
    """Ray actor body: holds progress messages of running tasks until the engine drains them."""

    def __init__(self) -> None:
        self._messages: dict[str, list[tuple[float, str]]] = defaultdict(list)

    def push(self, job_id: str, fraction: float, message: str) -> None:
        self._messages[job_id].append((fraction, message))

    def drain(self, job_id: str) -> list[tuple[float, str]]:
        return self._messages.pop(job_id, [])


def ray_task_body(payload: TrainingPayload, sink: Any) -> tuple[str, Any]:
    """What runs inside the Ray task: ("done", outcome) or ("error", TrainerFailure)."""
    import ray

    job_id = payload.job.job_id
    payload.resources = ResourceAssignment(
        cpus=payload.resources.cpus,
        gpus=tuple(int(g) for g in ray.get_gpu_ids()),
    )

    def progress(fraction: float, message: str) -> None:
        sink.push.remote(job_id, max(0.0, min(1.0, float(fraction))), str(message))

    try:
        # Ray owns placement and CUDA_VISIBLE_DEVICES, so the worker applies neither.
        return "done", run_payload(payload, progress, pin_cpus=False, apply_env=False)
    except BaseException as exc:
        return "error", TrainerFailure.from_exception(exc)


class RayBackend:
    """Runs each job attempt as a Ray task on a local or remote Ray cluster."""

    name = "ray"

    def __init__(
        self,
        num_cpus: int | None = None,
        address: str | None = None,
        poll_interval_seconds: float = 0.1,
    ) -> None:
        self.num_cpus = num_cpus
        self.address = address
        self.poll_interval_seconds = poll_interval_seconds
        self._running = False
        self._owns_ray = False
        self._sink: Any = None
        self._remote: Any = None
        self._refs: dict[str, Any] = {}
        self._reasons: dict[str, str] = {}

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Connect to Ray (or start a local instance) and create the progress actor; idempotent."""
        if self._running:
            return
        try:
            import ray
        except ImportError as exc:
            raise TrainingError(
                "training_backend='ray' needs Ray: pip install 'ordinis-learning[ray]'"
            ) from exc
        if not ray.is_initialized():
            ray.init(address=self.address, num_cpus=self.num_cpus, include_dashboard=False,
                     log_to_driver=True)
            self._owns_ray = True
        self._sink = ray.remote(num_cpus=0)(ProgressSink).remote()
        self._remote = ray.remote(ray_task_body)
        self._running = True

    def stop(self) -> None:
        """Cancel running tasks, drop the progress actor, shut Ray down if this backend started."""
        if not self._running:
            return
        import ray

        self._running = False
        for job_id, ref in list(self._refs.items()):
            self._reasons[job_id] = "stopped"
            ray.cancel(ref, force=True)
        if self._sink is not None:
            ray.kill(self._sink)
            self._sink = None
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False

    def capacity(self) -> ResourceCapacity:
        """CPUs and GPUs of the Ray cluster (the executor sizes its resource pool from it)."""
        import ray

        if not self._running:
            self.start()
        res = ray.cluster_resources()
        return ResourceCapacity(
            cpu_slots=int(res.get("CPU", 0)),
            gpu_devices=tuple(range(int(res.get("GPU", 0)))),
        )

    async def run(
        self,
        job: TrainingJob,
        payload: TrainingPayload,
        on_progress: Callable[[float, str], None],
        timeout_seconds: float,
    ) -> TrainingOutcome:
        """Run one attempt as a Ray task; raises the job's failure as a TrainingError."""
        import ray
        from ray import exceptions as rex

        if not self._running:
            raise TrainingError("training backend is not started; call start() first")
        if job.job_id in self._refs:
            raise TrainingError(f"job {job.job_id} is already running on this backend")
        res = payload.resources
        ref = self._remote.options(
            num_cpus=res.num_cpus, num_gpus=res.num_gpus, max_retries=0, retry_exceptions=False,
            name=f"train:{job.model_name}:{job.job_id}",
        ).remote(payload, self._sink)
        self._refs[job.job_id] = ref
        self._reasons.pop(job.job_id, None)
        loop = asyncio.get_running_loop()
        done = asyncio.wrap_future(ref.future())
        deadline = loop.time() + timeout_seconds  # real time: a kill timeout, not a decision
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    self._reasons[job.job_id] = "timeout"
                    ray.cancel(ref, force=True)
                    raise JobTimeoutError(f"timed out after {timeout_seconds:g} s")
                finished, _ = await asyncio.wait(
                    {done}, timeout=min(self.poll_interval_seconds, remaining))
                await self._forward_progress(job.job_id, on_progress)
                if finished:
                    break
            try:
                kind, value = done.result()
            except rex.TaskCancelledError:
                reason = self._reasons.get(job.job_id)
                if reason == "stopped":
                    raise TrainingError("training backend stopped while the job was running"
                                        ) from None
                raise JobCancelledError(f"job {job.job_id} cancelled") from None
            except (rex.WorkerCrashedError, rex.NodeDiedError, rex.OutOfMemoryError) as exc:
                raise WorkerCrashedError(
                    f"ray worker died while training: {type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
            except rex.RayError as exc:
                raise TrainingError(f"ray task failed: {type(exc).__name__}: {exc}") from None
            if kind == "error":
                raise value.to_exception()
            if not isinstance(value, TrainingOutcome):
                raise TrainingError(f"ray task returned {type(value).__name__}, not an outcome")
            return value
        except asyncio.CancelledError:
            ray.cancel(ref, force=True)
            raise
        finally:
            if not done.done():  # retrieve the late TaskCancelledError so nobody logs it
                done.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._refs.pop(job.job_id, None)
            self._reasons.pop(job.job_id, None)

    async def _forward_progress(self, job_id: str, on_progress: Callable[[float, str], None]
                                ) -> None:
        try:
            messages = await self._sink.drain.remote(job_id)
        except Exception:
            log.debug("could not drain progress of job %s", job_id, exc_info=True)
            return
        for fraction, message in messages:
            try:
                on_progress(fraction, message)
            except Exception:
                log.exception("progress callback of job %s failed", job_id)

    async def cancel(self, job_id: str) -> bool:
        """Force-cancel the job's Ray task (killing its worker); False when not running here."""
        import ray

        ref = self._refs.get(job_id)
        if ref is None:
            return False
        self._reasons[job_id] = "cancelled"
        ray.cancel(ref, force=True)
        return True
