"""The whole path from staging to production on the engine's simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from rollout_helpers import ScaleModel, champion_and_candidate, config, trade_day

from ordinis.engines.learning import LearningEngine, SimulatedClock
from ordinis.engines.learning.core.models import ModelStage, RolloutStrategy
from ordinis.engines.learning.evaluation.parity import BacktestRecord
from ordinis.engines.learning.rollout import RolloutPhase

AT = datetime(2021, 1, 4, 21, tzinfo=UTC)


async def test_staging_to_production_through_shadow_approval_and_every_canary_step(
    data_dir: Path,
) -> None:
    clock = SimulatedClock(AT)
    async with LearningEngine(config(data_dir, approval="manual"), clock=clock) as engine:
        v1, v2 = await champion_and_candidate(engine, ScaleModel(1.0))
        await engine.promote_model("alpha", v2, ModelStage.PRODUCTION,
                                   rollout_strategy=RolloutStrategy.CANARY)
        assert engine.get_rollout("alpha").phase is RolloutPhase.SHADOW
        assert engine.get_model_version(v2).stage is ModelStage.SHADOW
        rng = np.random.default_rng(1)
        backtest = pd.Series(rng.normal(0.004, 0.01, 500))
        engine.set_backtest_record(v2, BacktestRecord(returns=backtest))
        await trade_day(engine, rng)
        await trade_day(engine, rng)
        report = engine.get_rollout("alpha")
        assert report.phase is RolloutPhase.AWAITING_APPROVAL
        await engine.approve_rollout("alpha", "alice")
        seen_traffic: list[float] = []
        for _ in range(80):
            report = engine.get_rollout("alpha")
            if report.phase is RolloutPhase.PRODUCTION:
                break
            seen_traffic.append(report.traffic)
            await trade_day(engine, rng)
        report = engine.get_rollout("alpha")
        assert report.phase is RolloutPhase.PRODUCTION, report.decisions[-1]
        assert sorted(set(seen_traffic)) == [0.10, 0.25, 0.50, 1.00]
        actions = [d.action for d in report.decisions if not d.action.startswith("parity")]
        assert actions[:3] == ["start", "await_approval", "approve"]
        assert actions.count("advance") == 3 and actions[-1] == "production"
        # every advance was decided by evidence: the analysis said ADVANCE with its reason
        for d in report.decisions:
            if d.action == "advance":
                assert d.analysis is not None and d.analysis["verdict"] == "advance"
        assert engine.get_production_model("alpha").version_id == v2  # type: ignore[union-attr]
        assert engine.get_model_version(v1).stage is ModelStage.ARCHIVED
        assert engine.route("alpha", "S01").version_id == v2
        assert engine.metrics.sample("model_rollout_state", {"model_name": "alpha"}) == 5
        assert engine.metrics.sample(
            "model_canary_traffic_ratio", {"model_name": "alpha", "version": v2}) == 1.0
        assert engine.metrics.sample(
            "shadow_agreement_ratio", {"model_name": "alpha", "version": v2}) == 1.0
        assert any(r.action == "rollout.production" for r in engine.audit_records())
        # parity from live evidence: too few periods at the end of shadow, measured at the end
        # of canary and stored for the production gates
        parity = [d for d in report.decisions if d.action.startswith("parity")]
        assert parity[0].action == "parity_skipped" and "parity needs 10" in parity[0].reason
        assert parity[-1].action == "parity"
        stored = engine.get_parity(v2)
        assert stored is not None and stored.parity_ratio > 0
