"""Concurrency: never more than max_concurrent_jobs (or CPU slots) at once, FIFO admission.

Start and end of every job are recorded in the parent (from the executor's listener) over
hypothesis-generated mixes of short, long, failing and crashing jobs.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testing_trainers import make_testing_registry

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import TrainingJob, TrainingStatus
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.training.executor import TrainingExecutor
from ordinis.engines.learning.training.local_backend import LocalProcessBackend

KINDS = {
    "short": ("test_sleep", {"seconds": 0.02, "steps": 1}, TrainingStatus.COMPLETED),
    "long": ("test_sleep", {"seconds": 0.25, "steps": 2}, TrainingStatus.COMPLETED),
    "fail": ("test_fail", {}, TrainingStatus.FAILED),
    "crash": ("test_crash", {}, TrainingStatus.FAILED),
}


@pytest.fixture(scope="module")
def light_backend() -> Iterator[LocalProcessBackend]:
    """Three workers without heavy preloads: more workers than any limit tested here."""
    backend = LocalProcessBackend(max_workers=3, preload=(), pin_cpus=False)
    backend.start()
    yield backend
    backend.stop()


class Recorder:
    """Tracks, in the parent, which jobs are running after every reported change."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.max_running = 0
        self.start_order: list[str] = []
        self.final: dict[str, TrainingStatus] = {}

    def __call__(self, job: TrainingJob) -> None:
        if job.status is TrainingStatus.RUNNING:
            if job.job_id not in self.running and job.job_id not in self.start_order:
                self.start_order.append(job.job_id)
            self.running.add(job.job_id)
        else:
            self.running.discard(job.job_id)
            if job.status.is_terminal:
                self.final[job.job_id] = job.status
        self.max_running = max(self.max_running, len(self.running))


async def _scenario(backend: LocalProcessBackend, kinds: list[str], limit: int,
                    cpu_slots: int, cpu_per_job: int) -> tuple[Recorder, list[str], int]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteEventStore(f"sqlite:///{Path(tmp) / 'e.db'}")
        store.open()
        cfg = LearningEngineConfig.create(data_dir=Path(tmp), max_concurrent_jobs=limit)
        ex = TrainingExecutor(cfg, store, SimulatedClock(), LearningMetrics(), backend,
                              make_testing_registry(), cpu_slots=cpu_slots)
        rec = Recorder()
        peak_active = 0

        def watch(job: TrainingJob) -> None:
            nonlocal peak_active
            peak_active = max(peak_active, ex.active_jobs)

        ex.add_progress_listener(rec)
        ex.add_progress_listener(watch)
        await ex.start()
        try:
            ids = []
            for kind in kinds:
                model_type, config = KINDS[kind][0], dict(KINDS[kind][1])
                config["resources"] = {"cpu": cpu_per_job}
                ids.append((await ex.submit("m", model_type, config)).job_id)
            for job_id in ids:
                await ex.wait(job_id, timeout=120)
        finally:
            await ex.stop()
            store.close()
        return rec, ids, peak_active


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=7),
       limit=st.integers(1, 2))
def test_never_more_than_max_concurrent_jobs(light_backend: LocalProcessBackend,
                                             kinds: list[str], limit: int) -> None:
    rec, ids, peak = asyncio.run(_scenario(light_backend, kinds, limit, cpu_slots=4,
                                           cpu_per_job=1))
    assert rec.max_running <= limit
    assert peak <= limit
    assert rec.start_order == ids  # FIFO
    assert [rec.final[i] for i in ids] == [KINDS[k][2] for k in kinds]
    assert not rec.running


def test_cpu_slots_limit_below_max_concurrent_jobs(light_backend: LocalProcessBackend) -> None:
    rec, ids, _ = asyncio.run(_scenario(light_backend, ["long"] * 4, limit=3, cpu_slots=2,
                                        cpu_per_job=1))
    assert rec.max_running == 2  # two CPU slots, although three jobs may run
    assert all(rec.final[i] is TrainingStatus.COMPLETED for i in ids)
