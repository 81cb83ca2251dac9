"""TrainingExecutor on warm local workers: real training, hooks, failures, cancel, restart."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ordinis.engines.learning.core.errors import (
    EngineNotRunningError,
    NotFoundError,
    ValidationError,
)
from ordinis.engines.learning.core.models import LearningEvent, TrainingJob, TrainingStatus
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.training.dataset import events_dataset_builder
from ordinis.engines.learning.training.job_records import (
    JOB_RECORD_KIND,
    job_from_record,
    job_to_record,
)
from ordinis.engines.learning.training.models import SignalModel
from ordinis.engines.learning.training.trainers import TrainingOutcome

Harness = Any  # tests/training/conftest.py: Harness
MakeExecutor = Callable[..., Awaitable[Any]]

SMALL_LGBM = {"n_estimators": 15, "num_leaves": 7, "min_child_samples": 10}


def _stored(h: Harness, job_id: str) -> TrainingJob:
    record = h.store.get_record(JOB_RECORD_KIND, job_id)
    assert record is not None
    return job_from_record(record)


async def _until_running(h: Harness, job_id: str) -> None:
    """Return once the job reported progress from its worker."""
    started = asyncio.Event()

    def watch(job: TrainingJob) -> None:
        if job.job_id == job_id and job.progress > 0:
            started.set()

    h.executor.add_progress_listener(watch)
    try:
        if h.executor.get_job(job_id).progress > 0:
            started.set()
        await asyncio.wait_for(started.wait(), 60)
    finally:
        h.executor.remove_progress_listener(watch)


def _alive(pid: int) -> bool:
    """True while the process runs (a zombie waiting for init to reap it counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_signal_jobs_train_real_models_and_register_once(
    make_executor: MakeExecutor, market_events: list[LearningEvent], tmp_path: Path,
) -> None:
    registered: list[tuple[str, TrainingOutcome]] = []

    async def on_complete(job: TrainingJob, outcome: TrainingOutcome) -> str:
        registered.append((job.job_id, outcome))
        return f"{job.model_name}:v{len(registered)}"

    from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore

    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'market.db'}")
    store.open()
    store.append_events([encode_event(e, 64 * 1024) for e in market_events])
    h = await make_executor(on_complete=on_complete, store=store,
                            dataset_builder=events_dataset_builder(store, min_samples=200))
    seen: list[TrainingJob] = []
    h.executor.add_progress_listener(seen.append)
    lgbm = await h.executor.submit("spy_signal", "signal",
                                   {"algorithm": "lightgbm", "params": SMALL_LGBM})
    logit = await h.executor.submit("spy_signal", "signal", {"algorithm": "logistic"})
    assert lgbm.status is TrainingStatus.PENDING
    done = [await h.executor.wait(j.job_id, timeout=120) for j in (lgbm, logit)]
    try:
        for job in done:
            assert job.status is TrainingStatus.COMPLETED, job.error_message
            assert job.attempts == 1 and job.progress == 1.0
            assert job.started_at is not None and job.completed_at is not None
            assert (job.model_version_id or "").startswith("spy_signal:v")
            assert {"accuracy", "log_loss", "auc", "hit_rate", "sharpe"} <= set(job.metrics)
            assert job.artifacts_path and os.path.exists(job.artifacts_path)  # noqa: ASYNC240
            assert _stored(h, job.job_id).status is TrainingStatus.COMPLETED
            assert _stored(h, job.job_id).model_version_id == job.model_version_id
        assert sorted(j for j, _ in registered) == sorted(j.job_id for j in done)  # once each
        by_id = dict(registered)
        ds = events_dataset_builder(store, min_samples=1)(lgbm)
        for job_id, algo in ((lgbm.job_id, "lightgbm"), (logit.job_id, "logistic")):
            model = by_id[job_id].model
            assert isinstance(model, SignalModel) and model.algorithm == algo
            signal = model.predict(ds.X.iloc[-30:])
            assert signal.shape == (30,) and ((signal >= -1) & (signal <= 1)).all()
            assert by_id[job_id].lineage.n_samples == ds.n_samples
        statuses = [j.status for j in seen if j.job_id == lgbm.job_id]
        assert statuses[0] is TrainingStatus.RUNNING and statuses[-1] is TrainingStatus.COMPLETED
        assert any(0 < j.progress < 1 for j in seen if j.job_id == lgbm.job_id)
        m = h.metrics
        assert m.sample("training_jobs_total", {"model_name": "spy_signal",
                                                "status": "completed"}) == 2
        assert m.sample("training_job_duration_seconds_count",
                        {"model_name": "spy_signal", "job_type": "signal"}) == 2
        assert m.sample("training_jobs_active", {"model_name": "spy_signal"}) == 0
    finally:
        await h.executor.stop()
        store.close()


async def test_insufficient_data_fails_the_job_with_the_message(
    make_executor: MakeExecutor, market_events: list[LearningEvent],
) -> None:
    from ordinis.engines.learning.training.dataset import build_signal_dataset

    h = await make_executor(
        dataset_builder=lambda job: build_signal_dataset(market_events[:50], min_samples=1000))
    job = await h.executor.submit("m", "signal", {})
    done = await h.executor.wait(job.job_id, timeout=60)
    assert done.status is TrainingStatus.FAILED
    assert done.error_message is not None
    assert "usable samples, at least 1000 needed" in done.error_message
    assert _stored(h, job.job_id).error_message == done.error_message


async def test_bad_submissions_are_refused_and_nothing_is_stored(
    make_executor: MakeExecutor,
) -> None:
    h = await make_executor()
    with pytest.raises(ValidationError) as err:
        await h.executor.submit("m", "no_such_type", {})
    assert "no_such_type" in str(err.value) and "signal" in str(err.value)
    assert "test_sleep" in str(err.value)
    with pytest.raises(ValidationError) as err:
        await h.executor.submit("bad name/../x", "signal", {
            "algorithm": "svm", "timeout_seconds": -1, "resources": {"cpu": 1, "gpu": 1},
            "max_retries": "many",
        })
    text = str(err.value)
    for field in ("model_name", "config.algorithm", "config.timeout_seconds",
                  "config.resources.gpu", "config.max_retries"):
        assert field in text
    assert "more GPUs than this machine has (0 visible)" in text
    with pytest.raises(ValidationError, match="JSON"):
        await h.executor.submit("m", "test_sleep", {"when": object()})
    assert h.store.list_records(JOB_RECORD_KIND) == []
    assert h.executor.list_jobs() == []
    with pytest.raises(NotFoundError, match="nope"):
        h.executor.get_job("nope")


async def test_timeout_kills_the_work_and_fails_the_job(make_executor: MakeExecutor) -> None:
    h = await make_executor()
    job = await h.executor.submit("m", "test_sleep",
                                  {"seconds": 60, "steps": 60, "timeout_seconds": 2,
                                                "child": True})
    done = await h.executor.wait(job.job_id, timeout=60)
    assert done.status is TrainingStatus.FAILED
    assert done.error_message == "timed out after 2 s"
    out = h.config.artifacts_dir.resolve() / "training" / job.job_id
    assert not _alive(int((out / "pid").read_text()))
    # the kill takes the worker's process group: what the trainer started dies with it
    child = int((out / "child_pid").read_text())
    for _ in range(100):  # the group kill is asynchronous in the kernel; allow it a moment
        if not _alive(child):
            break
        await asyncio.sleep(0.02)
    assert not _alive(child)
    assert h.metrics.sample("training_jobs_total", {"model_name": "m", "status": "failed"}) == 1


async def test_crashing_trainer_fails_its_job_not_the_engine(make_executor: MakeExecutor) -> None:
    h = await make_executor()
    crash = await h.executor.submit("m", "test_crash", {"mode": "segfault"})
    after = await h.executor.submit("m", "test_sleep", {})
    crashed = await h.executor.wait(crash.job_id, timeout=60)
    assert crashed.status is TrainingStatus.FAILED
    assert "died while training" in (crashed.error_message or "")
    assert "SIGSEGV" in (crashed.error_message or "")
    assert (await h.executor.wait(after.job_id, timeout=60)).status is TrainingStatus.COMPLETED


async def test_transient_failures_are_retried(make_executor: MakeExecutor) -> None:
    h = await make_executor(training_max_retries=2)
    ok = await h.executor.submit("m", "test_flaky", {"succeed_on_attempt": 3})
    done = await h.executor.wait(ok.job_id, timeout=60)
    assert done.status is TrainingStatus.COMPLETED
    assert done.attempts == 3 and done.metrics["attempt"] == 3.0
    never = await h.executor.submit("m", "test_flaky", {"succeed_on_attempt": 10})
    failed = await h.executor.wait(never.job_id, timeout=60)
    assert failed.status is TrainingStatus.FAILED and failed.attempts == 3
    assert "transient" in (failed.error_message or "")
    # a non-transient failure is not retried
    bad = await h.executor.submit("m", "test_fail", {"message": "schema mismatch"})
    bad_done = await h.executor.wait(bad.job_id, timeout=60)
    assert bad_done.attempts == 1 and "schema mismatch" in (bad_done.error_message or "")


async def test_cancel_while_queued_and_while_running(make_executor: MakeExecutor) -> None:
    h = await make_executor(max_concurrent_jobs=1)
    running = await h.executor.submit("m", "test_sleep", {"seconds": 60, "steps": 600})
    queued = await h.executor.submit("m", "test_sleep", {})
    await _until_running(h, running.job_id)
    assert h.executor.get_job(queued.job_id).status is TrainingStatus.PENDING
    q = await h.executor.cancel(queued.job_id)
    assert q.status is TrainingStatus.CANCELLED and q.attempts == 0
    assert _stored(h, queued.job_id).status is TrainingStatus.CANCELLED
    r = await h.executor.cancel(running.job_id)
    assert r.status is TrainingStatus.CANCELLED
    pid_file = h.config.artifacts_dir.resolve() / "training" / running.job_id / "pid"
    assert not _alive(int(pid_file.read_text()))
    assert (await h.executor.cancel(running.job_id)).status is TrainingStatus.CANCELLED
    nxt = await h.executor.submit("m", "test_sleep", {})
    assert (await h.executor.wait(nxt.job_id, timeout=60)).status is TrainingStatus.COMPLETED
    assert h.metrics.sample("training_jobs_total", {"model_name": "m", "status": "cancelled"}) == 2


@pytest.mark.parametrize("requeue", [False, True])
async def test_restart_resolves_interrupted_jobs(make_executor: MakeExecutor, tmp_path: Path,
                                                 requeue: bool) -> None:
    from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore

    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'restart.db'}")
    store.open()
    from datetime import UTC, datetime

    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    for i, status in enumerate((TrainingStatus.RUNNING, TrainingStatus.PENDING,
                                TrainingStatus.COMPLETED)):
        job = TrainingJob(f"job-{i}", "m", "test_sleep", status=status, created_at=t0,
                          started_at=t0 if status is not TrainingStatus.PENDING else None,
                          attempts=1 if status is not TrainingStatus.PENDING else 0)
        store.put_record(job_to_record(job, t0))
    h = await make_executor(store=store, requeue_interrupted_jobs=requeue)
    try:
        if not requeue:
            for job_id in ("job-0", "job-1"):
                job = h.executor.get_job(job_id)
                assert job.status is TrainingStatus.FAILED
                assert (job.error_message or "").startswith("interrupted")
                assert _stored(h, job_id).status is TrainingStatus.FAILED
        else:
            for job_id in ("job-0", "job-1"):
                job = await h.executor.wait(job_id, timeout=60)
                assert job.status is TrainingStatus.COMPLETED
        assert h.executor.get_job("job-2").status is TrainingStatus.COMPLETED
        assert not any(j.status is TrainingStatus.RUNNING for j in h.executor.list_jobs())
    finally:
        await h.executor.stop()
        store.close()


async def test_stop_leaves_running_jobs_for_the_next_start(make_executor: MakeExecutor,
                                                           tmp_path: Path) -> None:
    from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore

    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'stop.db'}")
    store.open()
    try:
        h = await make_executor(store=store)
        job = await h.executor.submit("m", "test_sleep", {"seconds": 60, "steps": 600})
        await _until_running(h, job.job_id)
        await h.executor.stop()
        assert _stored(h, job.job_id).status is TrainingStatus.RUNNING
        with pytest.raises(EngineNotRunningError):
            await h.executor.submit("m", "test_sleep", {})
        h2 = await make_executor(store=store)
        again = h2.executor.get_job(job.job_id)
        assert again.status is TrainingStatus.FAILED
        assert "interrupted" in (again.error_message or "")
    finally:
        store.close()


async def test_on_complete_failure_fails_the_job(make_executor: MakeExecutor) -> None:
    async def broken(job: TrainingJob, outcome: TrainingOutcome) -> str:
        raise RuntimeError("mlflow unreachable")

    h = await make_executor(on_complete=broken)
    job = await h.executor.submit("m", "test_sleep", {})
    done = await h.executor.wait(job.job_id, timeout=60)
    assert done.status is TrainingStatus.FAILED
    assert "mlflow unreachable" in (done.error_message or "")
    assert done.artifacts_path is not None


async def test_resource_assignment_reaches_the_worker(make_executor: MakeExecutor) -> None:
    outcomes: dict[str, TrainingOutcome] = {}

    async def keep(job: TrainingJob, outcome: TrainingOutcome) -> None:
        outcomes[job.job_id] = outcome

    h = await make_executor(on_complete=keep, max_concurrent_jobs=2,
                            executor_kwargs={"cpu_slots": 2, "gpu_devices": [0]})
    gpu_job = await h.executor.submit("m", "test_sleep", {"resources": {"cpu": 1, "gpu": 1}})
    cpu_job = await h.executor.submit("m", "test_sleep", {"resources": {"cpu": 2}})
    for j in (gpu_job, cpu_job):
        assert (await h.executor.wait(j.job_id, timeout=60)).status is TrainingStatus.COMPLETED
    assert outcomes[gpu_job.job_id].model["cuda_visible_devices"] == "0"
    assert outcomes[gpu_job.job_id].model["gpus"] == [0]
    assert outcomes[cpu_job.job_id].model["cpus"] == [0, 1]
    assert outcomes[cpu_job.job_id].model["cuda_visible_devices"] == ""
    assert h.executor.get_job(gpu_job.job_id).resources == {"cpu": 1.0, "gpu": 1.0}
    with pytest.raises(ValidationError, match="more CPU slots than the executor has"):
        await h.executor.submit("m", "test_sleep", {"resources": {"cpu": 3}})


def test_job_record_round_trip() -> None:
    from datetime import UTC, datetime

    t = datetime(2021, 5, 1, tzinfo=UTC)
    job = TrainingJob("j", "m", "signal", config={"a": [1, 2]}, status=TrainingStatus.COMPLETED,
                      created_at=t, started_at=t, completed_at=t,
                      metrics={"auc": float("nan"), "sharpe": 1.5}, attempts=2,
                      model_version_id="m:v1", progress=1.0, resources={"cpu": 1.0})
    record = job_to_record(job, t)
    assert (record.kind, record.key, record.tag) == ("training_job", "j", "m")
    back = job_from_record(record)
    assert back.metrics["sharpe"] == 1.5 and back.metrics["auc"] != back.metrics["auc"]
    assert (back.status, back.attempts, back.model_version_id) == (
        TrainingStatus.COMPLETED, 2, "m:v1")
    assert back.config == {"a": [1, 2]} and back.completed_at == t


async def test_running_job_metrics_start_time_gpu_and_queue(make_executor: MakeExecutor) -> None:
    """training_job_start_time and training_gpu_utilization while a job runs, then cleared."""
    h = await make_executor(max_concurrent_jobs=1,
                            executor_kwargs={"cpu_slots": 1, "gpu_devices": [0]})
    m = h.metrics
    running = await h.executor.submit(
        "m", "test_sleep", {"seconds": 60, "steps": 600, "resources": {"cpu": 1, "gpu": 1}}
    )
    queued = await h.executor.submit("m", "test_sleep", {})
    await _until_running(h, running.job_id)
    started = h.executor.get_job(running.job_id).started_at
    assert started is not None
    assert m.sample("training_job_start_time", {"model_name": "m"}) == started.timestamp()
    assert m.sample("training_gpu_utilization", {"device": "0"}) == 1.0
    assert m.sample("training_jobs_active", {"model_name": "m"}) == 1
    assert m.sample("training_jobs_queued", {"model_name": "m"}) == 1
    await h.executor.cancel(queued.job_id)
    assert m.sample("training_jobs_queued", {"model_name": "m"}) == 0
    await h.executor.cancel(running.job_id)
    assert m.sample("training_gpu_utilization", {"device": "0"}) == 0.0
    assert m.sample("training_jobs_active", {"model_name": "m"}) == 0
    # no running job: the series is gone, so TrainingJobStuck cannot match a stale start
    assert m.registry.get_sample_value("training_job_start_time", {"model_name": "m"}) is None
