"""pipeline.yaml: the packaged file loads; each mistake gets an error naming stage and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from feedback_loop_helpers import pipeline_mapping
from hypothesis import given
from hypothesis import strategies as st

from ordinis.engines.learning.core.errors import ConfigError
from ordinis.engines.learning.core.models import ModelStage, RolloutStrategy
from ordinis.engines.learning.feedback import (
    load_pipeline_spec,
    parse_duration,
    pipeline_spec_from_mapping,
)


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_packaged_pipeline_loads_with_the_review_stages() -> None:
    cfg = load_pipeline_spec()
    assert cfg.source.endswith("resources/mlops/pipeline.yaml")
    assert cfg.data_validation.max_null_rate == 0.01
    assert cfg.data_validation.max_feature_drift == 0.1
    assert cfg.data_validation.required_features == []  # the model's own set
    assert "event_types" not in type(cfg.data_collection).model_fields
    assert cfg.data_collection.window_seconds == 90 * 86400
    assert cfg.training.timeout_seconds == 3600
    assert cfg.evaluation.benchmarks == ["pack_01_bull", "pack_04_bear", "pack_05_crypto"]
    assert cfg.evaluation.thresholds == {"sharpe": 1.5, "max_drawdown": 0.20, "win_rate": 0.55}
    assert cfg.staging.auto_promote and cfg.staging.target_stage is ModelStage.STAGING
    assert cfg.production.rollout_strategy is RolloutStrategy.CANARY
    assert [s.traffic for s in cfg.production.ramp_schedule] == [0.10, 0.25, 0.50, 1.00]
    assert cfg.production.ramp_schedule[2].hold_seconds == 12 * 3600
    assert cfg.stage_notes["training"]["trigger"] == "on_demand | scheduled | drift_detected"


def test_configs_symlink_serves_the_same_file() -> None:
    repo_file = Path(__file__).resolve().parents[2] / "configs" / "mlops" / "pipeline.yaml"
    assert load_pipeline_spec(repo_file) == load_pipeline_spec().model_copy(
        update={"source": str(repo_file)}
    )


def test_bad_stage_name_names_file_index_and_known_stages(tmp_path: Path) -> None:
    data = pipeline_mapping()
    data["stages"][2]["name"] = "trainig"
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        load_pipeline_spec(path)
    msg = str(err.value)
    assert str(path) in msg
    assert "stages[2].name='trainig'" in msg
    assert "unknown stage" in msg and "training" in msg and "data_validation" in msg


def test_bad_thresholds_name_stage_and_field(tmp_path: Path) -> None:
    data = pipeline_mapping(
        evaluation={"thresholds": {"win_rate": 1.5, "sharpe": 1.0}},
        data_validation={"max_null_rate": -0.1},
    )
    with pytest.raises(ConfigError) as err:
        load_pipeline_spec(_write(tmp_path, data))
    msg = str(err.value)
    assert "2 problem(s)" in msg  # both reported at once
    assert "stages[3] (evaluation).thresholds" in msg and "win_rate=1.5" in msg
    assert "stages[1] (data_validation).max_null_rate" in msg


def test_unknown_benchmark_name_format_is_refused_with_the_expected_pattern() -> None:
    data = pipeline_mapping(evaluation={"benchmarks": ["pack_01_bull", "bull_market", "pack_7_x"]})
    with pytest.raises(ConfigError) as err:
        pipeline_spec_from_mapping(data, source="p.yaml")
    msg = str(err.value)
    assert "stages[3] (evaluation).benchmarks" in msg
    assert "'bull_market'" in msg and "'pack_7_x'" in msg and "pack_NN_name" in msg
    assert "'pack_01_bull'," not in msg.split("do not match")[0].split("[")[-1]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["stages"].append({"name": "training"}), "stage listed twice"),
        (lambda d: d["stages"][1].update(max_nul_rate=0.1), "max_nul_rate"),
        (lambda d: d["stages"][2].update(timeout="forever"), "(training).timeout"),
        (lambda d: d["stages"][4].update(target_stage="production"), "not a staging stage"),
        (lambda d: d["stages"][5].update(ramp_schedule=[{"traffic": "50%", "hold": "1h"},
                                                       {"traffic": "25%", "hold": "1h"}]),
         "must increase"),
        (lambda d: d["triggers"]["schedule"].update(every="cron", cron="every monday"),
         "not a valid cron expression"),
        (lambda d: d["triggers"]["degradation"].update(degradation_pct=150), "degradation_pct"),
        (lambda d: d.update(stagess=[]), "unknown top-level key"),
        (lambda d: d["stages"][0].update(event_types=["trade_outcome"]),
         "(data_collection).event_types=['trade_outcome']: not a setting: training reads"),
    ],
)
def test_each_mistake_is_reported_clearly(mutate: Any, expected: str) -> None:
    data = pipeline_mapping()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        pipeline_spec_from_mapping(data, source="pipeline.yaml")
    assert expected in str(err.value)
    assert "pipeline config pipeline.yaml" in str(err.value)


def test_missing_file_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file does not exist"):
        load_pipeline_spec(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: [name: training\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_pipeline_spec(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_pipeline_spec(empty)


def test_omitted_stages_take_defaults() -> None:
    cfg = pipeline_spec_from_mapping({"stages": [{"name": "training", "algorithm": "ridge"}]})
    assert cfg.training.algorithm == "ridge"
    assert cfg.data_validation.max_null_rate == 0.01
    assert cfg.training.job_config()["algorithm"] == "ridge"


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from("smhdw"))
def test_parse_duration_units(n: int, unit: str) -> None:
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assert parse_duration(f"{n}{unit}") == n * seconds
    assert parse_duration(n) == float(n)


@pytest.mark.parametrize("bad", ["1y", "-5s", "h", True, None, -1])
def test_parse_duration_refuses(bad: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)
