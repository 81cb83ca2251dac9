"""Rough edges at the API: each gets a clear error naming the field and the fix."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from ownership_helpers import TEST_TRAINER_SPECS, engine_config

from ordinis.engines.learning import LearningEngine, LearningEngineConfig, SimulatedClock
from ordinis.engines.learning.core.errors import ConfigError, NotFoundError, ValidationError
from ordinis.engines.learning.core.models import EventType, LearningEvent, TrainingStatus
from ordinis.engines.learning.features.bar_features import FEATURE_NAMES

T0 = datetime(2024, 3, 1, 14, 0, tzinfo=UTC)
FAIL_TRAINER = TEST_TRAINER_SPECS["test_fail"]


def test_direct_config_construction_raises_config_error_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="max_events_memory=0") as info:
        LearningEngineConfig(max_events_memory=0)
    assert [p.field for p in info.value.problems] == ["max_events_memory"]
    cfg = LearningEngineConfig()
    with pytest.raises(ConfigError, match="flush_interval_seconds"):
        cfg.flush_interval_seconds = -1
    with pytest.raises(ConfigError, match="unknown setting"):
        LearningEngineConfig(flush_intervall_seconds=1.0)


@pytest.fixture
async def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    cfg = engine_config(tmp_path / "learning", min_samples_for_training=1)
    async with LearningEngine(cfg, clock=SimulatedClock(T0.replace(hour=15))) as e:
        yield e


async def test_a_job_config_that_is_not_a_mapping_is_refused(engine: LearningEngine) -> None:
    with pytest.raises(ValidationError) as info:
        await engine.submit_training_job("m", "signal", config=["algorithm", "logistic"])  # type: ignore[arg-type]
    assert info.value.problems[0].field == "config"
    assert "mapping" in str(info.value) and "{'algorithm':" in str(info.value)
    assert engine.list_training_jobs() == []


async def test_a_typo_in_a_job_config_names_the_close_match(engine: LearningEngine) -> None:
    with pytest.raises(ValidationError) as info:
        await engine.submit_training_job("m", "signal", {"algoritm": "logistic"})
    text = str(info.value)
    assert "config.algoritm" in text and "did you mean 'algorithm'" in text
    assert engine.list_training_jobs() == []


async def test_a_bad_job_value_is_named_before_the_sample_policy(tmp_path: Path) -> None:
    """With too few samples for the policy, a typo in a value is still reported as the typo
    (the policy would tell the user to collect data, which would not help)."""
    cfg = engine_config(tmp_path / "learning", min_samples_for_training=1000)
    async with LearningEngine(cfg, clock=SimulatedClock(T0)) as e:
        with pytest.raises(ValidationError) as info:
            await e.submit_training_job("m", "signal", {"algorithm": "lightgbmm"})
        assert [p.field for p in info.value.problems] == ["config.algorithm"]
        with pytest.raises(ValidationError) as info:
            await e.submit_training_job("m", "nonsense")
        assert [p.field for p in info.value.problems] == ["model_type"]
        assert "engine.register_trainer" in str(info.value)
        assert e.list_training_jobs() == []
        assert [r.action for r in e.audit_records() if r.action == "training.submit"] == []


async def test_a_retrain_of_a_model_without_a_version_is_refused(
    engine: LearningEngine,
) -> None:
    """A misspelt model name is not trained as a new model by the loop."""
    with pytest.raises(NotFoundError) as info:
        await engine.trigger_retraining("alhpa", "operator")
    assert "model 'alhpa' is not registered; known models: none" in str(info.value)
    assert "submit_training_job" in str(info.value)
    assert engine.list_retraining_triggers() == []
    assert engine.list_training_jobs() == []


async def test_a_dict_is_refused_as_a_model_at_registration(engine: LearningEngine) -> None:
    with pytest.raises(ValidationError) as info:
        await engine.register_model_version("m", "v1", model={"weights": [1, 2]})
    text = str(info.value)
    assert "model='dict'" in text and "predict" in text
    assert engine.list_models() == []


async def test_negative_equity_is_refused_and_nothing_is_recorded(engine: LearningEngine) -> None:
    with pytest.raises(ValidationError, match=r"equity=-5: must be > 0"):
        await engine.feedback.record_trade_outcome("SPY", pnl=10.0, equity=-5)
    await engine.flush_events()
    assert engine.get_events(EventType.TRADE_OUTCOME) == []


async def test_a_failed_job_leaves_an_audit_record(engine: LearningEngine) -> None:
    engine.register_trainer("test_fail", FAIL_TRAINER)
    for i in range(3):
        engine.record_event(LearningEvent(
            event_type=EventType.SIGNAL_GENERATED, source_engine="s", symbol="SPY",
            timestamp=T0.replace(minute=i), payload={"features": dict.fromkeys(FEATURE_NAMES, 1.0)},
            outcome=0.01))
    await engine.flush_events()
    cfg = engine.config
    cfg.allowed_model_types = [*cfg.allowed_model_types, "test_fail"]
    job = await engine.submit_training_job("m", "test_fail", {"message": "boom", "max_retries": 0})
    done = await engine.wait_for_training_job(job.job_id, timeout=60)
    assert done.status is TrainingStatus.FAILED
    failed = [r for r in engine.store.list_audit() if r.action == "training.failed"]
    assert len(failed) == 1
    assert failed[0].details["job_id"] == job.job_id and "boom" in failed[0].reason
