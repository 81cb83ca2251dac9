"""Child process of the SIGKILL test: rolls out to the 25 % step, reports, then waits to die."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rollout_helpers import ScaleModel, champion_and_candidate, config, trade_day

from ordinis.engines.learning import LearningEngine, SimulatedClock


async def main(data_dir: Path, marker: Path) -> None:
    clock = SimulatedClock(datetime(2021, 1, 4, 21, tzinfo=UTC))
    engine = LearningEngine(config(data_dir), clock=clock)
    await engine.initialize()
    await champion_and_candidate(engine, ScaleModel(1.0))
    await engine.promote_model("alpha", "alpha:v2", "production", rollout_strategy="canary")
    rng = np.random.default_rng(11)
    while engine.get_rollout("alpha").step < 1:
        await trade_day(engine, rng)
    report = engine.get_rollout("alpha")
    keys = [f"K{i}" for i in range(200)]
    text = json.dumps({
        "rollout_id": report.rollout_id, "step": report.step, "traffic": report.traffic,
        "periods": report.evidence.periods, "now": clock.now().isoformat(),
        "routes": {k: engine.route("alpha", k).version_id for k in keys},
    })
    await asyncio.to_thread(marker.write_text, text)
    await asyncio.sleep(3600)  # killed here, mid-canary, without a shutdown


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
