"""write_pipeline_variant: overrides land in a valid file; bad ones fail before writing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordinis.engines.learning.core.errors import ConfigError
from ordinis.engines.learning.feedback.pipeline_spec import (
    load_pipeline_spec,
    write_pipeline_variant,
)


def test_overrides_are_applied_and_the_file_validates(tmp_path: Path) -> None:
    path = write_pipeline_variant(
        tmp_path / "p.yaml",
        stages={"data_collection": {"window": "30d"}, "evaluation": {"gate_set": "demo"}},
        triggers={"consecutive_losses": {"count": 12}},
    )
    cfg = load_pipeline_spec(path)
    assert cfg.data_collection.window_seconds == 30 * 86400
    assert cfg.evaluation.gate_set == "demo"
    assert cfg.triggers.consecutive_losses.count == 12


def test_unknown_stage_and_bad_values_fail_and_write_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such stage"):
        write_pipeline_variant(tmp_path / "a.yaml", stages={"deploy": {"x": 1}})
    with pytest.raises(ConfigError, match="gate set"):
        write_pipeline_variant(tmp_path / "b.yaml", stages={"evaluation": {"gate_set": "lax"}})
    assert not (tmp_path / "a.yaml").exists() and not (tmp_path / "b.yaml").exists()
