"""The whole path from staging to production on the engine's simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rollout_helpers import ScaleModel, champion_and_candidate, config, trade_day

from ordinis.engines.learning import LearningEngine, SimulatedClock
from ordinis.engines.learning.core.errors import PolicyDeniedError
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
        rng = np.random.default_rng(1)
        backtest = pd.Series(rng.normal(0.004, 0.01, 500))
        engine.set_backtest_record(v2, BacktestRecord(returns=backtest))
        await engine.promote_model("alpha", v2, ModelStage.PRODUCTION,
                                   rollout_strategy=RolloutStrategy.CANARY)
        assert engine.get_rollout("alpha").phase is RolloutPhase.SHADOW
        assert engine.get_model_version(v2).stage is ModelStage.SHADOW
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
        assert engine.metrics.sample("model_rollout_state", {"model_name": "alpha"}) == 4
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


async def test_blue_green_switches_atomically_and_switches_back_at_once(data_dir: Path) -> None:
    clock = SimulatedClock(AT)
    async with LearningEngine(config(data_dir), clock=clock) as engine:
        rng = np.random.default_rng(2)
        # IMMEDIATE is refused by default (emergencies only, allow_immediate_rollout)
        await champion_and_candidate(engine, ScaleModel(1.0), "bg")
        with pytest.raises(PolicyDeniedError, match="allow_immediate_rollout"):
            await engine.promote_model("bg", "bg:v2", "production", rollout_strategy="immediate",
                                       reason="hotfix")
        await champion_and_candidate(engine, ScaleModel(1.0), "bg2")
        for name in ("bg", "bg2"):
            await engine.promote_model(name, f"{name}:v2", "production",
                                       rollout_strategy=RolloutStrategy.BLUE_GREEN)
        names = ("bg", "bg2")
        await trade_day(engine, rng, names)  # 24 h of shadow
        for name in names:  # health-checked in shadow, then one switch of all traffic
            report = engine.get_rollout(name)
            assert (report.phase, report.traffic) == (RolloutPhase.BLUE_GREEN, 1.0)
            assert {engine.route(name, f"K{i}").version_id for i in range(50)} == {f"{name}:v2"}
            assert engine.get_production_model(name).version_id == f"{name}:v2"  # type: ignore[union-attr]
        # switch back: the blue slot serves again at once and is production again
        await engine.abort_rollout("bg2", "latency alarm")
        assert {engine.route("bg2", f"K{i}").version_id for i in range(50)} == {"bg2:v1"}
        assert engine.get_production_model("bg2").version_id == "bg2:v1"  # type: ignore[union-attr]
        assert engine.get_model_version("bg2:v2").stage is ModelStage.ARCHIVED
        assert engine.metrics.sample(
            "model_rollbacks_total", {"model_name": "bg2", "reason": "operator"}) == 1.0
        # the other one, watched through the watch period (24 h), stays
        await trade_day(engine, rng, ("bg",))
        assert engine.get_rollout("bg").phase is RolloutPhase.PRODUCTION
        assert engine.get_model_version("bg:v1").stage is ModelStage.ARCHIVED


async def test_a_rollout_without_a_champion_is_a_promotion_and_its_refusal_says_so(
    data_dir: Path,
) -> None:
    """No production version: a shadow rollout has nothing to run against, so it is the first
    promotion to production. With the production gates required and no production evaluation
    it is refused, and the message says why a shadow rollout met a production policy."""
    cfg = config(data_dir).model_copy(update={"require_eval_pass": True})
    async with LearningEngine(cfg, clock=SimulatedClock(AT)) as engine:
        mv = await engine.register_model_version("alpha", "v1", model=ScaleModel(1.0))
        await engine.promote_model("alpha", mv.version_id, "staging", reason="candidate")
        with pytest.raises(PolicyDeniedError) as err:
            await engine.start_rollout("alpha", mv.version_id, RolloutStrategy.SHADOW)
        assert err.value.policy == "require_eval_pass"
        assert str(err.value).startswith(
            "promote denied by policy 'require_eval_pass': alpha has no production version to "
            "run a shadow rollout against, so starting one promotes alpha:v1 to production at "
            "once, and that is refused: version alpha:v1 ")
        assert engine.get_model_version(mv.version_id).stage is ModelStage.STAGING

