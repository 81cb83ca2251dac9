"""What a backend ships to a worker and how the worker runs it; the errors backends report.

``run_payload`` is the worker side shared by every backend: it imports the trainer from its
spec, applies the resource assignment (CPU affinity, CUDA_VISIBLE_DEVICES) and calls it.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ordinis.engines.learning.core.errors import InsufficientDataError, TrainingError
from ordinis.engines.learning.core.models import TrainingJob
from ordinis.engines.learning.training.dataset import Dataset
from ordinis.engines.learning.training.resources import ResourceAssignment
from ordinis.engines.learning.training.trainers import (
    TrainingContext,
    TrainingOutcome,
    TransientTrainingError,
    load_trainer,
)


@dataclass(slots=True)
class TrainingPayload:
    """Everything a worker needs for one attempt of a job; picklable."""

    job: TrainingJob
    trainer_spec: str
    dataset: Dataset | None
    output_dir: str
    resources: ResourceAssignment = field(default_factory=ResourceAssignment)
    attempt: int = 1


class JobTimeoutError(TrainingError):
    """The job ran past its timeout and its work was killed."""


class JobCancelledError(TrainingError):
    """The job was cancelled; its work (if started) was killed."""


class WorkerCrashedError(TrainingError):
    """The process running the job died (os._exit, a signal, out of memory)."""


class TrainerFailedError(TrainingError):
    """The trainer raised; ``remote_traceback`` is the worker's traceback."""

    def __init__(self, message: str, remote_traceback: str = "") -> None:
        super().__init__(message)
        self.remote_traceback = remote_traceback


@dataclass(frozen=True, slots=True)
class TrainerFailure:
    """A trainer exception turned into plain data, so it crosses any process boundary."""

    kind: str  # "transient" | "insufficient_data" | "failed"
    message: str
    traceback: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException) -> TrainerFailure:
        kind = (
            "transient" if isinstance(exc, TransientTrainingError)
            else "insufficient_data" if isinstance(exc, InsufficientDataError)
            else "failed"
        )
        message = str(exc) if kind != "failed" else f"{type(exc).__name__}: {exc}"
        return cls(kind, message, "".join(traceback.format_exception(exc)))

    def to_exception(self) -> TrainingError:
        if self.kind == "transient":
            return TransientTrainingError(self.message)
        if self.kind == "insufficient_data":
            return InsufficientDataError(self.message)
        return TrainerFailedError(self.message, self.traceback)


@contextmanager
def _applied(assignment: ResourceAssignment, pin_cpus: bool, apply_env: bool) -> Iterator[None]:
    """Apply CUDA_VISIBLE_DEVICES and CPU affinity (each when asked) for one job, then restore."""
    env = assignment.environment() if apply_env else {}
    saved_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    saved_aff: set[int] | None = None
    if pin_cpus and assignment.cpus and hasattr(os, "sched_setaffinity"):
        saved_aff = os.sched_getaffinity(0)
        cores = sorted(saved_aff)
        os.sched_setaffinity(0, {cores[c % len(cores)] for c in assignment.cpus})
    try:
        yield
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if saved_aff is not None:
            os.sched_setaffinity(0, saved_aff)


def run_payload(
    payload: TrainingPayload,
    progress: Callable[[float, str], None],
    pin_cpus: bool = True,
    apply_env: bool = True,
) -> TrainingOutcome:
    """Run one attempt inside a worker; exceptions propagate to the caller (the worker loop)."""
    trainer = load_trainer(payload.trainer_spec)
    out = Path(payload.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = TrainingContext(
        job=payload.job,
        dataset=payload.dataset,
        config=dict(payload.job.config),
        output_dir=out,
        progress=progress,
        resources=payload.resources,
        attempt=payload.attempt,
    )
    with _applied(payload.resources, pin_cpus, apply_env):
        outcome = trainer.train(ctx)
    if not isinstance(outcome, TrainingOutcome):
        raise TrainingError(
            f"trainer {payload.trainer_spec} returned {type(outcome).__name__}; it must return "
            "a TrainingOutcome"
        )
    return outcome
