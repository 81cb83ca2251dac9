"""Trainers: the code that turns a dataset into a model, looked up by model type.

The registry maps a model type to an importable ``"module:attr"`` spec (a string, so it
pickles to any worker process or Ray task); the worker imports the trainer from the spec.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ordinis.engines.learning.core.errors import (
    FieldProblem,
    TrainingError,
    ValidationError,
)
from ordinis.engines.learning.core.models import TrainingJob
from ordinis.engines.learning.training.dataset import Dataset
from ordinis.engines.learning.training.resources import ResourceAssignment

SIGNAL_TRAINER_SPEC = "ordinis.engines.learning.training.signal_trainer:SignalTrainer"
_SPEC_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class TransientTrainingError(TrainingError):
    """Raised by a trainer to ask for a retry (a flaky data source, a busy GPU, ...)."""


def _no_progress(fraction: float, message: str) -> None:
    return None


@dataclass(slots=True)
class TrainingContext:
    """What a trainer gets: the job, its dataset and config, where to write, how to report."""

    job: TrainingJob
    dataset: Dataset | None
    config: dict[str, Any]
    output_dir: Path
    progress: Callable[[float, str], None] = _no_progress
    resources: ResourceAssignment = field(default_factory=ResourceAssignment)
    attempt: int = 1

    def require_dataset(self) -> Dataset:
        """The dataset, or a clear error when the executor was not given a dataset builder."""
        if self.dataset is None:
            raise TrainingError(
                f"job {self.job.job_id} (model_type={self.job.model_type!r}) needs a dataset but "
                "none was built: give the TrainingExecutor a dataset_builder"
            )
        return self.dataset


@dataclass(slots=True)
class TrainingLineage(Mapping[str, str]):
    """Where a model came from: the data window, the feature set, the rows, the job.

    Also a read-only ``Mapping[str, str]`` (its ``to_dict()``), the form ModelVersion.lineage
    and MLflow tags take.
    """

    window_start: datetime | None
    window_end: datetime | None
    feature_set: str
    n_samples: int
    data_hash: str = ""
    symbols: tuple[str, ...] = ()
    job_id: str = ""
    feature_set_version: int = 1
    feature_names: tuple[str, ...] = ()
    feature_report: str = ""

    def to_dict(self) -> dict[str, str]:
        """String map, as ModelVersion.lineage and MLflow tags hold it."""
        return {
            "window_start": self.window_start.isoformat() if self.window_start else "",
            "window_end": self.window_end.isoformat() if self.window_end else "",
            "feature_set": self.feature_set,
            "feature_set_version": str(self.feature_set_version),
            "feature_names": ",".join(self.feature_names),
            "feature_report": self.feature_report[:1000],
            "n_samples": str(self.n_samples),
            "data_hash": self.data_hash,
            "symbols": ",".join(self.symbols),
            "job_id": self.job_id,
        }

    def __getitem__(self, key: str) -> str:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


@dataclass(slots=True)
class TrainingOutcome:
    """What a finished trainer hands back: the model, its artifact on disk, metrics, lineage."""

    model: Any
    artifact_path: str
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    lineage: TrainingLineage = field(
        default_factory=lambda: TrainingLineage(None, None, "", 0)
    )
    artifact_sha256: str = ""


@runtime_checkable
class Trainer(Protocol):
    """A trainer of one model type; ``validate_config(config) -> list[FieldProblem]`` optional."""

    model_type: str

    def train(self, ctx: TrainingContext) -> TrainingOutcome: ...


_loaded: dict[str, Trainer] = {}
_loaded_lock = threading.Lock()


def load_trainer(spec: str) -> Trainer:
    """Import ``module:attr`` (a Trainer class or instance), once per process."""
    with _loaded_lock:
        cached = _loaded.get(spec)
        if cached is not None:
            return cached
    if not _SPEC_RE.match(spec):
        raise ValidationError("trainer spec", [FieldProblem(
            "spec", spec, "must be 'package.module:Attribute', e.g. " + SIGNAL_TRAINER_SPEC)])
    module_name, attr = spec.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValidationError("trainer spec", [FieldProblem(
            "spec", spec, f"module {module_name!r} cannot be imported ({exc}); is it on "
            "sys.path / PYTHONPATH of the worker?")]) from None
    obj = getattr(module, attr, None)
    if obj is None:
        raise ValidationError("trainer spec", [FieldProblem(
            "spec", spec, f"module {module_name!r} has no attribute {attr!r}")])
    trainer = obj() if isinstance(obj, type) else obj
    if not callable(getattr(trainer, "train", None)) or not isinstance(
        getattr(trainer, "model_type", None), str
    ):
        raise ValidationError("trainer spec", [FieldProblem(
            "spec", spec, "must name a Trainer: an object (or class) with model_type: str and "
            "train(ctx) -> TrainingOutcome")])
    with _loaded_lock:
        _loaded[spec] = trainer
    return trainer


class TrainerRegistry:
    """Model type -> trainer spec. ``TrainerRegistry.default()`` knows the built-in "signal"."""

    def __init__(self, specs: Mapping[str, str] | None = None) -> None:
        self._specs: dict[str, str] = {}
        for model_type, spec in (specs or {}).items():
            self.register(model_type, spec)

    @classmethod
    def default(cls) -> TrainerRegistry:
        return cls({"signal": SIGNAL_TRAINER_SPEC})

    def register(self, model_type: str, spec: str) -> None:
        """Add or replace the trainer of ``model_type``; the spec is imported now to fail early."""
        if not isinstance(model_type, str) or not model_type.strip():
            raise ValidationError("trainer registration", [FieldProblem(
                "model_type", model_type, "must be a non-empty string")])
        trainer = load_trainer(spec)
        if trainer.model_type != model_type:
            raise ValidationError("trainer registration", [FieldProblem(
                "model_type", model_type,
                f"trainer {spec} declares model_type={trainer.model_type!r}; register it under "
                "that name")])
        self._specs[model_type] = spec

    @property
    def model_types(self) -> tuple[str, ...]:
        return tuple(sorted(self._specs))

    def __contains__(self, model_type: object) -> bool:
        return model_type in self._specs

    def spec(self, model_type: str) -> str:
        """The importable spec of ``model_type``; unknown types get an error listing the known."""
        try:
            return self._specs[model_type]
        except (KeyError, TypeError):
            raise self.unknown(model_type) from None

    def get(self, model_type: str) -> Trainer:
        return load_trainer(self.spec(model_type))

    def unknown(self, model_type: object) -> ValidationError:
        known = ", ".join(self.model_types) or "none registered"
        return ValidationError("training job", [FieldProblem(
            "model_type", model_type,
            f"unknown model type; known: {known} (register a trainer with "
            "engine.register_trainer(model_type, 'module:Trainer'))")])

    def validate_config(self, model_type: str, config: Mapping[str, Any]) -> list[FieldProblem]:
        """The trainer's own config problems (empty when it does not validate)."""
        check = getattr(self.get(model_type), "validate_config", None)
        if check is None:
            return []
        return list(check(config))
