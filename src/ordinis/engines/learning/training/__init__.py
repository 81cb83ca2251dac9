"""Training: datasets from events, trainers, backends (local processes, Ray), the executor.

Public names for the engine facade; see docs/training.md.

Names load on first use (PEP 562): importing one light module of this package does not
import the heavy ones.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

if TYPE_CHECKING:
    from ordinis.engines.learning.training.backends import (
        ExecutionBackend,
        LocalProcessBackend,
        RayBackend,
        make_backend,
    )
    from ordinis.engines.learning.training.dataset import (
        Dataset,
        build_signal_dataset,
        events_dataset_builder,
    )
    from ordinis.engines.learning.training.execution import (
        JobCancelledError,
        JobTimeoutError,
        TrainerFailedError,
        TrainingPayload,
        WorkerCrashedError,
    )
    from ordinis.engines.learning.training.executor import TrainingExecutor
    from ordinis.engines.learning.training.job_records import (
        JOB_RECORD_KIND,
        job_from_record,
        job_to_record,
    )
    from ordinis.engines.learning.training.models import SignalModel
    from ordinis.engines.learning.training.resources import (
        ResourceAssignment,
        ResourceCapacity,
        ResourceRequest,
    )
    from ordinis.engines.learning.training.signal_trainer import SignalTrainer
    from ordinis.engines.learning.training.trainers import (
        Trainer,
        TrainerRegistry,
        TrainingContext,
        TrainingLineage,
        TrainingOutcome,
        TransientTrainingError,
    )

_LAZY: dict[str, str] = {
    "ExecutionBackend": "ordinis.engines.learning.training.backends",
    "LocalProcessBackend": "ordinis.engines.learning.training.backends",
    "RayBackend": "ordinis.engines.learning.training.backends",
    "make_backend": "ordinis.engines.learning.training.backends",
    "Dataset": "ordinis.engines.learning.training.dataset",
    "build_signal_dataset": "ordinis.engines.learning.training.dataset",
    "events_dataset_builder": "ordinis.engines.learning.training.dataset",
    "JobCancelledError": "ordinis.engines.learning.training.execution",
    "JobTimeoutError": "ordinis.engines.learning.training.execution",
    "TrainerFailedError": "ordinis.engines.learning.training.execution",
    "TrainingPayload": "ordinis.engines.learning.training.execution",
    "WorkerCrashedError": "ordinis.engines.learning.training.execution",
    "TrainingExecutor": "ordinis.engines.learning.training.executor",
    "JOB_RECORD_KIND": "ordinis.engines.learning.training.job_records",
    "job_from_record": "ordinis.engines.learning.training.job_records",
    "job_to_record": "ordinis.engines.learning.training.job_records",
    "SignalModel": "ordinis.engines.learning.training.models",
    "ResourceAssignment": "ordinis.engines.learning.training.resources",
    "ResourceCapacity": "ordinis.engines.learning.training.resources",
    "ResourceRequest": "ordinis.engines.learning.training.resources",
    "SignalTrainer": "ordinis.engines.learning.training.signal_trainer",
    "Trainer": "ordinis.engines.learning.training.trainers",
    "TrainerRegistry": "ordinis.engines.learning.training.trainers",
    "TrainingContext": "ordinis.engines.learning.training.trainers",
    "TrainingLineage": "ordinis.engines.learning.training.trainers",
    "TrainingOutcome": "ordinis.engines.learning.training.trainers",
    "TransientTrainingError": "ordinis.engines.learning.training.trainers",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "JOB_RECORD_KIND",
    "Dataset",
    "ExecutionBackend",
    "JobCancelledError",
    "JobTimeoutError",
    "LocalProcessBackend",
    "RayBackend",
    "ResourceAssignment",
    "ResourceCapacity",
    "ResourceRequest",
    "SignalModel",
    "SignalTrainer",
    "Trainer",
    "TrainerFailedError",
    "TrainerRegistry",
    "TrainingContext",
    "TrainingExecutor",
    "TrainingLineage",
    "TrainingOutcome",
    "TrainingPayload",
    "TransientTrainingError",
    "WorkerCrashedError",
    "build_signal_dataset",
    "events_dataset_builder",
    "job_from_record",
    "job_to_record",
    "make_backend",
]
