"""The loop's last mile on the real engine: a staged candidate whose production verdict waits
only for parity goes on to the pipeline's rollout; one the production gates block stays
staged. The planted-edge pack of test_production_gates gives a candidate that passes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from honest_models import LinearRule
from test_production_gates import PARITY_OK

from ordinis.engines.learning import (
    LearningEngine,
    LearningEngineConfig,
    ModelStage,
    SimulatedClock,
)
from ordinis.engines.learning.feedback.pipeline_spec import write_pipeline_variant
from ordinis.engines.learning.rollout.state import RolloutPhase
from planted_edge import EDGE_WINDOW, MomentumRule, planted_edge_close

AT = datetime(2020, 6, 1, 21, tzinfo=UTC)


async def test_the_loop_rolls_out_a_candidate_the_production_gates_allow(
    data_dir: Path, tmp_path: Path
) -> None:
    pipeline = write_pipeline_variant(
        tmp_path / "pipeline.yaml", stages={"evaluation": {"benchmarks": ["pack_90_planted_edge"]}}
    )
    cfg = LearningEngineConfig.create(
        data_dir=data_dir, bootstrap_resamples=200, pipeline_config_path=pipeline
    )
    async with LearningEngine(cfg, clock=SimulatedClock(AT)) as engine:
        engine.register_benchmark("pack_90_planted_edge", planted_edge_close())
        v1 = (await engine.register_model_version(
            "edge", "v1", model=MomentumRule(), lineage=EDGE_WINDOW)).version_id
        await engine.promote_model("edge", v1, ModelStage.STAGING)
        await engine.evaluate_model(v1, ["pack_90_planted_edge"])
        await engine.record_parity(v1, PARITY_OK)
        await engine.promote_model("edge", v1, ModelStage.PRODUCTION)

        noise = (await engine.register_model_version(
            "edge", "v2", model=LinearRule(3), lineage=EDGE_WINDOW)).version_id
        edge = (await engine.register_model_version(
            "edge", "v3", model=MomentumRule(), lineage=EDGE_WINDOW)).version_id
        for version in (noise, edge):
            await engine.promote_model("edge", version, ModelStage.STAGING)  # as the loop does
        actions = engine._require().loop.actions

        refused = await actions.start_rollout("edge", noise, "retrain T1 passed the gates")
        assert not refused.started and refused.considered
        assert refused.message.startswith("edge:v2 stays staged: production: blocked by ")
        assert engine.get_model_version(noise).stage is ModelStage.STAGING
        assert engine.list_rollouts() == []

        start = await actions.start_rollout("edge", edge, "retrain T2 passed the gates")
        assert start.started and start.rollout_id is not None
        assert start.message == (
            f"canary rollout {start.rollout_id} of edge:v3 against edge:v1 started in shadow"
        )
        rollout = engine.get_rollout("edge")
        assert (rollout.candidate, rollout.champion) == (edge, v1)
        assert rollout.phase is RolloutPhase.SHADOW and rollout.traffic == 0.0
        assert engine.get_model_version(edge).stage is ModelStage.SHADOW
        assert engine.get_production_model("edge").version_id == v1  # type: ignore[union-attr]
        # its production verdict was computed on the pipeline's pack and waits only for parity
        verdict = engine.get_model_version(edge).production_verdict
        assert verdict is not None and verdict.waiting_for == ("parity",)
        assert verdict.blocked_by == () and verdict.packs[0].startswith("pack_90_planted_edge@")
        starts = [r for r in engine.audit_records() if r.action == "rollout.start"]
        assert [(r.actor, r.target) for r in starts] == [("loop", edge)]
