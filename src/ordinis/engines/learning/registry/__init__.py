"""The MLflow-backed model registry: versions, stages (aliases), lineage, integrity, history.

Names load on first use (PEP 562): importing one light module of this package does not
import the heavy ones.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ordinis.engines.learning.registry.history import (
        STAGE_CHANGE_KIND,
        StageChange,
        StageHistory,
    )
    from ordinis.engines.learning.registry.lineage import code_version
    from ordinis.engines.learning.registry.mlflow_backend import ROLLBACK_ALIAS, STAGE_ALIASES
    from ordinis.engines.learning.registry.registry import (
        ModelRegistry,
        StageListener,
        parse_stage,
        parse_strategy,
    )

_LAZY: dict[str, str] = {
    "STAGE_CHANGE_KIND": "ordinis.engines.learning.registry.history",
    "StageChange": "ordinis.engines.learning.registry.history",
    "StageHistory": "ordinis.engines.learning.registry.history",
    "code_version": "ordinis.engines.learning.registry.lineage",
    "ROLLBACK_ALIAS": "ordinis.engines.learning.registry.mlflow_backend",
    "STAGE_ALIASES": "ordinis.engines.learning.registry.mlflow_backend",
    "ModelRegistry": "ordinis.engines.learning.registry.registry",
    "StageListener": "ordinis.engines.learning.registry.registry",
    "parse_stage": "ordinis.engines.learning.registry.registry",
    "parse_strategy": "ordinis.engines.learning.registry.registry",
}


def __getattr__(name: str) -> Any:
    """Load a public name on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


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
