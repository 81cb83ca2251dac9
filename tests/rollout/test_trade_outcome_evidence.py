"""A host that settles predictions only with trade outcomes gives the rollout the same evidence
as one that reports the asset's return: the trade's return is divided by the served position."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rollout_helpers import KEYS, ScaleModel, champion_and_candidate, config

from ordinis.engines.learning import LearningEngine, SimulatedClock
from ordinis.engines.learning.core.models import RolloutStrategy
from ordinis.engines.learning.rollout.sequential import Analysis

AT = datetime(2021, 1, 4, 21, tzinfo=UTC)


async def _evidence(data_dir: Path, by_trades: bool) -> tuple[Analysis, int]:
    clock = SimulatedClock(AT)
    rng = np.random.default_rng(7)
    async with LearningEngine(config(data_dir), clock=clock) as engine:
        _, v2 = await champion_and_candidate(engine, ScaleModel(0.5))
        await engine.promote_model("alpha", v2, "production",
                                   rollout_strategy=RolloutStrategy.CANARY)
        for _ in range(3):
            xs = {k: float(rng.normal()) for k in KEYS}
            preds = [engine.predict("alpha", k, {"x": xs[k]}) for k in KEYS]
            await engine.update()
            # outcomes arrive within the period's settle time (before the clock moves on, so
            # that no rollout tick closes the period between two awaited trade records)
            for p in preds:
                r = 0.01 * math.tanh(xs[p.key]) + 0.01 * float(rng.standard_t(4))
                if by_trades:
                    held = engine.position_policy(p.version_id).position(p.value)
                    await engine.feedback.record_trade_outcome(
                        symbol=p.key, pnl=held * r * 1000.0, return_pct=held * r,
                        signal_id=p.prediction_id)
                else:
                    engine.record_prediction_outcome(p.prediction_id, r)
            clock.advance(timedelta(days=1))
            await engine.advance_rollouts()
            await engine.drain()
        report = engine.get_rollout("alpha")
        return report.evidence, report.outcomes


async def test_trade_outcomes_settle_predictions_with_the_asset_return(tmp_path: Path) -> None:
    direct, n_direct = await _evidence(tmp_path / "direct", by_trades=False)
    traded, n_traded = await _evidence(tmp_path / "trades", by_trades=True)
    assert n_direct > 0
    # flat served positions (|x| tiny) say nothing; every other prediction settles alike
    assert n_traded == n_direct
    assert traded.periods == direct.periods
    assert math.isclose(traded.mean_difference, direct.mean_difference, rel_tol=1e-9,
                        abs_tol=1e-12)
