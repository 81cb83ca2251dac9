"""record_events: a batch is committed on return; a refused event names its index, and the
events before it stay recorded (ids are idempotency keys: resending is safe)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ordinis.engines.learning import (
    EventType,
    LearningEngine,
    LearningEngineConfig,
    LearningEvent,
    ValidationError,
)

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def ev(i: int, ts: datetime | None = None) -> LearningEvent:
    return LearningEvent(EventType.SIGNAL_GENERATED, "signal", "SPY",
                         ts or T0 + timedelta(seconds=i), {"x": i}, event_id=f"e{i}")


async def test_batch_is_durable_and_a_bad_event_names_its_index(tmp_path: Path) -> None:
    cfg = LearningEngineConfig.create(data_dir=tmp_path / "l", auto_retrain_enabled=False,
                                      enable_drift_detection=False, max_events_memory=16)
    async with LearningEngine(cfg) as engine:
        ids = await engine.record_events([ev(i) for i in range(100)])  # 6x the buffer
        assert ids == [f"e{i}" for i in range(100)]
        assert engine.event_stats().total == 100  # committed on return
        bad = [ev(100), ev(101), ev(102, ts=datetime(2024, 1, 2, 14, 30))]  # naive time
        with pytest.raises(ValidationError) as err:
            await engine.record_events(bad)
        assert err.value.problems[0].field.startswith("[2].")
        assert "2 of 3 recorded" in str(err.value)
        assert engine.event_stats().total == 102
        await engine.record_events([ev(100), ev(101)])  # a resend does not duplicate
        assert engine.event_stats().total == 102
