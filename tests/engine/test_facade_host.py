"""The facade as the ordinis host calls it: update(results) per cycle, the review's protocol."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ordinis.engines.learning import (
    EventType,
    LearningEngine,
    LearningEngineConfig,
    SimulatedClock,
)
from ordinis.engines.learning.core.errors import ValidationError

AT = datetime(2021, 6, 1, 20, tzinfo=UTC)


def _config(data_dir: Path) -> LearningEngineConfig:
    return LearningEngineConfig.create(data_dir=data_dir)


def _cycle(i: int) -> dict[str, Any]:
    return {
        "cycle_id": f"c{i}",
        "timestamp": AT,
        "signals": [{"symbol": "AAPL", "signal": 0.5, "model_name": "alpha"}],
        "fills": [{"symbol": "AAPL", "side": "buy", "quantity": 5, "price": 120.0}],
        "outcomes": [{"symbol": "MSFT", "pnl": 12.5, "return_pct": 0.01, "model_name": "alpha"}],
        "pnl": 12.5,
    }


async def test_a_list_of_cycles_becomes_the_events_it_stands_for(data_dir: Path) -> None:
    async with LearningEngine(_config(data_dir), clock=SimulatedClock(AT)) as engine:
        out = await engine.update([_cycle(1), _cycle(2)])
        assert out["cycles"] == 2
        counts = engine.event_stats().by_type
        assert counts[EventType.SIGNAL_GENERATED.value] == 2
        assert counts[EventType.ORDER_FILLED.value] == 2
        assert counts[EventType.TRADE_OUTCOME.value] == 2
        assert counts[EventType.TRADING_CYCLE.value] == 2
        [fill, _] = engine.get_events(EventType.ORDER_FILLED)
        assert fill.payload == {"side": "buy", "quantity": 5.0, "price": 120.0}
        assert fill.labels == {"cycle_id": "c1"}


async def test_a_malformed_entry_is_refused_by_index_and_field_recording_nothing(
    data_dir: Path,
) -> None:
    async with LearningEngine(_config(data_dir), clock=SimulatedClock(AT)) as engine:
        bad = _cycle(3)
        bad["outcomes"][0]["pnl"] = "twelve"
        with pytest.raises(ValidationError, match=r"results\[1\]\.outcomes\[0\]\.pnl"):
            await engine.update([_cycle(1), bad])
        with pytest.raises(ValidationError, match="results"):
            await engine.update(42)
        await engine.flush_events()
        assert engine.event_stats().total == 0


async def test_unknown_job_is_none_and_baseline_reaches_every_consumer(data_dir: Path) -> None:
    async with LearningEngine(_config(data_dir), clock=SimulatedClock(AT)) as engine:
        assert engine.get_training_job("no-such-job") is None
        engine.set_baseline("alpha", {"sharpe": 1.2, "win_rate": 0.55})
        # the drift monitor compares with it...
        alerts = engine.check_drift("alpha", {"sharpe": 0.1, "win_rate": 0.55})
        assert [a.metric for a in alerts] == ["sharpe"]
        # ...and so does the loop's degradation rule: a live report below it raises a trigger
        seen: list[str] = []
        engine.subscribe_loop_events(lambda e: seen.append(e.step.value))
        await engine.update({"alpha": {"sharpe": 0.1, "win_rate": 0.55}})
        await engine.drain()
        assert "trigger" in seen


async def test_the_loop_compares_with_the_stored_baseline_after_a_restart(
    data_dir: Path,
) -> None:
    """The baseline is set once, then the host restarts: a live report far below it must
    still raise the loop's degradation trigger (the baseline is stored, not held in memory)."""
    async with LearningEngine(_config(data_dir), clock=SimulatedClock(AT)) as engine:
        engine.set_baseline("alpha", {"sharpe": 1.2, "win_rate": 0.55})
    async with LearningEngine(_config(data_dir), clock=SimulatedClock(AT)) as engine:
        seen: list[tuple[str, str]] = []
        engine.subscribe_loop_events(lambda e: seen.append((e.step.value, e.outcome)))
        await engine.update({"alpha": {"sharpe": 1.1, "win_rate": 0.55}})  # within 20 %
        await engine.drain()
        assert ("trigger", "performance_degradation") not in seen
        await engine.update({"alpha": {"sharpe": 0.1, "win_rate": 0.55}})
        await engine.drain()
        assert ("trigger", "performance_degradation") in seen, seen


async def test_a_losing_streak_that_spans_a_restart_still_triggers(data_dir: Path) -> None:
    """The pipeline's consecutive_losses rule counts 8 losing trades of the serving version;
    5 come before the host restarts, 3 after: the eighth raises the trigger, as it would
    without the restart (the streak is stored at shutdown, not held in memory only)."""
    config = LearningEngineConfig.create(data_dir=data_dir, require_eval_pass=False)
    clock = SimulatedClock(AT)

    async def lose(engine: LearningEngine, n: int) -> None:
        for _ in range(n):
            clock.advance(86_400)
            await engine.feedback.record_trade_outcome(
                "AAPL", pnl=-1.0, return_pct=-0.01, model_name="alpha")

    async with LearningEngine(config, clock=clock) as engine:
        mv = await engine.register_model_version("alpha", "v1", metrics={"sharpe": 1.0})
        await engine.promote_model("alpha", mv.version_id, "staging")
        await engine.promote_model("alpha", mv.version_id, "production")
        await lose(engine, 5)
    async with LearningEngine(config, clock=clock) as engine:
        seen: list[tuple[str, str]] = []
        engine.subscribe_loop_events(lambda e: seen.append((e.step.value, e.outcome)))
        await lose(engine, 2)
        await engine.drain()
        assert ("trigger", "consecutive_losses") not in seen
        await lose(engine, 1)
        await engine.drain()
        assert ("trigger", "consecutive_losses") in seen, seen


# The enhanced protocol of section 5 of the architecture review: name, async, the call.
REVIEW_PROTOCOL: dict[str, tuple[bool, tuple[str, ...]]] = {
    "record_event": (False, ("event",)),
    "flush_events": (True, ()),
    "submit_training_job": (True, ("model_name", "training_data", "config")),
    "get_training_job": (False, ("job_id",)),
    "register_model_version": (True, ("model_name", "version", "artifact_path", "metrics")),
    "promote_model": (
        True,
        ("model_name", "version_id", "target_stage", "rollout_strategy"),
    ),
    "get_production_model": (False, ("model_name",)),
    "evaluate_model": (True, ("version_id", "benchmark_name", "metrics", "thresholds")),
    "check_drift": (False, ("model_name", "current_metrics")),
    "should_allow_signals": (False, ()),
    "health_check": (True, ()),
    "update": (True, ("results",)),
}


@pytest.mark.parametrize("name", sorted(REVIEW_PROTOCOL))
def test_the_engine_answers_the_reviews_protocol(name: str) -> None:
    is_async, args = REVIEW_PROTOCOL[name]
    method = getattr(LearningEngine, name)
    assert inspect.iscoroutinefunction(method) is is_async
    # every call the protocol makes binds, positionally, to the engine's signature
    inspect.signature(method).bind(None, *[object()] * len(args))
