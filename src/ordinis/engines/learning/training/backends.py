"""Where training jobs run: the ExecutionBackend protocol and its two implementations.

``LocalProcessBackend`` (default) keeps warm worker processes on this machine;
``RayBackend`` (the ``ray`` extra) runs each job as a Ray task. Both pass
``tests/training/test_backend_contract.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import TrainingJob
from ordinis.engines.learning.training.execution import (
    JobCancelledError,
    JobTimeoutError,
    TrainerFailedError,
    TrainingPayload,
    WorkerCrashedError,
)
from ordinis.engines.learning.training.local_backend import LocalProcessBackend
from ordinis.engines.learning.training.ray_backend import RayBackend
from ordinis.engines.learning.training.resources import ResourceCapacity
from ordinis.engines.learning.training.trainers import TrainingOutcome

__all__ = [
    "ExecutionBackend",
    "JobCancelledError",
    "JobTimeoutError",
    "LocalProcessBackend",
    "RayBackend",
    "TrainerFailedError",
    "TrainingPayload",
    "WorkerCrashedError",
    "make_backend",
]


@runtime_checkable
class ExecutionBackend(Protocol):
    """Runs one attempt of a training job somewhere the engine cannot be hurt by it.

    ``run`` returns the trainer's outcome or raises a TrainingError: JobTimeoutError (the work
    was killed), JobCancelledError, WorkerCrashedError, TransientTrainingError,
    InsufficientDataError or TrainerFailedError (the trainer raised).
    """

    name: str

    @property
    def running(self) -> bool: ...

    def start(self) -> None:
        """Acquire workers / connect; idempotent."""
        ...

    def stop(self) -> None:
        """Kill what runs, release everything; idempotent."""
        ...

    def capacity(self) -> ResourceCapacity:
        """CPU slots and GPU ids the executor may hand out."""
        ...

    async def run(
        self,
        job: TrainingJob,
        payload: TrainingPayload,
        on_progress: Callable[[float, str], None],
        timeout_seconds: float,
    ) -> TrainingOutcome: ...

    async def cancel(self, job_id: str) -> bool:
        """Stop the job's work (waiting or running); False when the backend does not know it."""
        ...


def make_backend(config: LearningEngineConfig) -> ExecutionBackend:
    """The backend named by ``config.training_backend``, sized by ``max_concurrent_jobs``."""
    if config.training_backend == "ray":
        return RayBackend()
    return LocalProcessBackend(max_workers=config.max_concurrent_jobs)
