"""Trainers that misbehave on purpose, for tests, benchmarks and drills of the executor.

They live under tests/ (never shipped); tests/training/conftest.py puts this folder on the
PYTHONPATH of worker processes and Ray tasks. ``time.sleep`` here simulates work.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ordinis.engines.learning.core.errors import FieldProblem
from ordinis.engines.learning.training.trainers import (
    TrainerRegistry,
    TrainingContext,
    TrainingLineage,
    TrainingOutcome,
    TransientTrainingError,
)

_MODULE = "testing_trainers"


def _outcome(ctx: TrainingContext, model: Any, **metrics: float) -> TrainingOutcome:
    path = Path(ctx.output_dir) / "model.txt"
    path.write_text(repr(model), encoding="utf-8")
    return TrainingOutcome(
        model=model,
        artifact_path=str(path),
        metrics=dict(metrics),
        params=dict(ctx.config),
        lineage=TrainingLineage(None, None, "none", 0, job_id=ctx.job.job_id),
    )


class SleepTrainer:
    """Works for config["seconds"] (default 0), reporting progress in config["steps"] steps.

    With config["child"] true it first starts a child process that sleeps a minute (its pid in
    ``output_dir/child_pid``), to show that killing the job kills what it started.
    """

    model_type = "test_sleep"

    def validate_config(self, config: Mapping[str, Any]) -> list[FieldProblem]:
        s = config.get("seconds", 0)
        if isinstance(s, bool) or not isinstance(s, int | float) or s < 0:
            return [FieldProblem("config.seconds", s, "must be a number >= 0")]
        return []

    def train(self, ctx: TrainingContext) -> TrainingOutcome:
        (Path(ctx.output_dir) / "pid").write_text(str(os.getpid()), encoding="utf-8")
        if ctx.config.get("child"):
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            (Path(ctx.output_dir) / "child_pid").write_text(str(child.pid), encoding="utf-8")
        seconds = float(ctx.config.get("seconds", 0.0))
        steps = int(ctx.config.get("steps", 4))
        for i in range(steps):
            if seconds:
                time.sleep(seconds / steps)
            ctx.progress((i + 1) / steps, f"step {i + 1}/{steps}")
        env = {
            "pid": float(os.getpid()),
            "n_cpus_assigned": float(ctx.resources.num_cpus),
            "attempt": float(ctx.attempt),
        }
        model = {
            "slept": seconds,
            "cpus": list(ctx.resources.cpus),
            "gpus": list(ctx.resources.gpus),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        }
        return _outcome(ctx, model, **env)


class CrashTrainer:
    """Kills its own process: config["mode"] "exit" (os._exit(1), default) or "segfault"."""

    model_type = "test_crash"

    def train(self, ctx: TrainingContext) -> TrainingOutcome:
        (Path(ctx.output_dir) / "pid").write_text(str(os.getpid()), encoding="utf-8")
        ctx.progress(0.1, "about to crash")
        if ctx.config.get("mode") == "segfault":
            ctypes.string_at(0)
        os._exit(1)


class FailTrainer:
    """Raises ValueError(config["message"]) after reporting some progress."""

    model_type = "test_fail"

    def train(self, ctx: TrainingContext) -> TrainingOutcome:
        ctx.progress(0.5, "about to fail")
        raise ValueError(str(ctx.config.get("message", "deliberate failure")))


class FlakyTrainer:
    """Raises TransientTrainingError until attempt config["succeed_on_attempt"] (default 2)."""

    model_type = "test_flaky"

    def train(self, ctx: TrainingContext) -> TrainingOutcome:
        if ctx.attempt < int(ctx.config.get("succeed_on_attempt", 2)):
            raise TransientTrainingError(f"flaky data source (attempt {ctx.attempt})")
        return _outcome(ctx, {"attempt": ctx.attempt}, attempt=float(ctx.attempt))


class UnpicklableTrainer:
    """Returns a model that cannot be pickled back to the engine."""

    model_type = "test_unpicklable"

    def train(self, ctx: TrainingContext) -> TrainingOutcome:
        return _outcome(ctx, lambda x: x)


TEST_TRAINER_SPECS: dict[str, str] = {
    "test_sleep": f"{_MODULE}:SleepTrainer",
    "test_crash": f"{_MODULE}:CrashTrainer",
    "test_fail": f"{_MODULE}:FailTrainer",
    "test_flaky": f"{_MODULE}:FlakyTrainer",
    "test_unpicklable": f"{_MODULE}:UnpicklableTrainer",
}


def make_testing_registry() -> TrainerRegistry:
    """The default registry ("signal") plus every test trainer."""
    registry = TrainerRegistry.default()
    for model_type, spec in TEST_TRAINER_SPECS.items():
        registry.register(model_type, spec)
    return registry
