"""Config: ordinis defaults; every bad value is reported at once, naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import ConfigError
from ordinis.engines.learning.core.models import RolloutStrategy


def test_defaults_keep_the_ordinis_values() -> None:
    c = LearningEngineConfig()
    assert c.max_events_memory == 10000
    assert c.min_samples_for_training == 1000
    assert c.max_concurrent_jobs == 2
    assert c.require_eval_pass is True
    assert c.eval_benchmark_threshold == 0.95
    assert c.cross_validation_folds == 5
    assert c.drift_threshold_pct == 0.10
    assert c.default_rollout_strategy is RolloutStrategy.CANARY
    assert c.canary_percentage == 0.10
    assert c.shadow_mode_duration_seconds == 86400
    assert c.event_retention_days == 90
    assert c.model_version_retention == 10
    assert c.auto_retrain_enabled is True
    assert c.resolved_store_url.startswith("sqlite:///")


def test_every_problem_is_reported_at_once_with_field_and_value() -> None:
    with pytest.raises(ConfigError) as info:
        LearningEngineConfig.create(
            max_events_memory=0, drift_threshold_pct=-1, store_url="mysql://x", colect_signals=True
        )
    err = info.value
    fields = {p.field for p in err.problems}
    assert fields == {"max_events_memory", "drift_threshold_pct", "store_url", "colect_signals"}
    text = str(err)
    assert "max_events_memory=0" in text
    assert "greater than or equal to 1" in text
    assert "sqlite:///" in text  # the fix is named
    assert "unknown setting" in text


def test_yaml_file_and_environment_layering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "learning.yaml"
    path.write_text("learning:\n  max_concurrent_jobs: 4\n  drift_threshold_pct: 0.2\n")
    monkeypatch.setenv("ORDINIS_LEARNING_DRIFT_THRESHOLD_PCT", "0.3")
    c = LearningEngineConfig.load(path, canary_percentage=0.25)
    assert c.max_concurrent_jobs == 4  # from the file
    assert c.drift_threshold_pct == 0.3  # env beats file
    assert c.canary_percentage == 0.25  # overrides beat env


def test_bad_config_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_concurrent_jobs: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        LearningEngineConfig.from_yaml(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        LearningEngineConfig.from_yaml(listy)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("max_concurrent_jobs: many\nflush_interval_seconds: 0\n")
    with pytest.raises(ConfigError) as info:
        LearningEngineConfig.from_yaml(wrong)
    assert {p.field for p in info.value.problems} == {
        "max_concurrent_jobs",
        "flush_interval_seconds",
    }
    assert str(wrong) in str(info.value)
    with pytest.raises(ConfigError, match="does not exist"):
        LearningEngineConfig.from_yaml(tmp_path / "missing.yaml")


def test_unknown_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDINIS_LEARNING_MAX_JOBS", "3")
    with pytest.raises(ConfigError, match="ORDINIS_LEARNING_MAX_JOBS"):
        LearningEngineConfig.load()


def test_retry_bounds_relation_is_checked() -> None:
    with pytest.raises(ConfigError, match="flush_retry_max_seconds"):
        LearningEngineConfig.create(flush_retry_initial_seconds=2.0, flush_retry_max_seconds=1.0)


def test_save_writes_what_differs_from_the_defaults_and_load_reads_it_back(
    tmp_path: Path,
) -> None:
    c = LearningEngineConfig.create(
        data_dir=tmp_path / "d", event_retention_days=36500, breaker_max_drawdown_pct=0.5,
        allowed_model_types=["signal", "equity_daily_signal"],
        pipeline_config_path=tmp_path / "d" / "pipeline.yaml",
        default_rollout_strategy=RolloutStrategy.BLUE_GREEN,
    )
    path = c.save(tmp_path / "learning.yaml")
    text = path.read_text()
    assert "event_retention_days: 36500" in text
    assert "default_rollout_strategy: blue_green" in text
    assert "max_events_memory" not in text  # a default stays out of the file
    assert LearningEngineConfig.load(path, env=False) == c


def test_save_refuses_to_write_a_store_password_into_a_file(tmp_path: Path) -> None:
    c = LearningEngineConfig.create(data_dir=tmp_path,
                                    store_url="postgresql://app:s3cret@db:5432/learning")
    with pytest.raises(ConfigError, match="ORDINIS_LEARNING_STORE_URL") as err:
        c.save(tmp_path / "learning.yaml")
    assert "s3cret" not in str(err.value)
    assert not (tmp_path / "learning.yaml").exists()
    without = c.model_copy(update={"store_url": None}).save(tmp_path / "learning.yaml")
    assert "s3cret" not in without.read_text()
