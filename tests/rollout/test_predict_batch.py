"""``engine.predict_batch``: the same routing, values, events and shadows as ``predict`` key by
key, with one model call per serving version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rollout_helpers import FrameModel, config, register

from ordinis.engines.learning import EventType, LearningEngine, SimulatedClock
from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.rollout import RolloutPhase

AT = datetime(2021, 1, 4, 21, tzinfo=UTC)
KEYS = [f"K{i:03d}" for i in range(200)]  # a 10 % canary serves some of them


def _frame(rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({"x": rng.normal(size=len(KEYS))})


async def _canary(engine: LearningEngine, candidate: FrameModel, name: str = "m") -> None:
    """v1 in production, ``candidate`` as v2 in a canary that serves some keys."""
    v1 = await register(engine, "v1", FrameModel(1.0), name)
    await engine.promote_model(name, v1, "production", reason="first")
    v2 = await register(engine, "v2", candidate, name)
    await engine.promote_model(name, v2, "production", rollout_strategy="canary")
    rng = np.random.default_rng(9)
    for _ in range(5):  # 24 h of shadow, then the first canary step
        engine.predict_batch(name, KEYS, _frame(rng))
        await engine.update()
        engine.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
        await engine.advance_rollouts()
        if engine.get_rollout(name).traffic > 0:
            return
    raise AssertionError(f"no canary traffic: {engine.get_rollout(name).decisions[-1]}")


async def test_batch_equals_key_by_key_with_one_call_per_version(data_dir: Path) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        await _canary(engine, FrameModel(-2.0))
        roles = {engine.route("m", k).role for k in KEYS}
        assert roles == {"champion", "candidate"}, "the canary must split these keys"
        frame = _frame(np.random.default_rng(1))
        one = [engine.predict("m", k, frame.iloc[i : i + 1]) for i, k in enumerate(KEYS)]
        FrameModel.calls = 0
        batch = engine.predict_batch("m", KEYS, frame)
        assert FrameModel.calls == 2  # champion and candidate, each once for its keys
        assert [(p.key, p.version_id, p.role, p.value) for p in batch] == \
            [(p.key, p.version_id, p.role, p.value) for p in one]
        assert len({p.prediction_id for p in batch + one}) == 2 * len(KEYS)
        # events and shadows: every key of the batch recorded once, shadowed by the other
        # version, the whole batch predicted by each shadow version once
        FrameModel.calls = 0
        await engine.update()
        await engine.flush_events()
        assert FrameModel.calls <= 2 + len(KEYS)  # the batch's shadows: 2; predict's: one each
        ids = {p.prediction_id for p in batch}
        events = engine.get_events(EventType.MODEL_PREDICTION, limit=None)
        served = [e for e in events if e.event_id in ids]
        assert len(served) == len(KEYS)
        shadows = {e.payload["served_prediction_id"]: e for e in events
                   if e.labels["mode"] == "shadow" and e.payload["served_prediction_id"] in ids}
        assert set(shadows) == ids
        for i, p in enumerate(batch):
            other = shadows[p.prediction_id]
            assert other.labels["version_id"] != p.version_id
            scale = -2.0 if other.labels["version_id"] == "m:v2" else 1.0
            assert other.payload["prediction"] == pytest.approx(scale * frame["x"].iloc[i])


async def test_a_failing_candidate_rolls_back_and_the_champion_answers_its_rows(
    data_dir: Path,
) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        await _canary(engine, FrameModel(1.0, nan_above=6.0))
        frame = pd.DataFrame({"x": np.linspace(-2, 2, len(KEYS))})
        # a NaN on a candidate key: make sure one of the candidate's keys gets x > 6
        cand = [i for i, k in enumerate(KEYS) if engine.route("m", k).role == "candidate"]
        frame.loc[cand[0], "x"] = 7.0
        batch = engine.predict_batch("m", KEYS, frame)
        assert {p.version_id for p in batch} == {"m:v1"}
        assert [p.value for p in batch] == pytest.approx(list(frame["x"]))
        await engine.drain()
        report = engine.get_rollout("m")
        assert report.phase is RolloutPhase.ROLLED_BACK, [d.action for d in report.decisions]
        assert "non-finite" in str(report.rollback_reason)


async def test_a_batch_must_hold_one_row_per_key(data_dir: Path) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        v1 = await register(engine, "v1", FrameModel(1.0), "m")
        await engine.promote_model("m", v1, "production", reason="first")
        with pytest.raises(ValidationError, match="features"):
            engine.predict_batch("m", KEYS, pd.DataFrame({"x": [1.0, 2.0]}))
        got = engine.predict_batch("m", ["A", "B"], pd.DataFrame({"x": [3.0, 4.0]}))
        assert [(p.key, p.value) for p in got] == [("A", 3.0), ("B", 4.0)]
