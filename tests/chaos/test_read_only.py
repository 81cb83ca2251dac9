"""A read-only engine inspects beside a live one: writes nothing, starts nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ownership_helpers import SLEEP_TRAINER, engine_config

from ordinis.engines.learning import LearningEngine, SimulatedClock, TrainingStatus
from ordinis.engines.learning.core.errors import ReadOnlyError, StoreLockedError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.features.bar_features import FEATURE_NAMES

T0 = datetime(2024, 3, 1, 14, 0, tzinfo=UTC)


def _event(i: int) -> LearningEvent:
    return LearningEvent(event_type=EventType.SIGNAL_GENERATED, source_engine="signal_engine",
                         symbol="SPY", timestamp=T0.replace(minute=i),
                         payload={"features": dict.fromkeys(FEATURE_NAMES, float(i))},
                         outcome=0.001 * i)


async def _wait_running(engine: LearningEngine, job_id: str) -> None:
    for _ in range(600):
        if engine.get_training_job(job_id).status is TrainingStatus.RUNNING:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never ran")


async def test_second_engine_refused_read_only_beside_and_the_running_job_untouched(
    tmp_path: Path,
) -> None:
    cfg = engine_config(tmp_path / "learning", min_samples_for_training=1)
    live = LearningEngine(cfg, clock=SimulatedClock(T0.replace(hour=15)))
    await live.initialize()
    try:
        assert live.role == "owner"
        live.register_trainer("test_sleep", SLEEP_TRAINER)
        for i in range(5):
            live.record_event(_event(i))
        await live.flush_events()
        job = await live.submit_training_job("m", "test_sleep", {"seconds": 30, "steps": 300})
        await _wait_running(live, job.job_id)
        audit_before = len(live.store.list_audit())

        second = LearningEngine(engine_config(tmp_path / "learning"), clock=SimulatedClock(T0))
        with pytest.raises(StoreLockedError, match=r"pid \d+ on host .*started"):
            await second.initialize()
        assert live.get_training_job(job.job_id).status is TrainingStatus.RUNNING

        async with LearningEngine.open_read_only(engine_config(tmp_path / "learning")) as ro:
            assert ro.role == "read-only"
            assert len(ro.get_events(limit=None)) == 5
            seen = {j.job_id: j.status for j in ro.list_training_jobs()}
            assert seen == {job.job_id: TrainingStatus.RUNNING}
            with pytest.raises(ReadOnlyError, match="read-only"):
                ro.record_event(_event(9))
            with pytest.raises(ReadOnlyError):
                await ro.submit_training_job("m", "test_sleep", {})
            with pytest.raises(ReadOnlyError):
                await ro.cancel_training_job(job.job_id)
            with pytest.raises(ReadOnlyError, match=r"^set_baseline: this engine was opened"):
                ro.set_baseline("m", {"sharpe": 1.0})
            with pytest.raises(ReadOnlyError, match=r"^check_drift"):
                ro.check_drift("m", {"sharpe": 1.0})
            from ordinis.engines.learning.core.errors import LearningEngineError

            with pytest.raises(LearningEngineError):
                await ro.register_model_version("m", "v9", metrics={"sharpe": 1.0})
            health = await ro.health_check()
            assert health.details["role"] == "read-only"
        # the inspector wrote nothing: no engine.start/stop, no job change, no new events
        assert len(live.store.list_audit()) == audit_before
        assert live.get_training_job(job.job_id).status is TrainingStatus.RUNNING
        assert len(live.get_events(limit=None)) == 5
        await live.cancel_training_job(job.job_id)
    finally:
        await live.shutdown()
    # the lock went with the first engine: now the second may own the store
    async with LearningEngine(engine_config(tmp_path / "learning"),
                              clock=SimulatedClock(T0)) as again:
        assert again.role == "owner"


async def test_a_read_only_engine_starts_no_workers_and_no_schedules(tmp_path: Path) -> None:
    cfg = engine_config(tmp_path / "learning")
    async with LearningEngine(cfg, clock=SimulatedClock(T0)):
        pass  # create the stores
    async with LearningEngine.open_read_only(cfg) as ro:  # the system clock: a ticker runs
        duties = ro.duties
        assert not duties.training and not duties.event_writer
        assert not duties.retention and duties.schedules == ()
        assert len(ro.scheduler) == 0
        await asyncio.sleep(0.6)  # one tick of the ticker: still nothing written
        assert ro.store.list_audit()[-1].action == "engine.stop"


async def test_the_cli_reader_reads_beside_a_live_engine_and_writes_nothing(
    tmp_path: Path,
) -> None:
    """EngineReader (the CLI's in-process reads) opens the store beside the owner: it sees the
    committed events, the running job and the audit log, and adds nothing to any of them."""
    from ordinis.engines.learning import EngineReader

    cfg = engine_config(tmp_path / "learning", min_samples_for_training=1)
    live = LearningEngine(cfg, clock=SimulatedClock(T0.replace(hour=15)))
    await live.initialize()
    try:
        live.register_trainer("test_sleep", SLEEP_TRAINER)
        for i in range(5):
            live.record_event(_event(i))
        await live.flush_events()
        job = await live.submit_training_job("m", "test_sleep", {"seconds": 30, "steps": 300})
        await _wait_running(live, job.job_id)
        audit_before = len(live.store.list_audit())

        with EngineReader(engine_config(tmp_path / "learning")) as reader:
            assert reader.role == "read-only"
            assert len(reader.get_events(limit=None)) == 5
            newest = reader.get_events(limit=2, newest_first=True)
            assert [e.timestamp.minute for e in newest] == [4, 3]
            assert {j.job_id: j.status for j in reader.list_training_jobs()} == {
                job.job_id: TrainingStatus.RUNNING}
            assert len(reader.audit_records()) == audit_before
            assert reader.verify_audit().ok
            assert {s.state.value for s in reader.breaker_states().values()} == {"closed"}
            assert (await reader.health_check()).details["role"] == "read-only"
        assert len(live.store.list_audit()) == audit_before
        assert live.get_training_job(job.job_id).status is TrainingStatus.RUNNING
        assert len(live.get_events(limit=None)) == 5
        await live.cancel_training_job(job.job_id)
    finally:
        await live.shutdown()
