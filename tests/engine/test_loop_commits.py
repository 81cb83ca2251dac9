"""The loop reads the whole window: events still buffered when a retrain starts are committed
first, so the safeguards, validation and training see all of ``[start, now)`` whatever the
writer's timing (the same decision on every run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ordinis.engines.learning import (
    EventType,
    LearningEngine,
    LearningEngineConfig,
    LearningEvent,
    SimulatedClock,
    TrainingStatus,
)

NOW = datetime(2024, 6, 3, 21, tzinfo=UTC)


def _record(engine: LearningEngine, first: int, last: int) -> None:
    for i in range(first, last):
        engine.record_event(
            LearningEvent(
                EventType.SIGNAL_GENERATED, "signal", symbol=f"S{i % 3}",
                timestamp=NOW - timedelta(hours=900 - i),
                payload={"features": {"a": float(i % 7), "b": float(i % 5)}},
                outcome=((i * 37) % 11 - 5) / 100,
            )
        )


async def test_a_retrain_commits_buffered_events_before_it_reads_the_window(
    tmp_path: Path,
) -> None:
    cfg = LearningEngineConfig.create(
        data_dir=tmp_path / "l",
        enable_drift_detection=False,
        flush_interval_seconds=3600.0,  # the writer would not commit on its own in this test
        flush_batch_size=100_000,
        min_samples_for_training=100,
    )
    clock = SimulatedClock(NOW - timedelta(hours=300))
    async with LearningEngine(cfg, clock=clock) as engine:
        _record(engine, 0, 600)
        await engine.flush_events()
        job = await engine.submit_training_job("m", "signal", {"algorithm": "logistic"})
        job = await engine.wait_for_training_job(job.job_id, timeout=120)
        assert job.status is TrainingStatus.COMPLETED, job.error_message
        clock.set(NOW)
        _record(engine, 600, 900)
        assert engine.event_stats().total == 600  # the newest 300 are still buffered
        trigger = await engine.trigger_retraining("m", "operator")
        await engine.drain()
        assert trigger.details["training_samples"] == 900  # the safeguard counted them all
        assert trigger.data_validation is not None
        assert trigger.data_validation.startswith("data validation passed on 900 rows")
        assert trigger.job_id is not None
