"""Training: datasets from events, trainers, backends (local processes, Ray), the executor.

Public names for the engine facade; see docs/training.md.
"""

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
