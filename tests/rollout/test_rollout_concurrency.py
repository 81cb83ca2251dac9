"""Ticks that overlap (the scheduler's and a host's) apply one move; a rollback made while a
tick waits on the registry is never undone by that tick."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rollout_helpers import ScaleModel, champion_and_candidate, config

from ordinis.engines.learning import LearningEngine, SimulatedClock
from ordinis.engines.learning.core.models import ModelStage
from ordinis.engines.learning.rollout import RolloutPhase
from ordinis.engines.learning.rollout.controller import RolloutController

AT = datetime(2021, 1, 4, 21, tzinfo=UTC)


async def _past_shadow(engine: LearningEngine) -> tuple[str, str]:
    v1, v2 = await champion_and_candidate(engine, ScaleModel(1.0))
    await engine.promote_model("alpha", v2, "production", rollout_strategy="canary")
    engine.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    return v1, v2


async def test_overlapping_ticks_start_the_canary_once(data_dir: Path) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        await _past_shadow(engine)
        await asyncio.gather(engine.advance_rollouts(), engine.advance_rollouts())
        report = engine.get_rollout("alpha")
        assert report.phase is RolloutPhase.CANARY
        assert [d.action for d in report.decisions].count("start_canary") == 1


async def test_an_abort_while_a_tick_waits_on_the_registry_stands(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    original = RolloutController._stage

    async def slow_stage(self: RolloutController, *args: Any) -> None:
        entered.set()
        await release.wait()
        await original(self, *args)

    monkeypatch.setattr(RolloutController, "_stage", slow_stage)
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        v1, v2 = await _past_shadow(engine)
        tick = asyncio.create_task(engine.advance_rollouts())
        await asyncio.wait_for(entered.wait(), 30)  # the tick is moving v2 to CANARY
        abort = asyncio.create_task(engine.abort_rollout("alpha", "operator says no"))
        await asyncio.sleep(0.05)
        assert engine.route("alpha", "S01").version_id == v1  # routes restored at once
        release.set()
        await tick
        await abort
        await engine.drain()
        report = engine.get_rollout("alpha")
        assert report.phase is RolloutPhase.ABORTED
        assert "start_canary" not in [d.action for d in report.decisions]
        assert engine.get_model_version(v2).stage is ModelStage.ARCHIVED
        assert engine.get_production_model("alpha").version_id == v1  # type: ignore[union-attr]
        assert {engine.route("alpha", f"K{i}").version_id for i in range(50)} == {v1}
