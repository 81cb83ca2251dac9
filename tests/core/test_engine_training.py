"""Engine end to end for training and the registry: real events -> job -> MLflow -> restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from market_events import signal_events

from ordinis.engines.learning import (
    LearningEngine,
    LearningEngineConfig,
    ModelStage,
    PolicyDeniedError,
    SimulatedClock,
    TrainingStatus,
)
from ordinis.engines.learning.core.errors import (
    EvaluationError,
    InsufficientDataError,
    NotFoundError,
    ValidationError,
)

LOOSE_GATES = """
name: test-loose
default:
  gates:
    - {name: max_drawdown, metric: max_drawdown, type: safety, comparison: lte, threshold: 1.0}
    - {name: min_sharpe, metric: sharpe, type: performance, comparison: gte, threshold: 0.5,
       required: false}
"""


def _config(data_dir: Path) -> LearningEngineConfig:
    return LearningEngineConfig.create(
        data_dir=data_dir,
        min_samples_for_training=1000,
        event_retention_days=36500,
        enable_drift_detection=False,
    )


@pytest.fixture(scope="module")
def events() -> list:
    return signal_events(["AAPL", "JPM", "XOM"], "2001-01-01", "2004-12-31")


async def test_train_register_promote_and_everything_survives_restart(
    data_dir: Path, events: list, tmp_path: Path
) -> None:
    gates = tmp_path / "loose.yaml"
    gates.write_text(LOOSE_GATES)
    clock = SimulatedClock(datetime(2005, 1, 3, tzinfo=UTC))
    async with LearningEngine(_config(data_dir), clock=clock) as engine:
        for ev in events:
            engine.record_event(ev)
        await engine.flush_events()
        job = await engine.submit_training_job(
            "alpha", "signal", {"algorithm": "logistic", "end": "2005-01-01T00:00:00+00:00"}
        )
        job = await engine.wait_for_training_job(job.job_id, timeout=120)
        assert job.status is TrainingStatus.COMPLETED, job.error_message
        assert job.model_version_id == "alpha:v1"
        mv = engine.get_model_version("alpha:v1")
        assert mv.training_job_id == job.job_id
        assert mv.artifact_sha256 and mv.metrics["n_train"] > 1000
        assert mv.lineage["training_job_id"] == job.job_id
        model = engine.load_model("alpha:v1")
        assert len(model.feature_names) == 8

        # PRODUCTION without staging first, then without a passed evaluation: refused
        with pytest.raises(PolicyDeniedError):
            await engine.promote_model("alpha", "alpha:v1", ModelStage.PRODUCTION)
        await engine.promote_model("alpha", "alpha:v1", ModelStage.STAGING, reason="candidate")
        with pytest.raises(PolicyDeniedError, match="evaluation"):
            await engine.promote_model("alpha", "alpha:v1", ModelStage.PRODUCTION)
        assert engine.get_production_model("alpha") is None

        # 1994 lies before the 2001-2004 training window: out of sample as of 2005
        result = await engine.evaluate_model(
            "alpha:v1", ["pack_02_sideways"], gate_set=str(gates)
        )
        assert result.passed and "sharpe" in result.intervals
        assert result.scope is not None and result.scope.packs[0].rows_used > 200
        assert engine.get_evaluations("alpha:v1")[0].evaluation_id == result.evaluation_id
        # one evaluation is counted once: one verdict, one duration, one verdict per gate
        m = engine.metrics
        assert m.sample("model_evaluations_total", {"model_name": "alpha", "passed": "true"}) == 1
        assert m.sample("model_evaluations_total", {"model_name": "alpha", "passed": "false"}) == 0
        assert m.sample("model_evaluation_duration_seconds_count", {"model_name": "alpha"}) == 1
        assert m.sample(
            "evaluation_gate_results_total", {"gate": "max_drawdown", "verdict": "PASS"}
        ) == 1
        # a passed evaluation of a user gate file never opens production
        with pytest.raises(PolicyDeniedError, match="no evaluation with the production gate set"):
            await engine.promote_model("alpha", "alpha:v1", ModelStage.PRODUCTION)
        # a clock in 2005 and a 2001-2004 training window: the 2003 part of pack_01_bull is
        # in-sample and the 2013 part is in the future, so no out-of-sample pack is left
        with pytest.raises(EvaluationError, match="no out-of-sample data as of 2005-01-03"):
            await engine.evaluate_model("alpha:v1", ["pack_01_bull"])
        assert len(engine.get_evaluations("alpha:v1")) == 1

    async with LearningEngine(_config(data_dir), clock=clock) as engine:
        assert engine.get_production_model("alpha") is None
        mv = engine.get_model_version("alpha:v1")
        assert mv.stage is ModelStage.STAGING and mv.production_verdict is None
        assert mv.evaluation_label.startswith("test-loose: 1 required gate(s) passed")
        assert [v.version for v in engine.list_model_versions("alpha")] == ["v1"]
        history = engine.stage_history("alpha")
        assert [
            (h.to_stage.value if hasattr(h.to_stage, "value") else h.to_stage) for h in history
        ][-1:] == ["staging"]
        assert engine.get_training_job(job.job_id).status is TrainingStatus.COMPLETED
        assert len(engine.get_evaluations("alpha:v1")) == 1
        actions = [r.action for r in engine.audit_records()]
        assert "training.submit" in actions and "model.register" in actions
        assert "model.evaluate" in actions and "model.promote" in actions
        assert engine.verify_audit().ok
        metrics = engine.metrics
        assert (
            metrics.sample("model_versions_total", {"model_name": "alpha", "stage": "staging"})
            == 1
        )


async def test_bad_training_requests_get_clear_errors_and_change_nothing(
    data_dir: Path, events: list
) -> None:
    clock = SimulatedClock(datetime(2005, 1, 3, tzinfo=UTC))
    async with LearningEngine(_config(data_dir), clock=clock) as engine:
        for ev in events:
            engine.record_event(ev)
        await engine.flush_events()
        with pytest.raises((PolicyDeniedError, ValidationError), match="quantum"):
            await engine.submit_training_job("alpha", "quantum", {})
        # too few samples in the window: governance refuses before a job exists
        with pytest.raises(PolicyDeniedError, match="below min_samples_for_training=1000"):
            await engine.submit_training_job(
                "alpha", "signal", {"end": "2001-02-01T00:00:00+00:00"}
            )
        with pytest.raises(ValidationError, match="end"):
            await engine.submit_training_job("alpha", "signal", {"end": "last tuesday"})
        assert engine.list_training_jobs() == []
        with pytest.raises(NotFoundError):
            engine.get_model_version("alpha:v9")
        with pytest.raises(NotFoundError, match="allowed"):
            await engine.promote_model("alpha", "alpha:v1", "live")
        assert engine.list_models() == []
    assert InsufficientDataError  # the executor's own refusal is tested in tests/training


async def test_two_jobs_of_one_model_finishing_together_get_distinct_versions(
    data_dir: Path, events: list
) -> None:
    clock = SimulatedClock(datetime(2005, 1, 3, tzinfo=UTC))
    async with LearningEngine(_config(data_dir), clock=clock) as engine:
        for ev in events:
            engine.record_event(ev)
        await engine.flush_events()
        cfg = {"algorithm": "logistic", "cv": "none"}
        jobs = [await engine.submit_training_job("alpha", "signal", dict(cfg)) for _ in range(2)]
        done = [await engine.wait_for_training_job(j.job_id, timeout=120) for j in jobs]
        errors = [j.error_message for j in done]
        assert all(j.status is TrainingStatus.COMPLETED for j in done), errors
        assert sorted(j.model_version_id or "" for j in done) == ["alpha:v1", "alpha:v2"]
