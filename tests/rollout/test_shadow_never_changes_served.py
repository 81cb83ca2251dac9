"""A shadow never changes a served signal: not its value, not its version, not when it fails."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rollout_helpers import ScaleModel, champion_and_candidate, config

from ordinis.engines.learning import EventType, LearningEngine, SimulatedClock
from ordinis.engines.learning.rollout import RolloutPhase

AT = datetime(2021, 1, 4, 21, tzinfo=UTC)


async def test_served_signals_are_identical_with_and_without_a_shadow(data_dir: Path) -> None:
    rng = np.random.default_rng(0)
    xs = rng.standard_t(3, size=300) * 5  # fat-tailed inputs, some far outside [-1, 1]
    keys = [f"K{i}" for i in range(300)]
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        await champion_and_candidate(engine, ScaleModel(-7.0), "wild")
        await champion_and_candidate(engine, ScaleModel(1.0, fail=True, above=3.0), "flaky")
        before = {n: [engine.predict(n, k, {"x": x}) for k, x in zip(keys, xs, strict=True)]
                  for n in ("wild", "flaky")}
        for n in ("wild", "flaky"):
            await engine.promote_model(n, f"{n}:v2", "production", rollout_strategy="shadow")
            assert engine.get_rollout(n).phase is RolloutPhase.SHADOW
        during = {n: [engine.predict(n, k, {"x": x}) for k, x in zip(keys, xs, strict=True)]
                  for n in ("wild", "flaky")}
        await engine.update()
        await engine.drain()
        for n in ("wild", "flaky"):
            assert [(p.version_id, p.value) for p in during[n]] == \
                [(p.version_id, p.value) for p in before[n]]
            assert {p.version_id for p in during[n]} == {f"{n}:v1"}
        # the wild shadow ran on every request and disagreed in direction every time
        report = engine.get_rollout("wild")
        assert report.phase is RolloutPhase.SHADOW and report.shadow_agreement == 0.0
        await engine.flush_events()
        events = engine.get_events(EventType.MODEL_PREDICTION, limit=None)
        shadow = [e for e in events if e.labels["mode"] == "shadow"]
        wild = [e for e in shadow if e.labels["model_name"] == "wild"]
        assert len(wild) == 300 and {e.labels["version_id"] for e in wild} == {"wild:v2"}
        flaky = [e for e in shadow if e.labels["model_name"] == "flaky"]
        assert {e.labels["version_id"] for e in flaky} == {"flaky:v2"} and len(flaky) < 300
        served_ids = {p.prediction_id for p in during["wild"]}
        assert {e.payload["served_prediction_id"] for e in wild} == served_ids
        # a trade outcome naming the prediction (signal_id) is attributed to both versions
        first = during["wild"][0]
        await engine.feedback.record_trade_outcome(
            first.key, pnl=5.0, return_pct=0.01, signal_id=first.prediction_id,
            model_name="wild", model_version=first.version_id)
        assert engine.get_rollout("wild").outcomes == 1
        assert not engine.record_prediction_outcome(first.prediction_id, 0.01)  # only once
        # the flaky shadow failed (x > 3) and was rolled back; the served signals never moved
        assert engine.get_rollout("flaky").phase is RolloutPhase.ROLLED_BACK
