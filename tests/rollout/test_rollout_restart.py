"""SIGKILL mid-canary, then a restart: the rollout resumes at the same step, same traffic,
same assignments, and carries on to production."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from rollout_helpers import config, trade_day

from ordinis.engines.learning import LearningEngine, SimulatedClock
from ordinis.engines.learning.rollout import RolloutPhase

HERE = Path(__file__).parent


def _run_child_and_kill(data_dir: Path) -> dict[str, Any]:
    """Start the child, wait for its report at the 25 % step, SIGKILL it; returns the report."""
    marker = data_dir.parent / "marker.json"
    env = dict(os.environ, PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    child = subprocess.Popen([sys.executable, str(HERE / "sigkill_child.py"), str(data_dir),
                              str(marker)], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            if child.poll() is not None:
                raise AssertionError(child.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "child never reached the 25% step"
            time.sleep(0.2)
        time.sleep(0.2)
        report: dict[str, Any] = json.loads(marker.read_text())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return report


async def test_sigkill_mid_canary_then_restart_resumes_at_the_same_step(data_dir: Path) -> None:
    before = await asyncio.to_thread(_run_child_and_kill, data_dir)
    assert before["step"] == 1 and before["traffic"] == 0.25

    clock = SimulatedClock(datetime.fromisoformat(before["now"]))
    async with LearningEngine(config(data_dir), clock=clock) as engine:
        report = engine.get_rollout("alpha")
        assert report.phase is RolloutPhase.CANARY
        assert (report.rollout_id, report.step, report.traffic) == (
            before["rollout_id"], 1, 0.25)
        assert report.evidence.periods == before["periods"]
        assert {k: engine.route("alpha", k).version_id for k in before["routes"]} == \
            before["routes"]
        rng = np.random.default_rng(12)
        for _ in range(60):
            if engine.get_rollout("alpha").phase.is_final:
                break
            await trade_day(engine, rng)
        assert engine.get_rollout("alpha").phase is RolloutPhase.PRODUCTION
