"""The MLflow-backed model registry: versions, stages (aliases), lineage, integrity, history."""

from ordinis.engines.learning.registry.history import STAGE_CHANGE_KIND, StageChange, StageHistory
from ordinis.engines.learning.registry.lineage import code_version
from ordinis.engines.learning.registry.mlflow_backend import ROLLBACK_ALIAS, STAGE_ALIASES
from ordinis.engines.learning.registry.registry import (
    ModelRegistry,
    StageListener,
    parse_stage,
    parse_strategy,
)

__all__ = [
    "ROLLBACK_ALIAS",
    "STAGE_ALIASES",
    "STAGE_CHANGE_KIND",
    "ModelRegistry",
    "StageChange",
    "StageHistory",
    "StageListener",
    "code_version",
    "parse_stage",
    "parse_strategy",
]
