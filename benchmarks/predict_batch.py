"""A host's bar of symbols through the engine: ``engine.predict`` per symbol against one
``engine.predict_batch`` per bar, same engine, same model, same bars (a same-run ratio).

The model is the demo's kind: a LightGBM ``SignalModel`` (200 trees, 15 leaves) on the bar
features, fitted on random rows (speed does not depend on skill). Two settings: the production
version alone, and a canary rollout at its first step (10 % of the keys; every request is also
predicted by the other version in shadow).
The host builds one DataFrame of the bar either way; per-symbol calls pass its one-row slices.

    python benchmarks/predict_batch.py [--bars 400] [--symbols 20]

Last line: RESULT predict_per_bar_ms=… batch_per_bar_ms=… speedup=… canary_speedup=…
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from ordinis.engines.learning import (
    FEATURE_NAMES,
    LearningEngine,
    LearningEngineConfig,
    SimulatedClock,
    write_pipeline_variant,
)
from ordinis.engines.learning.training.models import SignalModel

AT = datetime(2021, 1, 4, 21, tzinfo=UTC)


def _model(seed: int) -> SignalModel:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(5000, len(FEATURE_NAMES))), columns=list(FEATURE_NAMES))
    y = (X.iloc[:, 0] + rng.normal(size=5000) > 0).astype(int)
    est = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=15, verbose=-1)
    est.fit(X, y)
    return SignalModel(FEATURE_NAMES, est, "lightgbm")


async def _time_bars(engine: LearningEngine, frames: list[pd.DataFrame], keys: list[str],
                     batch: bool) -> float:
    """Seconds per bar, the queued work (events, shadow predictions) drained at the end."""
    t0 = time.perf_counter()
    for frame in frames:
        if batch:
            engine.predict_batch("bench", keys, frame)
        else:
            for i, k in enumerate(keys):
                engine.predict("bench", k, frame.iloc[i : i + 1])
    await engine.update()
    return (time.perf_counter() - t0) / len(frames)


async def _run(bars: int, n_symbols: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    keys = [f"S{i:02d}" for i in range(n_symbols)]
    frames = [pd.DataFrame(rng.normal(size=(n_symbols, len(FEATURE_NAMES))),
                           columns=list(FEATURE_NAMES)) for _ in range(bars)]
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ordinis-predict-batch-") as tmp:
        data_dir = Path(tmp)
        pipeline = write_pipeline_variant(
            data_dir / "pipeline.yaml",
            stages={"production": {"approval": "automatic"}},
        )
        cfg = LearningEngineConfig.create(
            data_dir=data_dir, pipeline_config_path=pipeline, require_eval_pass=False,
            enable_drift_detection=False, max_events_memory=1_000_000,
        )
        async with LearningEngine(cfg, clock=SimulatedClock(AT)) as engine:
            v1 = await engine.register_model_version("bench", "v1", model=_model(1))
            await engine.promote_model("bench", v1.version_id, "staging", reason="bench")
            await engine.promote_model("bench", v1.version_id, "production", reason="bench")
            for batch in (False, True):  # warm up both paths
                await _time_bars(engine, frames[:5], keys, batch)
            out["one"] = await _time_bars(engine, frames, keys, False)
            out["batch"] = await _time_bars(engine, frames, keys, True)
            await engine.drain()
            v2 = await engine.register_model_version("bench", "v2", model=_model(2))
            await engine.promote_model("bench", v2.version_id, "staging", reason="bench")
            await engine.promote_model("bench", v2.version_id, "production",
                                       rollout_strategy="canary")
            engine.clock.advance(timedelta(hours=25))  # type: ignore[attr-defined]
            await engine.advance_rollouts()  # shadow period over: the canary's first step
            report = engine.get_rollout("bench")
            if report.traffic <= 0:
                raise SystemExit(f"no canary: {report.decisions[-1]}")
            out["canary_one"] = await _time_bars(engine, frames, keys, False)
            out["canary_batch"] = await _time_bars(engine, frames, keys, True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=400)
    ap.add_argument("--symbols", type=int, default=20)
    args = ap.parse_args()
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    r = asyncio.run(_run(args.bars, args.symbols))
    print(f"{args.bars} bars x {args.symbols} symbols, production version only: predict "
          f"{1e3 * r['one']:.2f} ms/bar, predict_batch {1e3 * r['batch']:.2f} ms/bar")
    print(f"canary at 10 % (shadows included): predict {1e3 * r['canary_one']:.2f} ms/bar, "
          f"predict_batch {1e3 * r['canary_batch']:.2f} ms/bar")
    print(f"RESULT predict_per_bar_ms={1e3 * r['one']:.2f} batch_per_bar_ms={1e3 * r['batch']:.2f}"
          f" speedup={r['one'] / r['batch']:.1f} "
          f"canary_speedup={r['canary_one'] / r['canary_batch']:.1f}")


if __name__ == "__main__":
    main()
