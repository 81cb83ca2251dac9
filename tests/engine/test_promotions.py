"""Four eyes in the library: request -> refused self-approval -> another approver promotes;
explain_promotion lists what still blocks, including staged time and open breakers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ordinis.engines.learning import (
    LearningEngine,
    LearningEngineConfig,
    ModelStage,
    PolicyDeniedError,
    RequestStatus,
    SimulatedClock,
)

AT = datetime(2024, 1, 8, 15, 0, tzinfo=UTC)


async def test_four_eyes_and_explain(tmp_path: Path) -> None:
    cfg = LearningEngineConfig.create(
        data_dir=tmp_path / "learning", approval="manual", production_min_staged_seconds=3600,
        auto_retrain_enabled=False, enable_drift_detection=False,
        require_eval_pass=False,  # four eyes and staged time here; production gates elsewhere
    )
    clock = SimulatedClock(AT)
    async with LearningEngine(cfg, clock=clock) as engine:
        await engine.register_model_version("m", "v1", metrics={"sharpe": 1.2})
        await engine.evaluate_model("m:v1", metrics={"sharpe": 1.2}, thresholds={"sharpe": 1.0})
        await engine.promote_model("m", "m:v1", ModelStage.STAGING, actor="bert")

        blocked = {r.policy for r in engine.explain_promotion("m:v1", actor="bert")}
        assert blocked == {"min_staged_time", "approval_required"}

        req = await engine.request_promotion("m:v1", requested_by="bert", reason="ready")
        assert req.status is RequestStatus.PENDING
        clock.advance(timedelta(hours=2))
        assert {r.policy for r in engine.explain_promotion("m:v1")} == {"approval_required"}

        with pytest.raises(PolicyDeniedError, match="cannot approve"):
            await engine.approve_promotion(req.request_id, "bert")
        assert engine.get_model_version("m:v1").stage is ModelStage.STAGING

        engine.breakers.trip("signal", "test", by="ops")
        with pytest.raises(PolicyDeniedError, match="breakers_closed"):
            await engine.approve_promotion(req.request_id, "anna")
        assert engine.get_promotion_request(req.request_id).status is RequestStatus.PENDING
        engine.reset_breaker("signal", "ops", "cause fixed")

        mv = await engine.approve_promotion(req.request_id, "anna", "reviewed")
        assert mv.stage is ModelStage.PRODUCTION
        done = engine.get_promotion_request(req.request_id)
        assert done.status is RequestStatus.PROMOTED and done.decided_by == "anna"
        decisions = [(a.actor, a.action, a.decision) for a in engine.audit_records()
                     if a.action.startswith("promotion.")]
        assert decisions == [
            ("bert", "promotion.request", "deny"),
            ("bert", "promotion.approve", "deny"),
            ("anna", "promotion.approve", "allow"),
        ]
