"""Checks at the registry's edge: names, versions, stages, strategies, registration inputs.

Each problem becomes a FieldProblem naming the field, the value and the fix; nothing is written
before these pass.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.models import ModelStage, RolloutStrategy

MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]{0,63}$")
STAGE_VALUES = [s.value for s in ModelStage]
STRATEGY_VALUES = [s.value for s in RolloutStrategy]


def parse_stage(stage: ModelStage | str, field_name: str = "target_stage") -> ModelStage:
    """A ModelStage from an enum or its value; a clear error listing the allowed values."""
    if isinstance(stage, ModelStage):
        return stage
    try:
        return ModelStage(str(stage).lower())
    except ValueError:
        raise ValidationError(
            "stage", [FieldProblem(field_name, stage, f"unknown stage; use one of {STAGE_VALUES}")]
        ) from None


def parse_strategy(strategy: RolloutStrategy | str | None) -> RolloutStrategy | None:
    """A RolloutStrategy from an enum, its value or None."""
    if strategy is None or isinstance(strategy, RolloutStrategy):
        return strategy
    try:
        return RolloutStrategy(str(strategy).lower())
    except ValueError:
        raise ValidationError(
            "rollout strategy",
            [FieldProblem("rollout_strategy", strategy, f"use one of {STRATEGY_VALUES} or None")],
        ) from None


def reason_label(reason: str) -> str:
    """A low-cardinality metric label from a free-text reason: the part before ':'."""
    head = reason.split(":", 1)[0].strip().lower().replace(" ", "_")
    head = re.sub(r"[^a-z0-9_\-]", "", head)[:32]
    return head or "unspecified"


def validate_registration(
    model_name: str,
    version: str,
    artifact_path: str | Path | None,
    metrics: dict[str, float] | None,
    lineage: dict[str, str] | None,
    model: Any,
) -> tuple[dict[str, float], Path | None]:
    """Check a registration's inputs at the edge; returns clean metrics and the artifact path."""
    problems: list[FieldProblem] = []
    if not isinstance(model_name, str) or not MODEL_NAME_RE.match(model_name):
        problems.append(FieldProblem(
            "model_name", model_name,
            "use 1-200 letters, digits, '_', '.', '-' (starting with a letter or digit)",
        ))
    if not isinstance(version, str) or not VERSION_RE.match(version):
        problems.append(FieldProblem(
            "version", version,
            "use 1-64 letters, digits, '_', '.', '+', '-' (e.g. 'v3' or '1.2.0'); no ':'",
        ))
    source: Path | None = None
    if artifact_path is not None and model is not None:
        problems.append(FieldProblem(
            "artifact_path", str(artifact_path), "give either artifact_path or model, not both"
        ))
    elif model is not None and not callable(getattr(model, "predict", None)):
        problems.append(FieldProblem(
            "model", type(model).__name__,
            "has no predict() method, so it cannot be evaluated or served; register a fitted "
            "model (scikit-learn, LightGBM, or any object with predict(X)), or pass "
            "artifact_path for a file",
        ))
    elif artifact_path is not None:
        source = Path(artifact_path)
        if not source.exists():
            problems.append(FieldProblem("artifact_path", str(artifact_path), "does not exist"))
    clean: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        try:
            clean[str(key)] = float(value)
        except (TypeError, ValueError):
            problems.append(FieldProblem(f"metrics.{key}", value, "must be a number"))
    if lineage is not None and not isinstance(lineage, dict):
        problems.append(FieldProblem("lineage", lineage, "must be a dict of str to str"))
    if problems:
        raise ValidationError("model version registration", problems)
    return clean, source


def own_version(model_name: str, version_id: str) -> str:
    """The version string from ``model:version`` or a bare version."""
    name, sep, version = version_id.rpartition(":")
    if sep and name != model_name:
        raise ValidationError(
            "promotion",
            [FieldProblem("version_id", version_id,
                          f"belongs to model {name!r}, not {model_name!r}")],
        )
    return version


