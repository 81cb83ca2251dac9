"""The MLflow-backed model registry: versions, stages (aliases), lineage, integrity, history.

Names load on first use (PEP 562): importing one light module of this package does not
import the heavy ones.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

if TYPE_CHECKING:
    from ordinis.engines.learning.registry.history import (
        STAGE_CHANGE_KIND,
        StageChange,
        StageHistory,
    )
    from ordinis.engines.learning.registry.lineage import code_version
    from ordinis.engines.learning.registry.registry import (
        ModelRegistry,
        StageListener,
        parse_stage,
        parse_strategy,
    )
    from ordinis.engines.learning.registry.tags import ROLLBACK_ALIAS, STAGE_ALIASES

_LAZY: dict[str, str] = {
    "STAGE_CHANGE_KIND": "ordinis.engines.learning.registry.history",
    "StageChange": "ordinis.engines.learning.registry.history",
    "StageHistory": "ordinis.engines.learning.registry.history",
    "code_version": "ordinis.engines.learning.registry.lineage",
    "ROLLBACK_ALIAS": "ordinis.engines.learning.registry.tags",
    "STAGE_ALIASES": "ordinis.engines.learning.registry.tags",
    "ModelRegistry": "ordinis.engines.learning.registry.registry",
    "StageListener": "ordinis.engines.learning.registry.registry",
    "parse_stage": "ordinis.engines.learning.registry.registry",
    "parse_strategy": "ordinis.engines.learning.registry.registry",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


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
