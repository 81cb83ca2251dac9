"""Resource slots of training jobs: what a job asks for, what it is given, and the pool that gives.

A job declares ``config["resources"] = {"cpu": 1, "gpu": 0}``; the executor reserves CPU slots
and GPU device ids here and hands the assignment to the backend (local workers pin the CPUs
and export CUDA_VISIBLE_DEVICES; Ray maps it to task resources).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ordinis.engines.learning.core.errors import FieldProblem


@dataclass(frozen=True, slots=True)
class ResourceRequest:
    """What a job asks for: whole CPU slots and whole GPUs."""

    cpu: int = 1
    gpu: int = 0


@dataclass(frozen=True, slots=True)
class ResourceAssignment:
    """What a job was given: CPU slot ids (core indices) and GPU device ids."""

    cpus: tuple[int, ...] = ()
    gpus: tuple[int, ...] = ()

    @property
    def num_cpus(self) -> int:
        return len(self.cpus)

    @property
    def num_gpus(self) -> int:
        return len(self.gpus)

    def environment(self) -> dict[str, str]:
        """Environment a local worker exports while running the job."""
        return {"CUDA_VISIBLE_DEVICES": ",".join(str(g) for g in self.gpus)}


@dataclass(frozen=True, slots=True)
class ResourceCapacity:
    """What a backend can run at once: CPU slots and GPU device ids."""

    cpu_slots: int
    gpu_devices: tuple[int, ...] = ()

    @classmethod
    def of_this_machine(cls) -> ResourceCapacity:
        """The cores this process may use and the GPUs it can see."""
        if hasattr(os, "sched_getaffinity"):
            cores = len(os.sched_getaffinity(0))
        else:
            cores = os.cpu_count() or 1
        return cls(cpu_slots=cores, gpu_devices=tuple(detect_gpus()))


@dataclass(slots=True)
class ResourcePool:
    """CPU slots and GPU devices of this machine; ``try_acquire`` reserves, ``release`` returns."""

    cpu_slots: tuple[int, ...]
    gpu_devices: tuple[int, ...] = ()
    _free_cpus: list[int] = field(default_factory=list)
    _free_gpus: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._free_cpus = list(self.cpu_slots)
        self._free_gpus = list(self.gpu_devices)

    @classmethod
    def of(cls, capacity: ResourceCapacity) -> ResourcePool:
        """A pool with slot ids 0..cpu_slots-1 and the capacity's GPU ids."""
        return cls(cpu_slots=tuple(range(capacity.cpu_slots)), gpu_devices=capacity.gpu_devices)

    def check(self, request: ResourceRequest) -> list[FieldProblem]:
        """Problems of a request this pool can never satisfy."""
        problems: list[FieldProblem] = []
        if request.cpu > len(self.cpu_slots):
            problems.append(FieldProblem(
                "config.resources.cpu", request.cpu,
                f"more CPU slots than the executor has ({len(self.cpu_slots)}); ask for at most "
                f"{len(self.cpu_slots)}",
            ))
        if request.gpu > len(self.gpu_devices):
            problems.append(FieldProblem(
                "config.resources.gpu", request.gpu,
                f"more GPUs than this machine has ({len(self.gpu_devices)} visible"
                f"{': ' + str(list(self.gpu_devices)) if self.gpu_devices else ''}); "
                "ask for fewer or run on a machine (or Ray cluster) with GPUs",
            ))
        return problems

    def try_acquire(self, request: ResourceRequest) -> ResourceAssignment | None:
        """Reserve the request now, or return None when it does not fit yet."""
        if request.cpu > len(self._free_cpus) or request.gpu > len(self._free_gpus):
            return None
        cpus = tuple(self._free_cpus[: request.cpu])
        gpus = tuple(self._free_gpus[: request.gpu])
        del self._free_cpus[: request.cpu]
        del self._free_gpus[: request.gpu]
        return ResourceAssignment(cpus=cpus, gpus=gpus)

    def release(self, assignment: ResourceAssignment) -> None:
        self._free_cpus.extend(c for c in assignment.cpus if c not in self._free_cpus)
        self._free_cpus.sort()
        self._free_gpus.extend(g for g in assignment.gpus if g not in self._free_gpus)
        self._free_gpus.sort()

    @property
    def free_cpus(self) -> int:
        return len(self._free_cpus)

    @property
    def free_gpus(self) -> int:
        return len(self._free_gpus)


def detect_gpus() -> list[int]:
    """Visible NVIDIA GPU ids: from CUDA_VISIBLE_DEVICES when set, else ``nvidia-smi -L``."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [int(x) for x in env.split(",") if x.strip().isdigit()]
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return [i for i, line in enumerate(out.stdout.splitlines()) if line.startswith("GPU ")]


def parse_resource_request(config: Mapping[str, Any]) -> tuple[ResourceRequest, list[FieldProblem]]:
    """Read ``config["resources"]`` ({"cpu": int >= 0, "gpu": int >= 0}); default one CPU."""
    raw = config.get("resources")
    if raw is None:
        return ResourceRequest(), []
    if not isinstance(raw, Mapping):
        return ResourceRequest(), [FieldProblem(
            "config.resources", raw, 'must be a mapping like {"cpu": 1, "gpu": 0}')]
    problems: list[FieldProblem] = []
    unknown = sorted(set(map(str, raw)) - {"cpu", "gpu"})
    if unknown:
        problems.append(FieldProblem(
            "config.resources", unknown, "unknown resource(s); known: cpu, gpu"))
    values: dict[str, int] = {"cpu": 1, "gpu": 0}
    for key in ("cpu", "gpu"):
        if key not in raw:
            continue
        v = raw[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0 or int(v) != v:
            problems.append(FieldProblem(
                f"config.resources.{key}", v, "must be a whole number >= 0"))
        else:
            values[key] = int(v)
    return ResourceRequest(cpu=values["cpu"], gpu=values["gpu"]), problems
