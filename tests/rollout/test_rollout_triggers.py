"""Each rollback trigger rolls back: harm, prediction errors, non-finite outputs, a breaker
trip on the candidate's traffic, a critical drift alert on the candidate; and an operator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from rollout_helpers import (
    KEYS,
    ScaleModel,
    champion_and_candidate,
    config,
    to_canary,
    trade_day,
)

from ordinis.engines.learning import LearningEngine, SimulatedClock
from ordinis.engines.learning.core.errors import PolicyDeniedError, ValidationError
from ordinis.engines.learning.core.models import ModelStage
from ordinis.engines.learning.rollout import RolloutPhase

AT = datetime(2021, 1, 4, 21, tzinfo=UTC)


def _rolled_back(engine: LearningEngine, v1: str, v2: str, reason: str) -> None:
    report = engine.get_rollout("alpha")
    assert report.phase is RolloutPhase.ROLLED_BACK
    assert report.rollback_reason is not None and report.rollback_reason.startswith(reason)
    assert report.traffic == 0.0
    assert all(engine.route("alpha", k).version_id == v1 for k in KEYS)
    assert engine.get_model_version(v2).stage is ModelStage.ARCHIVED
    assert engine.get_production_model("alpha").version_id == v1  # type: ignore[union-attr]
    assert engine.metrics.sample(
        "model_rollbacks_total", {"model_name": "alpha", "reason": reason}) == 1.0
    assert any(r.action == "rollout.rollback" and r.target == v2 for r in engine.audit_records())


async def test_harm_an_inverted_candidate_is_rolled_back_by_the_analysis(data_dir: Path) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        v1, v2 = await champion_and_candidate(engine, ScaleModel(-1.0))
        await engine.promote_model("alpha", v2, "production", rollout_strategy="canary")
        rng = np.random.default_rng(3)
        for _ in range(60):
            await trade_day(engine, rng)
            if engine.get_rollout("alpha").phase.is_final:
                break
        _rolled_back(engine, v1, v2, "harm")
        report = engine.get_rollout("alpha")
        assert report.evidence.upper < 0  # the interval on candidate - champion is below 0
        assert max(d.traffic for d in report.decisions) <= 0.10


@pytest.mark.parametrize(("kind", "reason"), [("fail", "prediction_error"),
                                              ("nan", "non_finite_output")])
async def test_a_candidate_failing_in_shadow_is_rolled_back(
    data_dir: Path, kind: str, reason: str
) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        bad = ScaleModel(fail=kind == "fail", nan=kind == "nan")
        v1, v2 = await champion_and_candidate(engine, bad)
        await engine.promote_model("alpha", v2, "production", rollout_strategy="canary")
        p = engine.predict("alpha", "S01", {"x": 0.5})
        assert (p.version_id, p.value) == (v1, 0.5)
        await engine.update()
        await engine.drain()
        _rolled_back(engine, v1, v2, reason)


@pytest.mark.parametrize(("kind", "reason"), [("fail", "prediction_error"),
                                              ("nan", "non_finite_output")])
async def test_a_candidate_failing_on_its_traffic_is_replaced_by_the_champion_at_once(
    data_dir: Path, kind: str, reason: str
) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        bad = ScaleModel(fail=kind == "fail", nan=kind == "nan", above=50.0)
        v1, v2 = await champion_and_candidate(engine, bad)
        key = await to_canary(engine, v2, np.random.default_rng(4))
        p = engine.predict("alpha", key, {"x": 60.0})  # the candidate fails on this request
        assert (p.version_id, p.value, p.role) == (v1, 60.0, "champion")
        await engine.drain()
        _rolled_back(engine, v1, v2, reason)


async def test_a_breaker_trip_on_the_candidates_traffic_rolls_back(data_dir: Path) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        v1, v2 = await champion_and_candidate(engine, ScaleModel(1.0))
        key = await to_canary(engine, v2, np.random.default_rng(5))
        champion_key = next(k for k in (f"K{i}" for i in range(1000))
                            if engine.route("alpha", k).role == "champion")
        for _ in range(10):  # errors on the champion's traffic are not the candidate's
            assert not engine.report_serving_error("alpha", champion_key, "order_rejected")
        tripped = [engine.report_serving_error("alpha", key, "order_rejected") for _ in range(5)]
        assert tripped == [False, False, False, False, True]
        await engine.drain()
        _rolled_back(engine, v1, v2, "breaker_trip")


async def test_a_critical_drift_alert_on_the_candidate_rolls_back(data_dir: Path) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        v1, v2 = await champion_and_candidate(engine, ScaleModel(1.0))
        await to_canary(engine, v2, np.random.default_rng(6))
        engine.set_baseline(v2, {"sharpe": 2.0})
        engine.check_drift(v2, {"sharpe": 1.7})  # a warning is not enough
        assert engine.get_rollout("alpha").phase is RolloutPhase.CANARY
        alerts = engine.check_drift(v2, {"sharpe": -2.0})
        assert alerts and alerts[0].severity.value == "critical"
        await engine.drain()
        _rolled_back(engine, v1, v2, "critical_drift")


async def test_an_operator_abort_restores_the_champion_and_immediate_needs_policy(
    data_dir: Path,
) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        v1, v2 = await champion_and_candidate(engine, ScaleModel(1.0))
        key = await to_canary(engine, v2, np.random.default_rng(7))
        with pytest.raises(ValidationError, match="already has rollout"):
            await engine.start_rollout("alpha", v2)
        report = await engine.abort_rollout("alpha", "pager went off", actor="bob")
        assert report.phase is RolloutPhase.ABORTED
        assert engine.route("alpha", key).version_id == v1
        assert engine.get_model_version(v2).stage is ModelStage.ARCHIVED
        # IMMEDIATE is for emergencies: refused by default, and audited either way
        v3 = (await engine.register_model_version("alpha", "v3", model=ScaleModel())).version_id
        await engine.promote_model("alpha", v3, "staging")
        with pytest.raises(PolicyDeniedError, match="allow_immediate_rollout"):
            await engine.promote_model("alpha", v3, "production", rollout_strategy="immediate",
                                       reason="hotfix")
        assert engine.audit_records()[-1].action == "rollout.immediate"
        assert engine.get_production_model("alpha").version_id == v1  # type: ignore[union-attr]


async def test_immediate_with_policy_and_reason_cuts_over_at_once(data_dir: Path) -> None:
    cfg = config(data_dir, allow_immediate_rollout=True)
    async with LearningEngine(cfg, clock=SimulatedClock(AT)) as engine:
        v1, v2 = await champion_and_candidate(engine, ScaleModel(2.0))
        with pytest.raises(PolicyDeniedError, match="reason"):
            await engine.promote_model("alpha", v2, "production", rollout_strategy="immediate")
        await engine.promote_model("alpha", v2, "production", rollout_strategy="immediate",
                                   reason="champion leaks orders")
        assert engine.route("alpha", "S01").version_id == v2
        assert engine.predict("alpha", "S01", {"x": 1.0}).value == 2.0
        assert engine.get_model_version(v1).stage is ModelStage.ARCHIVED
