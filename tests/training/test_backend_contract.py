"""One contract for every ExecutionBackend: local warm processes and Ray tasks.

Ray starts once per module (``ray.init(num_cpus=2)``) and is shared by its tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from testing_trainers import TEST_TRAINER_SPECS

from ordinis.engines.learning.core.errors import InsufficientDataError, TrainingError
from ordinis.engines.learning.core.ids import new_id
from ordinis.engines.learning.core.models import LearningEvent, TrainingJob
from ordinis.engines.learning.training.backends import (
    ExecutionBackend,
    JobCancelledError,
    JobTimeoutError,
    LocalProcessBackend,
    TrainerFailedError,
    TrainingPayload,
    WorkerCrashedError,
)
from ordinis.engines.learning.training.dataset import build_signal_dataset
from ordinis.engines.learning.training.resources import ResourceAssignment
from ordinis.engines.learning.training.signal_trainer import SignalModel
from ordinis.engines.learning.training.trainers import (
    SIGNAL_TRAINER_SPEC,
    TransientTrainingError,
)


@pytest.fixture(scope="module")
def ray_backend() -> Iterator[ExecutionBackend]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    from ordinis.engines.learning.training.ray_backend import RayBackend

    backend = RayBackend(poll_interval_seconds=0.05)
    backend.start()
    yield backend
    backend.stop()
    ray.shutdown()


@pytest.fixture(params=["local", pytest.param("ray", marks=pytest.mark.ray)])
def backend(request: pytest.FixtureRequest) -> ExecutionBackend:
    if request.param == "local":
        return request.getfixturevalue("local_backend")
    return request.getfixturevalue("ray_backend")


def _payload(
    tmp_path: Path, model_type: str, config: dict[str, object] | None = None,
    dataset: object = None, spec: str | None = None,
) -> tuple[TrainingJob, TrainingPayload]:
    job = TrainingJob(new_id(), "contract", model_type, config=dict(config or {}))
    payload = TrainingPayload(
        job=job, trainer_spec=spec or TEST_TRAINER_SPECS[model_type], dataset=dataset,  # type: ignore[arg-type]
        output_dir=str(tmp_path / job.job_id), resources=ResourceAssignment(cpus=(0,)),
    )
    return job, payload


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_runs_a_trainer_and_streams_progress(backend: ExecutionBackend,
                                                   tmp_path: Path) -> None:
    job, payload = _payload(tmp_path, "test_sleep", {"seconds": 0.2, "steps": 4})
    seen: list[tuple[float, str]] = []
    out = await backend.run(job, payload, lambda f, m: seen.append((f, m)), 30)
    assert out.model["slept"] == 0.2
    assert out.metrics["n_cpus_assigned"] == 1.0
    assert out.metrics["pid"] != os.getpid()  # it ran in another process
    assert os.path.exists(out.artifact_path)  # noqa: ASYNC240 - a test assertion
    assert seen and seen[-1] == (1.0, "step 4/4")


async def test_trains_a_real_signal_model(backend: ExecutionBackend, tmp_path: Path,
                                          market_events: list[LearningEvent]) -> None:
    ds = build_signal_dataset(market_events, min_samples=100)
    config = {"algorithm": "lightgbm", "params": {"n_estimators": 15, "num_leaves": 7}}
    job, payload = _payload(tmp_path, "signal", config, dataset=ds, spec=SIGNAL_TRAINER_SPEC)
    out = await backend.run(job, payload, lambda f, m: None, 120)
    assert isinstance(out.model, SignalModel)
    assert out.model.predict(ds.X.iloc[:10]).shape == (10,)
    assert 0 <= out.metrics["accuracy"] <= 1


async def test_trainer_errors_come_back_typed(backend: ExecutionBackend, tmp_path: Path) -> None:
    job, payload = _payload(tmp_path, "test_fail", {"message": "bad data in column x"})
    with pytest.raises(TrainerFailedError, match="ValueError: bad data in column x") as err:
        await backend.run(job, payload, lambda f, m: None, 30)
    assert "FailTrainer" in err.value.remote_traceback or "train" in err.value.remote_traceback
    job, payload = _payload(tmp_path, "test_flaky", {"succeed_on_attempt": 5})
    with pytest.raises(TransientTrainingError, match="flaky data source"):
        await backend.run(job, payload, lambda f, m: None, 30)
    job, payload = _payload(tmp_path, "signal", {}, spec=SIGNAL_TRAINER_SPEC)
    with pytest.raises(TrainingError, match="needs a dataset"):
        await backend.run(job, payload, lambda f, m: None, 30)
    empty = build_signal_dataset([], min_samples=0)
    job, payload = _payload(tmp_path, "signal", {}, dataset=empty, spec=SIGNAL_TRAINER_SPEC)
    with pytest.raises(InsufficientDataError, match="0 rows"):
        await backend.run(job, payload, lambda f, m: None, 30)


async def test_a_crashing_trainer_costs_only_its_worker(backend: ExecutionBackend,
                                                        tmp_path: Path) -> None:
    job, payload = _payload(tmp_path, "test_crash", {"mode": "exit"})
    with pytest.raises(WorkerCrashedError):
        await backend.run(job, payload, lambda f, m: None, 60)
    job, payload = _payload(tmp_path, "test_sleep", {})
    assert (await backend.run(job, payload, lambda f, m: None, 60)).model["slept"] == 0.0


async def test_timeout_kills_the_work(backend: ExecutionBackend, tmp_path: Path) -> None:
    job, payload = _payload(tmp_path, "test_sleep", {"seconds": 60, "steps": 60})
    with pytest.raises(JobTimeoutError, match=r"timed out after 1\.5 s"):
        await backend.run(job, payload, lambda f, m: None, 1.5)
    pid_file = Path(payload.output_dir) / "pid"
    if pid_file.exists() and isinstance(backend, LocalProcessBackend):
        assert not _alive(int(pid_file.read_text()))


async def test_cancel_kills_a_running_job(backend: ExecutionBackend, tmp_path: Path) -> None:
    import asyncio

    job, payload = _payload(tmp_path, "test_sleep", {"seconds": 60, "steps": 600})
    started = asyncio.Event()
    task = asyncio.create_task(backend.run(job, payload, lambda f, m: started.set(), 120))
    await asyncio.wait_for(started.wait(), 60)
    assert await backend.cancel(job.job_id) is True
    with pytest.raises(JobCancelledError):
        await task
    assert await backend.cancel(job.job_id) is False
    assert await backend.cancel("never-submitted") is False
    if isinstance(backend, LocalProcessBackend):
        assert not _alive(int((Path(payload.output_dir) / "pid").read_text()))


async def test_unpicklable_result_is_a_clear_failure(local_backend: LocalProcessBackend,
                                                     tmp_path: Path) -> None:
    job, payload = _payload(tmp_path, "test_unpicklable")
    with pytest.raises(TrainerFailedError, match="could not be sent back"):
        await local_backend.run(job, payload, lambda f, m: None, 30)
    # the worker survives a failed send and takes the next job
    job, payload = _payload(tmp_path, "test_sleep")
    assert (await local_backend.run(job, payload, lambda f, m: None, 30)).model["slept"] == 0.0
