"""How a ModelVersion is kept in MLflow, without MLflow: the tag names, the stage aliases, and
the reading of a version's tags back into a ModelVersion.

``mlflow_backend`` writes and reads through MlflowClient; ``mlflow_sqlite`` reads MLflow's
tables directly (a read command need not import MLflow). Both build versions here, so they agree.
Stages are registered-model aliases ("production", "staging", "shadow", "canary",
"rollback_target") plus a ``stage`` tag on each version; our version string, lineage, hashes,
metrics and parameters are model-version tags.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ordinis.engines.learning.core.models import ModelStage, ModelVersion, ProductionVerdict

log = logging.getLogger(__name__)

# ---- model-version tags
TAG_VERSION = "version"
TAG_STAGE = "stage"
TAG_CREATED_AT = "created_at"
TAG_METRICS = "metrics"
TAG_PARAMETERS = "parameters"
TAG_SHA256 = "artifact_sha256"
TAG_MANIFEST = "artifact_manifest"
TAG_MODEL_FILE = "model_file"
TAG_MODEL_TYPE = "model_type"
TAG_TRAINING_JOB = "training_job_id"
LINEAGE_PREFIX = "lineage."
TAG_EVAL_PASSED = "evaluation.passed"
TAG_EVAL_ID = "evaluation.id"
TAG_EVAL_SUMMARY = "evaluation.summary"
TAG_EVAL_AT = "evaluation.at"
TAG_EVAL_LABEL = "evaluation.label"
TAG_EVAL_PRODUCTION = "evaluation.production_verdict"
TAG_EVAL_GATE_SET = "evaluation.gate_set"
TAG_EVAL_RUN = "evaluation.run_id"
# ---- registered-model tag marking the models this engine manages
TAG_MANAGED = "ordinis.managed"

STAGE_ALIASES: dict[ModelStage, str] = {
    ModelStage.STAGING: "staging",
    ModelStage.SHADOW: "shadow",
    ModelStage.CANARY: "canary",
    ModelStage.PRODUCTION: "production",
}
ROLLBACK_ALIAS = "rollback_target"
EXPERIMENT_PREFIX = "ordinis/"


@dataclass(slots=True)
class LoadedVersion:
    """A version as read from MLflow, with what the registry keeps beside the ModelVersion."""

    version: ModelVersion
    manifest: dict[str, str] = field(default_factory=dict)
    model_file: str | None = None
    model_type: str | None = None


@dataclass(slots=True)
class LoadedModel:
    """A registered model: versions (registration order) and aliases (alias → MLflow version)."""

    name: str
    versions: list[LoadedVersion]
    aliases: dict[str, str]


def loaded_version(
    name: str, mlflow_version: str, tags: dict[str, str], creation_ms: int | None,
    source: str | None, description: str | None, run_id: str | None,
) -> LoadedVersion | None:
    """Our view of an MLflow model version; None when it was not registered by this engine."""
    version = tags.get(TAG_VERSION)
    if not version:
        return None
    passed_tag = tags.get(TAG_EVAL_PASSED)
    manifest = {str(k): str(v) for k, v in _json(tags.get(TAG_MANIFEST)).items()}
    created = tags.get(TAG_CREATED_AT)
    mv_obj = ModelVersion(
        model_name=name,
        version=version,
        stage=ModelStage(tags.get(TAG_STAGE, ModelStage.DEVELOPMENT.value)),
        created_at=(
            datetime.fromisoformat(created) if created
            else datetime.fromtimestamp((creation_ms or 0) / 1000, tz=UTC)
        ),
        metrics={k: float(v) for k, v in _json(tags.get(TAG_METRICS)).items()},
        parameters=_json(tags.get(TAG_PARAMETERS)),
        artifact_path=(source or None) if manifest else None,  # None: no artifacts
        artifact_sha256=tags.get(TAG_SHA256) or None,
        training_job_id=tags.get(TAG_TRAINING_JOB) or None,
        description=description or "",
        lineage={
            k[len(LINEAGE_PREFIX):]: v for k, v in tags.items() if k.startswith(LINEAGE_PREFIX)
        },
        mlflow_version=str(mlflow_version),
        run_id=run_id or None,
        evaluation_passed=None if passed_tag is None else passed_tag == "true",
        evaluation_label=tags.get(TAG_EVAL_LABEL, ""),
        production_verdict=_verdict(tags.get(TAG_EVAL_PRODUCTION)),
    )
    return LoadedVersion(
        version=mv_obj,
        manifest=manifest,
        model_file=tags.get(TAG_MODEL_FILE) or None,
        model_type=tags.get(TAG_MODEL_TYPE) or None,
    )


def _verdict(text: str | None) -> ProductionVerdict | None:
    """The stored production verdict; an unreadable one counts as none (re-evaluate)."""
    data = _json(text)
    if not data:
        return None
    try:
        return ProductionVerdict.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        log.warning("unreadable JSON tag value %r", text[:80])
        return {}
    return value if isinstance(value, dict) else {}


def json_tag(value: dict[str, Any]) -> str:
    """Compact, key-sorted JSON for a tag value (non-finite floats as strings)."""
    def fix(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        return v

    return json.dumps({k: fix(v) for k, v in value.items()}, sort_keys=True,
                      separators=(",", ":"), default=str)
