"""Each rollback trigger rolls back: harm, prediction errors, non-finite outputs, a breaker
trip on the candidate's traffic, a critical drift alert on the candidate; and an operator.

Several models share one engine per test (starting an engine with MLflow is the slow part).
"""

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
    key_of,
    to_canary,
    trade_day,
)

from ordinis.engines.learning import LearningEngine, SimulatedClock
from ordinis.engines.learning.core.errors import PolicyDeniedError, ValidationError
from ordinis.engines.learning.core.models import ModelStage
from ordinis.engines.learning.rollout import RolloutPhase

AT = datetime(2021, 1, 4, 21, tzinfo=UTC)


def _rolled_back(engine: LearningEngine, name: str, reason: str) -> None:
    v1, v2 = f"{name}:v1", f"{name}:v2"
    report = engine.get_rollout(name)
    assert report.phase is RolloutPhase.ROLLED_BACK
    assert report.rollback_reason is not None and report.rollback_reason.startswith(reason)
    assert report.traffic == 0.0
    assert all(engine.route(name, k).version_id == v1 for k in KEYS)
    assert engine.get_model_version(v2).stage is ModelStage.ARCHIVED
    assert engine.get_production_model(name).version_id == v1  # type: ignore[union-attr]
    assert engine.metrics.sample(
        "model_rollbacks_total", {"model_name": name, "reason": reason}) == 1.0
    assert any(r.action == "rollout.rollback" and r.target == v2 for r in engine.audit_records())


async def test_harm_an_inverted_candidate_is_rolled_back_by_the_analysis(data_dir: Path) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        await champion_and_candidate(engine, ScaleModel(-1.0))
        await engine.promote_model("alpha", "alpha:v2", "production", rollout_strategy="canary")
        rng = np.random.default_rng(3)
        for _ in range(60):
            await trade_day(engine, rng)
            if engine.get_rollout("alpha").phase.is_final:
                break
        _rolled_back(engine, "alpha", "harm")
        report = engine.get_rollout("alpha")
        assert report.evidence.upper < 0  # the interval on candidate - champion is below 0
        assert max(d.traffic for d in report.decisions) <= 0.10


async def test_failing_candidates_roll_back_in_shadow_and_on_their_traffic(
    data_dir: Path,
) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        # in shadow: the served signal is the champion's; the failure shows off the hot path
        await champion_and_candidate(engine, ScaleModel(fail=True), "sfail")
        await champion_and_candidate(engine, ScaleModel(nan=True), "snan")
        for name in ("sfail", "snan"):
            await engine.promote_model(name, f"{name}:v2", "production", rollout_strategy="canary")
            p = engine.predict(name, "S01", {"x": 0.5})
            assert (p.version_id, p.value) == (f"{name}:v1", 0.5)
        await engine.update()
        await engine.drain()
        _rolled_back(engine, "sfail", "prediction_error")
        _rolled_back(engine, "snan", "non_finite_output")
        # on its own traffic: the champion answers that very request, the candidate is gone
        rng = np.random.default_rng(4)
        for name, bad in (("tfail", ScaleModel(fail=True, above=50.0)),
                          ("tnan", ScaleModel(nan=True, above=50.0))):
            await champion_and_candidate(engine, bad, name)
            key = await to_canary(engine, f"{name}:v2", rng, name)
            p = engine.predict(name, key, {"x": 60.0})
            assert (p.version_id, p.value, p.role) == (f"{name}:v1", 60.0, "champion")
        await engine.drain()
        _rolled_back(engine, "tfail", "prediction_error")
        _rolled_back(engine, "tnan", "non_finite_output")


async def test_a_breaker_trip_or_a_critical_drift_alert_on_the_candidate_rolls_back(
    data_dir: Path,
) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        rng = np.random.default_rng(5)
        await champion_and_candidate(engine, ScaleModel(1.0), "brk")
        key = await to_canary(engine, "brk:v2", rng, "brk")
        champion_key = key_of(engine, "brk", "champion")
        for _ in range(10):  # errors on the champion's traffic are not the candidate's
            assert not engine.report_serving_error("brk", champion_key, "order_rejected")
        tripped = [engine.report_serving_error("brk", key, "order_rejected") for _ in range(5)]
        assert tripped == [False, False, False, False, True]
        await engine.drain()
        _rolled_back(engine, "brk", "breaker_trip")

        await champion_and_candidate(engine, ScaleModel(1.0), "dft")
        await to_canary(engine, "dft:v2", rng, "dft")
        engine.set_baseline("dft:v2", {"sharpe": 2.0})
        engine.check_drift("dft:v2", {"sharpe": 1.7})  # a warning is not enough
        assert engine.get_rollout("dft").phase is RolloutPhase.CANARY
        alerts = engine.check_drift("dft:v2", {"sharpe": -2.0})
        assert alerts and alerts[0].severity.value == "critical"
        await engine.drain()
        _rolled_back(engine, "dft", "critical_drift")


async def test_operator_abort_and_immediate_only_with_policy_and_a_reason(data_dir: Path) -> None:
    cfg = config(data_dir, allow_immediate_rollout=True)
    async with LearningEngine(cfg, clock=SimulatedClock(AT)) as engine:
        await champion_and_candidate(engine, ScaleModel(2.0))
        key = await to_canary(engine, "alpha:v2", np.random.default_rng(7))
        with pytest.raises(ValidationError, match="already has rollout"):
            await engine.start_rollout("alpha", "alpha:v2")
        report = await engine.abort_rollout("alpha", "pager went off", actor="bob")
        assert report.phase is RolloutPhase.ABORTED
        assert engine.route("alpha", key).version_id == "alpha:v1"
        assert engine.get_model_version("alpha:v2").stage is ModelStage.ARCHIVED
        assert engine.metrics.sample(
            "model_rollbacks_total", {"model_name": "alpha", "reason": "operator"}) == 1.0
        # IMMEDIATE: emergencies only, with a reason, audited
        v3 = (await engine.register_model_version("alpha", "v3", model=ScaleModel(3.0))).version_id
        await engine.promote_model("alpha", v3, "staging")
        with pytest.raises(PolicyDeniedError, match="reason"):
            await engine.promote_model("alpha", v3, "production", rollout_strategy="immediate")
        await engine.promote_model("alpha", v3, "production", rollout_strategy="immediate",
                                   reason="champion leaks orders")
        assert [r.decision for r in engine.audit_records()
                if r.action == "rollout.immediate"] == ["deny", "allow"]
        assert engine.predict("alpha", "S01", {"x": 1.0}).value == 3.0
        assert engine.get_model_version("alpha:v1").stage is ModelStage.ARCHIVED
