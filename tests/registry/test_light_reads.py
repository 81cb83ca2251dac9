"""The registry read from MLflow's tables without MLflow (``mlflow_sqlite`` + ``RegistryView``)
answers what MlflowClient and ModelRegistry answer: versions, stages and aliases, tags,
lineage, production blockers; on a store it does not know it says so (None), and the caller
uses MlflowClient."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ordinis.engines.learning import (
    EngineReader,
    LearningEngine,
    LearningEngineConfig,
    ModelStage,
    SimulatedClock,
)
from ordinis.engines.learning.registry.mlflow_backend import MlflowBackend
from ordinis.engines.learning.registry.mlflow_sqlite import load_models
from ordinis.engines.learning.registry.tags import TAG_STAGE
from ordinis.engines.learning.registry.view import RegistryView

AT = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)
METRICS = {"sharpe": 1.2, "max_drawdown": 0.1}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> LearningEngineConfig:
    """Two models: promotions, a rollback, evaluations of two gate sets, shared lineage; then
    behind the engine's back a stale stage tag, a deleted version and an unmanaged model."""
    import asyncio

    cfg = LearningEngineConfig.create(
        data_dir=tmp_path_factory.mktemp("light") / "learning", auto_retrain_enabled=False,
        enable_drift_detection=False, require_eval_pass=False,
    )

    async def build() -> None:
        clock = SimulatedClock(AT)
        async with LearningEngine(cfg, clock=clock) as engine:
            for name in ("alpha", "beta"):
                for v in ("v1", "v2", "v3"):
                    await engine.register_model_version(
                        name, v, metrics=METRICS, parameters={"alpha": 1.0, "depth": 3},
                        lineage={"data_hash": "d1", "feature_set": "fs"},
                        description=f"{name} {v}")
                    clock.advance(timedelta(minutes=5))
            await engine.evaluate_model("alpha:v1", metrics=METRICS, gate_set="production")
            await engine.evaluate_model("alpha:v2", metrics=METRICS, gate_set="staging")
            for v in ("v1", "v2"):
                await engine.promote_model("alpha", f"alpha:{v}", ModelStage.STAGING)
                clock.advance(timedelta(hours=1))
                await engine.promote_model("alpha", f"alpha:{v}", ModelStage.PRODUCTION)
                clock.advance(timedelta(hours=1))
            await engine.rollback("alpha", "v2 misbehaved")
            await engine.promote_model("beta", "beta:v3", ModelStage.STAGING)

    asyncio.run(build())
    client = MlflowClient(tracking_uri=cfg.resolved_mlflow_uri)
    by_version = {mv.tags["version"]: mv.version
                  for mv in client.search_model_versions("name='beta'")}
    client.set_model_version_tag("beta", by_version["v1"], TAG_STAGE, "production")  # stale
    client.delete_model_version("beta", by_version["v2"])
    client.create_registered_model("not-ours")
    client.create_model_version("not-ours", source="file:///tmp/x", tags={"version": "v1"})
    return cfg


def test_the_tables_give_what_mlflowclient_gives(config: LearningEngineConfig) -> None:
    uri = config.resolved_mlflow_uri
    light = load_models(uri)
    full = MlflowBackend(uri, None).load_all()
    assert light is not None
    assert {m.name: m for m in light} == {m.name: m for m in full}
    assert sorted(m.name for m in light) == ["alpha", "beta"]  # not-ours is not managed
    beta = next(m for m in light if m.name == "beta")
    assert [lv.version.version for lv in beta.versions] == ["v1", "v3"]  # v2 was deleted


def test_the_view_answers_what_the_registry_answers(config: LearningEngineConfig) -> None:
    uri = config.resolved_mlflow_uri
    models = load_models(uri)
    assert models is not None
    view = RegistryView(models)
    engine = LearningEngine.open_read_only(config)

    async def full() -> None:
        async with engine:
            assert view.list_models() == engine.list_models()
            for name in engine.list_models():
                assert view.list_versions(name) == engine.list_model_versions(name)
                assert view.get_production_model(name) == engine.get_production_model(name)
                for mv in engine.list_model_versions(name):
                    assert view.get_model_version(mv.version_id) == mv
                    assert view.production_blocker(mv.version_id) == \
                        engine.production_blocker(mv.version_id)
            # the production alias wins over the stale tag, as in the registry
            assert view.get_model_version("beta:v1").stage is ModelStage.ARCHIVED
            assert view.get_production_model("alpha").version == "v1"  # after the rollback
            assert view.list_versions("alpha", "archived") == \
                engine.list_model_versions("alpha", ModelStage.ARCHIVED)
            for bad in ("gamma:v1", "alpha:v9", "alpha"):
                with pytest.raises(Exception) as ours:
                    view.get_model_version(bad)
                with pytest.raises(Exception) as theirs:
                    engine.get_model_version(bad)
                assert (type(ours.value), str(ours.value)) == \
                    (type(theirs.value), str(theirs.value))

    import asyncio

    asyncio.run(full())


def test_history_and_evaluations_through_the_reader(config: LearningEngineConfig) -> None:
    engine = LearningEngine.open_read_only(config)

    async def full() -> None:
        async with engine:
            with EngineReader(config) as reader:
                assert reader.registry_readable()
                assert reader.stage_history("alpha") == engine.stage_history("alpha")
                assert reader.stage_history("alpha", "alpha:v2") == \
                    engine.stage_history("alpha", "alpha:v2")
                for hours in (0, 1.5, 2.5, 3.5, 4.5, 10):
                    t = AT + timedelta(hours=hours)
                    for stage in ("production", "staging", ModelStage.ARCHIVED):
                        assert reader.version_at("alpha", t, stage) == \
                            engine.version_at("alpha", t, stage)
                assert reader.get_evaluations("alpha:v1") == engine.get_evaluations("alpha:v1")

    import asyncio

    asyncio.run(full())


def test_a_store_it_does_not_know_is_left_to_mlflowclient(tmp_path: Path) -> None:
    assert load_models("http://127.0.0.1:5000") is None
    assert load_models(f"sqlite:///{tmp_path / 'missing.db'}") is None
    odd = tmp_path / "odd.db"
    with sqlite3.connect(odd) as db:  # an MLflow schema without the columns read here
        db.execute("CREATE TABLE registered_models (name TEXT)")
        db.execute("CREATE TABLE model_versions (name TEXT, version INTEGER)")
    assert load_models(f"sqlite:///{odd}") is None


def test_model_reads_fall_back_to_the_full_app_when_the_tables_cannot_be_read(
    config: LearningEngineConfig,
) -> None:
    """With a tracking store this reader does not read (here a server URI), the in-process
    answer is None (the CLI then serves the full app, MlflowClient) and store reads still
    answer; the model names then come from the stage history."""
    from ordinis.engines.learning.api.local import answer

    other = config.model_copy(update={"mlflow_tracking_uri": "http://127.0.0.1:9"})
    with EngineReader(other) as reader:
        assert not reader.registry_readable()
        assert answer(reader, "/v1/models", {}) is None
        assert answer(reader, "/v1/versions/alpha:v1", {}) is None
        assert answer(reader, "/v1/status", {})["models"] == ["alpha", "beta"]
    with EngineReader(config) as reader:
        assert answer(reader, "/v1/models", {})["total"] == 2
