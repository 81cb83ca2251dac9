"""The engine facade: lifecycle, events, collect switches, health, breakers across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ordinis.engines.learning import (
    EventType,
    HealthLevel,
    InvalidEventError,
    LearningEngine,
    LearningEngineConfig,
    LearningEvent,
    SimulatedClock,
)
from ordinis.engines.learning.core.errors import EngineNotRunningError


def _config(data_dir: Path, **kw: object) -> LearningEngineConfig:
    return LearningEngineConfig.create(data_dir=data_dir, **kw)


def _event(i: int, etype: EventType = EventType.SIGNAL_GENERATED) -> LearningEvent:
    return LearningEvent(
        etype,
        "signal",
        symbol="AAPL",
        timestamp=datetime(2020, 1, 2, tzinfo=UTC) + timedelta(minutes=i),
        payload={"features": {"ret_1": 0.001 * i}},
        outcome=0.001 * i,
    )


async def test_events_survive_a_restart_and_are_served_from_the_store(data_dir: Path) -> None:
    clock = SimulatedClock(datetime(2020, 1, 3, tzinfo=UTC))
    async with LearningEngine(_config(data_dir), clock=clock) as engine:
        ids = [engine.record_event(_event(i)) for i in range(50)]
        durable = await engine.record_event_durable(_event(50))
        # record_event_durable returned: the event is committed, visible straight from the store
        assert engine.store.count_events() >= 1
    async with LearningEngine(_config(data_dir), clock=clock) as engine:
        stored = engine.get_events(event_type=EventType.SIGNAL_GENERATED, limit=None)
        assert [e.event_id for e in stored] == [*ids, durable]
        assert stored[3].payload == {"features": {"ret_1": 0.003}}
        assert engine.get_events(symbol="MSFT") == []
        window = engine.get_events(
            start=datetime(2020, 1, 2, 0, 10, tzinfo=UTC),
            end=datetime(2020, 1, 2, 0, 20, tzinfo=UTC),
        )
        assert len(window) == 10


async def test_switched_off_event_types_are_counted_not_stored(data_dir: Path) -> None:
    async with LearningEngine(_config(data_dir, collect_executions=False)) as engine:
        engine.record_event(_event(1, EventType.ORDER_FILLED))
        engine.record_event(_event(2, EventType.SIGNAL_GENERATED))
        await engine.flush_events()
        assert engine.store.event_stats().by_type == {"signal_generated": 1}
        assert engine.get_stats()["pipeline"].disabled_skipped == 1


async def test_a_bad_event_fails_at_the_call_and_the_rest_store_fine(data_dir: Path) -> None:
    async with LearningEngine(_config(data_dir)) as engine:
        engine.record_event(_event(1))
        with pytest.raises(InvalidEventError, match="timestamp"):
            engine.record_event(
                LearningEvent(EventType.SIGNAL_GENERATED, "signal", timestamp=datetime(2020, 1, 1))
            )
        engine.record_event(_event(2))
        assert await engine.flush_events() == 2


async def test_calls_before_initialize_say_what_to_do(data_dir: Path) -> None:
    engine = LearningEngine(_config(data_dir))
    with pytest.raises(EngineNotRunningError, match="initialize"):
        engine.record_event(_event(1))
    health = await engine.health_check()
    assert health.level is HealthLevel.UNHEALTHY


async def test_health_reports_blocked_signals_and_breakers_survive_restart(data_dir: Path) -> None:
    clock = SimulatedClock(datetime(2020, 1, 3, tzinfo=UTC))
    async with LearningEngine(_config(data_dir), clock=clock) as engine:
        assert (await engine.health_check()).level is HealthLevel.HEALTHY
        for _ in range(2):
            engine.breakers.record_error("execution", "broker_sync_failure", "timeout")
        allowed, reason = engine.should_allow_signals()
        assert not allowed and "execution" in reason
        health = await engine.health_check()
        assert health.level is HealthLevel.DEGRADED and "signals blocked" in health.message
    # a process that comes back after a trip does not come back trading
    async with LearningEngine(_config(data_dir), clock=clock) as engine:
        assert engine.should_allow_signals()[0] is False
        records = engine.audit_records()
        assert any(r.action == "breaker.open" for r in records)
        assert engine.verify_audit().ok
