"""LoopObservations: trade outcomes of production models reach the tracker, detectors and loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.models import FeedbackRecord, ModelStage, ModelVersion
from ordinis.engines.learning.drift.tracker import LivePerformanceTracker
from ordinis.engines.learning.engine.observations import LoopObservations

AT = datetime(2020, 1, 2, 21, tzinfo=UTC)


class _Registry:
    def get_production_model(self, name: str) -> ModelVersion | None:
        return ModelVersion("live", "v1", ModelStage.PRODUCTION) if name == "live" else None

    def get_model_version(self, version_id: str) -> ModelVersion:
        name, _, version = version_id.partition(":")
        stage = ModelStage.STAGING if name == "paper" else ModelStage.ARCHIVED
        return ModelVersion(name, version, stage)


class _Drift:
    def __init__(self) -> None:
        self.stream: list[tuple[str, str, float]] = []
        self.checked: list[tuple[str, dict[str, float]]] = []

    def update_stream(self, model: str, metric: str, value: float) -> None:
        self.stream.append((model, metric, value))

    def check_drift(self, model: str, metrics: dict[str, float]) -> list[Any]:
        self.checked.append((model, metrics))
        return []


class _Loop:
    def __init__(self) -> None:
        self.losses: list[tuple[str, float]] = []
        self.live: list[tuple[str, dict[str, float]]] = []
        self.handled: list[str] = []

    def trade_trigger(self, model: str, pnl: float) -> str | None:
        """The loss rule: a trigger on a loss of 5 or more (stands for N losses in a row)."""
        self.losses.append((model, pnl))
        return f"losses of {model}" if pnl <= -5 else None

    async def handle_trigger(self, trigger: str) -> str:
        self.handled.append(trigger)
        return trigger

    async def on_live_metrics(self, model: str, metrics: dict[str, float]) -> None:
        self.live.append((model, metrics))


def _outcome(model: str, pnl: float, at: datetime) -> FeedbackRecord:
    return FeedbackRecord(
        feedback_type="trade_outcome",
        source_engine="portfolio",
        symbol="AAPL",
        timestamp=at,
        data={"model_name": model, "pnl": pnl, "return_pct": pnl / 100},
        outcome=pnl / 100,
    )


def _make() -> tuple[LoopObservations, _Drift, _Loop, LivePerformanceTracker, list[Any]]:
    drift, loop = _Drift(), _Loop()
    tracker = LivePerformanceTracker(SimulatedClock(AT), window=10)
    spawned: list[Coroutine[Any, Any, Any]] = []

    def spawn(coro: Coroutine[Any, Any, Any], name: str) -> None:
        spawned.append(coro)

    obs = LoopObservations(loop, _Registry(), drift, tracker, spawn)  # type: ignore[arg-type]
    return obs, drift, loop, tracker, spawned


async def test_production_outcomes_feed_tracker_period_pnl_and_loss_rule() -> None:
    obs, drift, loop, tracker, spawned = _make()
    obs.on_feedback(_outcome("live", 2.0, AT))
    obs.on_feedback(_outcome("live", -5.0, AT))  # same bar: one period
    assert drift.stream == []
    obs.on_feedback(_outcome("live", 1.0, AT + timedelta(days=1)))  # closes the first period
    assert drift.stream == [("live", "pnl", -3.0)]
    live = tracker.metrics("live")
    assert live.n == 2  # two periods of the book, not three trades
    assert live.mean_return == pytest.approx(((0.02 - 0.05) / 2 + 0.01) / 2)
    # every trade reaches the loss rule at once; only the trigger it raised is a task
    assert loop.losses == [("live", 2.0), ("live", -5.0), ("live", 1.0)]
    assert len(spawned) == 1 and loop.handled == []
    await asyncio.gather(*spawned)
    assert loop.handled == ["losses of live"]


def test_staging_path_is_watched_only_for_the_staged_version_it_names() -> None:
    obs, _drift, _loop, tracker, spawned = _make()
    staged = _outcome("paper", 1.0, AT)
    staged.data["model_version"] = "paper:v2"
    obs.on_feedback(staged)
    archived = _outcome("old", 1.0, AT)
    archived.data["model_version"] = "old:v1"
    obs.on_feedback(archived)
    assert tracker.metrics("paper").n == 1 and tracker.metrics("old").n == 0
    for coro in spawned:
        coro.close()


def test_models_not_in_production_and_other_feedback_are_ignored() -> None:
    obs, drift, _loop, tracker, spawned = _make()
    obs.on_feedback(_outcome("staged-only", 2.0, AT))
    other = _outcome("live", 2.0, AT)
    other.feedback_type = "signal_accuracy"
    obs.on_feedback(other)
    assert tracker.metrics("staged-only").n == 0 and tracker.metrics("live").n == 0
    assert drift.stream == [] and spawned == []


async def test_live_metrics_go_to_the_drift_check_then_the_loop() -> None:
    obs, drift, loop, _tracker, _spawned = _make()
    await obs.on_live_metrics({"live": {"sharpe": 1, "win_rate": 0.5}, "bad": "ignored"})
    assert drift.checked == [("live", {"sharpe": 1.0, "win_rate": 0.5})]
    assert loop.live == [("live", {"sharpe": 1.0, "win_rate": 0.5})]


async def test_a_new_production_version_starts_a_fresh_live_window() -> None:
    """Promotion or rollback to production: the live metrics are the new version's own."""
    from ordinis.engines.learning.registry.history import StageChange

    obs, _drift, _loop, tracker, spawned = _make()
    for day in range(3):
        obs.on_feedback(_outcome("live", 1.0, AT + timedelta(days=day)))
    assert tracker.metrics("live").n == 3

    def change(to: ModelStage) -> StageChange:
        return StageChange("live", "v2", ModelStage.STAGING, to, "ops", "", AT, "promote")

    await obs.on_stage_change(change(ModelStage.CANARY))  # not serving the book yet
    assert tracker.metrics("live").n == 3
    await obs.on_stage_change(change(ModelStage.PRODUCTION))
    assert tracker.metrics("live").n == 0
    obs.on_feedback(_outcome("live", -1.0, AT + timedelta(days=4)))
    assert tracker.metrics("live").n == 1 and tracker.metrics("live").mean_return < 0
    for coro in spawned:
        coro.close()

