"""Evaluations are a history per gate set: one gate set never overwrites another's tags, each
evaluation is its own MLflow run (engine-clock time, step = the version's evaluation number),
and no version keeps a stale ``stage`` tag after it moved on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlflow import MlflowClient

from ordinis.engines.learning import (
    LearningEngine,
    LearningEngineConfig,
    ModelStage,
    SimulatedClock,
)

AT = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)
METRICS = {"sharpe": 1.2, "max_drawdown": 0.1}


def _config(tmp_path: Path) -> LearningEngineConfig:
    return LearningEngineConfig.create(
        data_dir=tmp_path / "learning", auto_retrain_enabled=False,
        enable_drift_detection=False, require_eval_pass=False,
    )


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


async def test_each_gate_set_keeps_its_latest_and_every_evaluation_is_a_run(
    tmp_path: Path,
) -> None:
    cfg = _config(tmp_path)
    clock = SimulatedClock(AT)
    async with LearningEngine(cfg, clock=clock) as engine:
        mv = await engine.register_model_version("eh", "v1", metrics=METRICS)
        a = await engine.evaluate_model("eh:v1", metrics=METRICS, gate_set="production")
        clock.advance(timedelta(hours=1))
        b = await engine.evaluate_model("eh:v1", metrics=METRICS, gate_set="staging")
        clock.advance(timedelta(hours=1))
        c = await engine.evaluate_model("eh:v1", metrics=METRICS, gate_set="production")
        history = engine.get_evaluations("eh:v1")
        assert [(r.evaluation_id, r.gate_set) for r in history] == [
            (a.evaluation_id, "production"), (b.evaluation_id, "staging"),
            (c.evaluation_id, "production")]

    client = MlflowClient(tracking_uri=cfg.resolved_mlflow_uri)
    (ml,) = client.search_model_versions("name='eh'")
    tags = ml.tags
    # the staging evaluation between the two production ones did not replace theirs
    assert tags["evaluation.production.id"] == c.evaluation_id
    assert tags["evaluation.staging.id"] == b.evaluation_id
    assert tags["evaluation.staging.at"] == (AT + timedelta(hours=1)).isoformat()
    assert tags["evaluation.staging.passed"] == str(b.passed).lower()
    assert tags["evaluation.production.passed"] == str(c.passed).lower()
    assert tags["evaluation.id"] == c.evaluation_id  # the latest of any gate set, named
    assert tags["evaluation.gate_set"] == "production"

    exp = client.get_experiment_by_name(
        next(e.name for e in client.search_experiments() if "eh" in e.name))
    runs = client.search_runs([exp.experiment_id], "tags.`ordinis.kind` = 'evaluation'")
    by_id = {r.data.tags["ordinis.evaluation_id"]: r for r in runs}
    assert set(by_id) == {a.evaluation_id, b.evaluation_id, c.evaluation_id}
    assert tags["evaluation.run_id"] == by_id[c.evaluation_id].info.run_id
    assert tags["evaluation.staging.run_id"] == by_id[b.evaluation_id].info.run_id
    for seq, (res, hours) in enumerate(((a, 0), (b, 1), (c, 2)), start=1):
        run = by_id[res.evaluation_id]
        assert run.data.tags["ordinis.gate_set"] == res.gate_set
        assert run.data.tags["ordinis.evaluation_sequence"] == str(seq)
        assert run.data.tags.get("mlflow.parentRunId") == mv.run_id
        assert run.info.start_time == _ms(AT + timedelta(hours=hours))
        (point,) = client.get_metric_history(run.info.run_id, "eval_sharpe")
        assert (point.value, point.step, point.timestamp) == (
            1.2, seq, _ms(AT + timedelta(hours=hours)))


async def test_no_stale_stage_tag_after_promotions_and_a_rollback(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    async with LearningEngine(cfg, clock=SimulatedClock(AT)) as engine:
        for v in ("v1", "v2", "v3"):
            await engine.register_model_version("st", v, metrics=METRICS)
        for v in ("v1", "v2"):
            await engine.promote_model("st", f"st:{v}", ModelStage.STAGING)
            await engine.promote_model("st", f"st:{v}", ModelStage.PRODUCTION)
        await engine.rollback("st", "v2 misbehaved")
        stages = {mv.version: mv.stage.value for mv in engine.list_model_versions("st")}
    assert stages == {"v1": "production", "v2": "archived", "v3": "development"}
    client = MlflowClient(tracking_uri=cfg.resolved_mlflow_uri)
    tagged = {mv.tags["version"]: mv.tags["stage"]
              for mv in client.search_model_versions("name='st'")}
    assert tagged == stages
    reg = client.get_registered_model("st")
    by_alias = {alias: client.get_model_version("st", n).tags["version"]
                for alias, n in reg.aliases.items()}
    assert by_alias["production"] == "v1"
    assert "v2" not in {v for a, v in by_alias.items() if a in ("staging", "production")}
