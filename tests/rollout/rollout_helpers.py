"""Models and a driver for rollout tests: signals from one feature, a simulated market."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ordinis.engines.learning import LearningEngine, LearningEngineConfig
from ordinis.engines.learning.feedback.pipeline_spec import write_pipeline_variant

KEYS: tuple[str, ...] = tuple(f"S{i:02d}" for i in range(20))


class ScaleModel:
    """Signal = scale * features["x"]; ``fail`` raises, ``nan`` returns NaN (pickled by
    reference, so the class lives in an importable module)."""

    feature_names: Sequence[str] = ("x",)

    def __init__(
        self, scale: float = 1.0, fail: bool = False, nan: bool = False, above: float = -math.inf
    ) -> None:
        self.scale = scale
        self.fail = fail
        self.nan = nan
        self.above = above  # fail / NaN only when x > above

    def predict(self, features: Any) -> list[float]:
        x = float(features["x"])
        if self.fail and x > self.above:
            raise RuntimeError("model exploded")
        if self.nan and x > self.above:
            return [math.nan]
        return [self.scale * x]


def config(data_dir: Path, approval: str = "automatic", **kw: Any) -> LearningEngineConfig:
    pipeline = write_pipeline_variant(
        data_dir / "pipeline.yaml", stages={"production": {"approval": approval}}
    )
    return LearningEngineConfig.create(
        data_dir=data_dir,
        pipeline_config_path=pipeline,
        enable_drift_detection=False,
        require_eval_pass=False,  # the gates are tested elsewhere; these models trade "x"
        **kw,
    )


async def register(engine: LearningEngine, version: str, model: Any, name: str = "alpha") -> str:
    mv = await engine.register_model_version(name, version, model=model)
    await engine.promote_model(name, mv.version_id, "staging", reason="candidate")
    return mv.version_id


async def champion_and_candidate(
    engine: LearningEngine, candidate: Any, name: str = "alpha"
) -> tuple[str, str]:
    v1 = await register(engine, "v1", ScaleModel(1.0), name)
    await engine.promote_model(name, v1, "production", reason="first")
    v2 = await register(engine, "v2", candidate, name)
    return v1, v2


async def trade_day(
    engine: LearningEngine, rng: np.random.Generator, names: Sequence[str] = ("alpha",)
) -> dict[str, float]:
    """One daily bar: every key is predicted at the close; a day later its return is realised
    (an edge: the return follows the feature's sign) and the rollouts decide."""
    xs = {k: float(rng.normal()) for k in KEYS}
    served = {}
    ids = {}
    for name in names:
        for k in KEYS:
            p = engine.predict(name, k, {"x": xs[k]})
            served[f"{name}/{k}"] = p.value
            ids[f"{name}/{k}"] = (p.prediction_id, k)
    await engine.update()
    engine.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    for pid, k in ids.values():
        r = 0.01 * math.tanh(xs[k]) + 0.01 * float(rng.standard_t(4))
        engine.record_prediction_outcome(pid, r)
    await engine.advance_rollouts()
    await engine.drain()
    return served


async def to_canary(
    engine: LearningEngine, version_id: str, rng: np.random.Generator, name: str = "alpha"
) -> str:
    """Start a canary of ``version_id`` and trade until it serves traffic; returns a key it
    serves."""
    await engine.promote_model(name, version_id, "production", rollout_strategy="canary")
    for _ in range(5):
        await trade_day(engine, rng, (name,))
        if engine.get_rollout(name).traffic > 0:
            break
    assert engine.get_rollout(name).traffic == 0.10
    return key_of(engine, name, "candidate")


def key_of(engine: LearningEngine, name: str, role: str) -> str:
    """A key the router currently gives to ``role`` (candidate or champion)."""
    return next(k for k in (f"K{i}" for i in range(1000)) if engine.route(name, k).role == role)


class FrameModel:
    """Signal per row = scale * column "x" of a DataFrame (a batch model, like the trainers');
    ``calls`` counts the model's predict calls (the batch path makes one per version)."""

    calls = 0

    def __init__(self, scale: float = 1.0, fail: bool = False, nan_above: float = math.inf) -> None:
        self.scale = scale
        self.fail = fail
        self.nan_above = nan_above

    def predict(self, features: Any) -> np.ndarray:
        type(self).calls += 1
        x = np.asarray(features["x"], dtype=float)
        if self.fail:
            raise RuntimeError("model exploded")
        return np.where(x > self.nan_above, math.nan, self.scale * x)
