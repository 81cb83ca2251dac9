"""The MLflow-backed registry: registration, stages, governance, integrity, history, restart.

One registry (real MLflow sqlite backend) is shared by the module; each test uses its own model.
"""

from __future__ import annotations

import os
import pickle
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from registry_helpers import Env, small_model

from ordinis.engines.learning.core.errors import (
    ArtifactIntegrityError,
    NotFoundError,
    PolicyDeniedError,
    ValidationError,
)
from ordinis.engines.learning.core.models import (
    ModelStage,
    ModelVersion,
    ProductionVerdict,
    RolloutStrategy,
)
from ordinis.engines.learning.governance import (
    ApprovalRequiredPolicy,
    Decision,
    GovernanceAction,
    PolicyResult,
)
from ordinis.engines.learning.registry import ModelRegistry, StageChange

pytestmark = pytest.mark.asyncio(loop_scope="module")


def production_verdict(
    reg: ModelRegistry, version_id: str, evaluation_id: str, passed: bool = True,
    gate_set: str = "production",
) -> ProductionVerdict:
    """A verdict as the evaluation service stores it, counting the current trials."""
    return ProductionVerdict(
        evaluation_id, gate_set, "hash", gate_set == "production", passed,
        reg.trial_count_of(version_id), ("pack_01_bull@abc",), reg.clock.now(),
        blocked_by=() if passed else ("min_sharpe",),
    )


async def staged_and_evaluated(reg: ModelRegistry, name: str, version: str) -> ModelVersion:
    """Register a version, move it to staging and record a passed production evaluation."""
    mv = await reg.register_model_version(
        name, version, model=small_model(), metrics={"sharpe": 1.1}
    )
    await reg.promote_model(name, mv.version_id, ModelStage.STAGING, actor="ci")
    eid = f"eval-{version}"
    await reg.record_evaluation(
        mv.version_id, True, {"sharpe": 1.1}, eid,
        verdict=production_verdict(reg, mv.version_id, eid),
    )
    return reg.get_model_version(mv.version_id)


def audit_count(env: Env) -> int:
    return len(env.audit.records())


async def test_register_a_sklearn_model_with_lineage_and_load_it(env: Env) -> None:
    reg = env.registry
    model = small_model(1)
    mv = await reg.register_model_version(
        "alpha", "v1", model=model, metrics={"sharpe": 1.25, "hit_rate": 0.55},
        parameters={"alpha": 1.0, "features": ["r1", "r5"]}, training_job_id="job-1",
        description="first", lineage={"data_window": "2019-01-01/2019-12-31",
                                      "feature_set": "bar_features:v1"},
        model_type="signal",
    )
    assert mv.version_id == "alpha:v1" and mv.stage is ModelStage.DEVELOPMENT
    assert mv.metrics == {"sharpe": 1.25, "hit_rate": 0.55}
    assert mv.parameters == {"alpha": 1.0, "features": ["r1", "r5"]}
    assert mv.artifact_sha256 is not None and len(mv.artifact_sha256) == 64
    assert mv.lineage["training_job_id"] == "job-1"
    assert mv.lineage["data_window"] == "2019-01-01/2019-12-31"
    assert mv.lineage["code_version"].startswith(("git:", "ordinis-learning=="))
    assert mv.lineage["parent_version"] == ""
    assert mv.created_at == env.clock.now()
    # MLflow is the system of record: tags on the version, params and metrics on the run
    client = reg.mlflow_client
    ml = client.get_model_version("alpha", mv.mlflow_version)
    assert ml.tags["version"] == "v1" and ml.tags["stage"] == "development"
    assert ml.tags["artifact_sha256"] == mv.artifact_sha256
    run = client.get_run(mv.run_id)
    assert run.data.metrics["sharpe"] == 1.25 and run.data.params["alpha"] == "1.0"
    # the artifact lives under data_dir/artifacts and loads back to the same model
    assert env.config.artifacts_dir.name in (mv.artifact_path or "")
    loaded = reg.load_model("alpha:v1")
    X = np.ones((2, 3))
    assert np.allclose(loaded.predict(X), model.predict(X))
    assert reg.trial_count("alpha") == 1
    rec = env.audit.records(action="model.register", target="alpha:v1")
    assert len(rec) == 1 and rec[0].actor == "engine"
    assert env.metrics.sample(
        "model_versions_total", {"model_name": "alpha", "stage": "development"}
    ) == 1.0


async def test_register_a_file_and_a_directory(env: Env, tmp_path: Path) -> None:
    reg = env.registry
    f = tmp_path / "m.pkl"
    f.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    mv = await reg.register_model_version("files", "1.0.0", artifact_path=str(f))
    assert reg.load_model(mv.version_id) == {"weights": [1, 2, 3]}
    d = tmp_path / "bundle"
    (d / "sub").mkdir(parents=True)
    (d / "model.joblib").write_bytes(pickle.dumps("dir-model"))
    (d / "sub" / "notes.txt").write_text("hello")
    mv2 = await reg.register_model_version("files", "1.1.0", artifact_path=d)
    assert reg.load_model(mv2.version_id) == "dir-model"
    # parent_version lineage: no production yet
    assert mv2.lineage["parent_version"] == ""
    bare = await reg.register_model_version("files", "1.2.0", metrics={"sharpe": 0.1})
    assert bare.artifact_path is None and bare.artifact_sha256 is None
    with pytest.raises(ValidationError, match="registered without artifacts"):
        reg.load_model(bare.version_id)


async def test_duplicates_and_bad_input_change_nothing(env: Env, tmp_path: Path) -> None:
    reg = env.registry
    await reg.register_model_version("dup", "v1", model=small_model())
    n_audit = audit_count(env)
    n_ml = len(reg.mlflow_client.search_model_versions("name='dup'"))
    with pytest.raises(ValidationError) as err:
        await reg.register_model_version("dup", "v1", model=small_model())
    assert "version='v1'" in str(err.value) and "already registered" in str(err.value)
    with pytest.raises(ValidationError) as err:
        await reg.register_model_version(
            "bad name!", "v:2", artifact_path=str(tmp_path / "missing"),
            metrics={"sharpe": "high"},  # type: ignore[dict-item]
        )
    text = str(err.value)
    for fragment in ("model_name='bad name!'", "version='v:2'", "does not exist",
                     "metrics.sharpe='high'"):
        assert fragment in text
    with pytest.raises(ValidationError, match="either artifact_path or model"):
        await reg.register_model_version("dup", "v9", artifact_path=str(tmp_path), model=1)
    assert [v.version for v in reg.list_versions("dup")] == ["v1"]
    assert len(reg.mlflow_client.search_model_versions("name='dup'")) == n_ml
    assert audit_count(env) == n_audit
    assert "bad name!" not in reg.list_models()
    # MLflow refuses the parameter name: a clear error, no version, and the model stays unknown
    with pytest.raises(ValidationError, match="metrics/parameters"):
        await reg.register_model_version("newcomer", "v1", parameters={"bad!key": 1})
    assert "newcomer" not in reg.list_models()
    fresh = await env.reopen()
    try:
        assert "newcomer" not in fresh.list_models()
    finally:
        await fresh.close()


async def test_promotion_gates_and_rollback(env: Env) -> None:
    reg, clock = env.registry, env.clock
    seen: list[StageChange] = []
    reg.add_listener(seen.append)
    clock.advance(timedelta(days=1))
    v1 = await reg.register_model_version("beta", "v1", model=small_model(1))
    # production needs staging first: refused, audited, nothing changed
    with pytest.raises(PolicyDeniedError) as err:
        await reg.promote_model("beta", "beta:v1", ModelStage.PRODUCTION)
    assert err.value.policy == "staging_before_production"
    assert reg.get_model_version("beta:v1").stage is ModelStage.DEVELOPMENT
    assert reg.get_production_model("beta") is None
    denied = env.audit.records(action="model.promote", target="beta:v1")
    assert denied[-1].decision == "deny" and "staging" in denied[-1].reason
    await reg.promote_model("beta", "v1", "staging", actor="alice", reason="looks good")
    # no passed evaluation yet: refused and nothing changed (tag, alias, cache)
    # no production verdict, a failed one, a passed one of another gate set: all refused
    for step in ("none", "failed", "staging"):
        if step == "failed":
            await reg.record_evaluation(
                "beta:v1", False, {"sharpe": -0.2}, "e0",
                verdict=production_verdict(reg, "beta:v1", "e0", passed=False),
            )
        if step == "staging":
            await reg.record_evaluation(
                "beta:v1", True, {"sharpe": 0.6}, "e-s",
                verdict=production_verdict(reg, "beta:v1", "e-s", gate_set="staging"),
                label="staging: 4 required gate(s) passed",
            )
        with pytest.raises(PolicyDeniedError, match="require_eval_pass") as err:
            await reg.promote_model("beta", "beta:v1", ModelStage.PRODUCTION)
        if step != "none":
            assert "blocked by min_sharpe" in str(err.value)  # the production verdict stays
        assert reg.get_model_version("beta:v1").stage is ModelStage.STAGING
        assert "production" not in reg.aliases("beta")
    await reg.record_evaluation(
        "beta:v1", True, {"sharpe": 1.3}, "e1", verdict=production_verdict(reg, "beta:v1", "e1")
    )
    clock.advance(timedelta(hours=1))
    t_v1 = clock.now()
    prod = await reg.promote_model("beta", "beta:v1", ModelStage.PRODUCTION,
                                   RolloutStrategy.IMMEDIATE, actor="alice")
    assert prod.stage is ModelStage.PRODUCTION and reg.get_production_model("beta") == prod
    by_alias = reg.mlflow_client.get_model_version_by_alias("beta", "production")
    assert str(by_alias.version) == v1.mlflow_version
    # the next version: v1 moves out and becomes the rollback target
    clock.advance(timedelta(days=1))
    v2 = await staged_and_evaluated(reg, "beta", "v2")
    assert v2.lineage["parent_version"] == "v1"
    t_v2 = clock.now()
    await reg.promote_model("beta", "beta:v2", "production", "canary", actor="bob")
    assert reg.get_production_model("beta").version == "v2"  # type: ignore[union-attr]
    assert reg.get_model_version("beta:v1").stage is ModelStage.ARCHIVED
    assert reg.aliases("beta") == {"production": "v2", "rollback_target": "v1"}
    ml_v1 = reg.mlflow_client.get_model_version("beta", v1.mlflow_version)
    assert ml_v1.tags["stage"] == "archived"
    assert env.metrics.sample("model_promotions_total", {
        "model_name": "beta", "from_stage": "staging", "to_stage": "production",
        "rollout_strategy": "canary"}) == 1.0
    # rollback restores v1; v2 is archived
    clock.advance(timedelta(hours=3))
    t_rb = clock.now()
    restored = await reg.rollback("beta", "canary_failure: sharpe dropped", actor="watchdog")
    assert restored.version == "v1" and reg.get_production_model("beta") == restored
    assert reg.get_model_version("beta:v2").stage is ModelStage.ARCHIVED
    assert "rollback_target" not in reg.aliases("beta")
    assert env.metrics.sample(
        "model_rollbacks_total", {"model_name": "beta", "reason": "canary_failure"}
    ) == 1.0
    with pytest.raises(ValidationError, match="no rollback target"):
        await reg.rollback("beta", "again")
    # history and point-in-time answers
    hist = reg.stage_history("beta")
    assert [(c.version, c.to_stage.value) for c in hist] == [
        ("v1", "development"), ("v1", "staging"), ("v1", "production"), ("v2", "development"),
        ("v2", "staging"), ("v2", "production"), ("v1", "archived"), ("v1", "production"),
        ("v2", "archived"),
    ]
    assert hist[2].actor == "alice" and hist[2].strategy is RolloutStrategy.IMMEDIATE
    assert hist[5].replaced == "v1" and hist[7].reason.startswith("canary_failure")
    assert [c.to_stage for c in reg.stage_history("beta", version="v2")][-1] is ModelStage.ARCHIVED
    assert reg.version_at("beta", ModelStage.PRODUCTION, t_v1 - timedelta(seconds=1)) is None
    assert reg.version_at("beta", ModelStage.PRODUCTION, t_v1) == "v1"
    assert reg.version_at("beta", "production", t_v2 + timedelta(minutes=5)) == "v2"
    assert reg.version_at("beta", ModelStage.PRODUCTION, t_rb) == "v1"
    assert reg.version_at("beta", ModelStage.STAGING, t_v1 - timedelta(minutes=1)) == "v1"
    # listeners saw every change, and one audit record per change
    assert [(c.version, c.to_stage.value) for c in seen if c.model_name == "beta"] == [
        (c.version, c.to_stage.value) for c in hist
    ]
    allowed = [r.action for r in env.audit.records() if r.target.startswith("beta:")
               and r.decision == "allow"]
    assert allowed == ["model.register", "model.promote", "model.promote", "model.register",
                       "model.promote", "model.promote", "model.rollback"]
    assert env.audit.verify().ok


async def test_unknown_names_give_clear_errors_and_change_nothing(env: Env) -> None:
    reg = env.registry
    await reg.register_model_version("gamma", "v1", model=small_model())
    n_audit = audit_count(env)
    with pytest.raises(ValidationError) as err:
        await reg.promote_model("gamma", "gamma:v1", "prod")
    assert "target_stage='prod'" in str(err.value) and "'production'" in str(err.value)
    with pytest.raises(ValidationError, match="rollout_strategy='slow'"):
        await reg.promote_model("gamma", "gamma:v1", "staging", "slow")
    with pytest.raises(NotFoundError) as nf:
        await reg.promote_model("gamma", "gamma:v7", ModelStage.STAGING)
    assert "'v7'" in str(nf.value) and "known versions: v1" in str(nf.value)
    with pytest.raises(NotFoundError, match="known models"):
        await reg.promote_model("nope", "nope:v1", ModelStage.STAGING)
    with pytest.raises(ValidationError, match="belongs to model 'beta'"):
        await reg.promote_model("gamma", "beta:v1", ModelStage.STAGING)
    with pytest.raises(NotFoundError, match="known models"):
        reg.list_versions("nope")
    with pytest.raises(NotFoundError, match="known versions"):
        reg.get_model_version("gamma:v2")
    with pytest.raises(ValidationError, match="stage='live'"):
        reg.list_versions("gamma", stage="live")
    with pytest.raises(ValidationError, match=r"summary\.sharpe='great'"):
        await reg.record_evaluation("gamma:v1", True, {"sharpe": "great"}, "e1")  # type: ignore[dict-item]
    assert reg.get_production_model("nope") is None
    assert reg.get_model_version("gamma:v1").stage is ModelStage.DEVELOPMENT
    assert reg.get_model_version("gamma:v1").evaluation_passed is None
    assert audit_count(env) == n_audit


async def test_a_tampered_artifact_is_refused_and_never_unpickled(env: Env, tmp_path: Path) -> None:
    reg = env.registry
    mv = await reg.register_model_version("delta", "v1", model=small_model())
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.mkdir, (str(marker),))

    path = Path(reg.mlflow_client.get_model_version("delta", mv.mlflow_version).source
                .removeprefix("file://")) / "model.joblib"
    assert path.exists()
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ArtifactIntegrityError) as err:
        reg.load_model("delta:v1")
    assert "model.joblib" in str(err.value) and "differs from registered" in str(err.value)
    assert not marker.exists()
    (path.parent / "extra.pkl").write_bytes(b"x")
    with pytest.raises(ArtifactIntegrityError, match=r"extra\.pkl: not registered"):
        reg.verify_artifacts("delta:v1")


async def test_retention_keeps_production_and_rollback_target(env: Env) -> None:
    reg = env.registry
    await staged_and_evaluated(reg, "eps", "v1")
    await reg.promote_model("eps", "eps:v1", ModelStage.PRODUCTION)
    await staged_and_evaluated(reg, "eps", "v2")
    await reg.promote_model("eps", "eps:v2", ModelStage.PRODUCTION)
    for i in range(3, 7):
        await reg.register_model_version("eps", f"v{i}", metrics={"sharpe": i / 10})
    env.config.model_version_retention = 2
    try:
        archived = await reg.apply_retention("eps")
    finally:
        env.config.model_version_retention = 10
    assert [v.version for v in archived] == ["v3", "v4"]
    stages = {v.version: v.stage.value for v in reg.list_versions("eps")}
    assert stages == {"v1": "archived", "v2": "production", "v3": "archived", "v4": "archived",
                      "v5": "development", "v6": "development"}
    assert reg.rollback_target("eps").version == "v1"  # type: ignore[union-attr]
    archives = [r.target for r in env.audit.records(action="model.archive")]
    assert archives[-2:] == ["eps:v3", "eps:v4"]
    assert reg.trial_count("eps") == 6
    assert [v.version for v in reg.list_versions("eps", ModelStage.DEVELOPMENT)] == ["v5", "v6"]


async def test_a_denying_policy_raises_with_its_reason(env: Env) -> None:
    class Freeze:
        name = "change_freeze"

        def evaluate(self, action: GovernanceAction) -> PolicyResult:
            if action.model_name == "frozen" and action.action == "promote":
                return PolicyResult(Decision.DENY, self.name, "quarter-end freeze until Jan 5")
            return PolicyResult(Decision.ALLOW, self.name, "")

    reg = env.registry
    reg.policies.add(Freeze())
    try:
        await reg.register_model_version("frozen", "v1", model=small_model())
        with pytest.raises(PolicyDeniedError) as err:
            await reg.promote_model("frozen", "frozen:v1", ModelStage.STAGING)
    finally:
        reg.policies.policies.pop()
    assert err.value.policy == "change_freeze"
    assert err.value.reason == "quarter-end freeze until Jan 5"
    assert reg.get_model_version("frozen:v1").stage is ModelStage.DEVELOPMENT
    with pytest.raises(PolicyDeniedError, match="allowed_model_types"):
        await reg.register_model_version("frozen", "v2", model=small_model(), model_type="oracle")
    assert [v.version for v in reg.list_versions("frozen")] == ["v1"]
    # DEFER blocks too, and the refusal is audited as "defer"
    reg.policies.add(ApprovalRequiredPolicy(["archive"]))
    try:
        with pytest.raises(PolicyDeniedError, match="approval_required"):
            await reg.demote_model("frozen", "frozen:v1", actor="dave")
    finally:
        reg.policies.policies.pop()
    last = env.audit.records(target="frozen:v1")[-1]
    assert (last.action, last.decision, last.actor) == ("model.archive", "defer", "dave")
    assert reg.get_model_version("frozen:v1").stage is ModelStage.DEVELOPMENT


async def test_restart_rebuilds_everything_from_mlflow_and_the_store(env: Env) -> None:
    reg = env.registry
    await staged_and_evaluated(reg, "zeta", "v1")
    await reg.promote_model("zeta", "zeta:v1", ModelStage.PRODUCTION)
    await staged_and_evaluated(reg, "zeta", "v2")
    await reg.promote_model("zeta", "zeta:v2", ModelStage.PRODUCTION)
    await reg.promote_model("zeta", "zeta:v2", ModelStage.PRODUCTION)  # no-op, nothing recorded
    fresh = await env.reopen()
    try:
        assert fresh.list_models() == reg.list_models()
        for name in reg.list_models():
            assert fresh.list_versions(name) == reg.list_versions(name), name
            assert fresh.aliases(name) == reg.aliases(name), name
            assert fresh.get_production_model(name) == reg.get_production_model(name), name
            assert fresh.stage_history(name) == reg.stage_history(name), name
            assert fresh.trial_count(name) == reg.trial_count(name)
        assert fresh.get_production_model("zeta").evaluation_passed is True  # type: ignore[union-attr]
        assert fresh.rollback_target("zeta").version == "v1"  # type: ignore[union-attr]
        assert np.allclose(fresh.load_model("zeta:v2").predict(np.ones((1, 3))),
                           small_model().predict(np.ones((1, 3))))
        assert fresh.audit.verify().ok
        assert fresh.metrics.sample(
            "model_versions_total", {"model_name": "zeta", "stage": "archived"}) == 1.0
        restored = await fresh.rollback("zeta", "manual")
        assert restored.version == "v1" and fresh.get_production_model("zeta") == restored
        assert fresh.audit.verify().ok
    finally:
        await fresh.close()


async def test_a_failed_mlflow_write_is_undone(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    reg = env.registry
    await staged_and_evaluated(reg, "eta", "v1")
    await reg.promote_model("eta", "eta:v1", ModelStage.PRODUCTION)
    await staged_and_evaluated(reg, "eta", "v2")
    before = (reg.list_versions("eta"), reg.aliases("eta"), reg.stage_history("eta"),
              audit_count(env))
    backend = reg._backend
    assert backend is not None
    real = backend.set_alias

    def outage(name: str, alias: str, version: str) -> None:
        if alias == "production":
            raise MlflowException("injected outage")
        real(name, alias, version)

    monkeypatch.setattr(backend, "set_alias", outage)
    with pytest.raises(MlflowException, match="injected outage"):
        await reg.promote_model("eta", "eta:v2", ModelStage.PRODUCTION)
    monkeypatch.undo()
    after = (reg.list_versions("eta"), reg.aliases("eta"), reg.stage_history("eta"),
             audit_count(env))
    assert after == before
    client = reg.mlflow_client
    assert client.get_registered_model("eta").aliases == {"production": 1, "staging": 2}
    assert [client.get_model_version("eta", str(i)).tags["stage"] for i in (1, 2)] == [
        "production", "staging"]
    await reg.promote_model("eta", "eta:v2", ModelStage.PRODUCTION)
    assert reg.get_production_model("eta").version == "v2"  # type: ignore[union-attr]
