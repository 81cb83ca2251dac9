"""The keys a training job config may hold: typos are refused with the close match named.

Keys every job understands (data window, retries, resources) are listed here; a trainer adds
its own with a ``config_keys`` attribute. A trainer without one accepts any key (plug-ins).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ordinis.engines.learning.core.errors import FieldProblem

# understood by the executor, the dataset builder and feature selection, whatever the trainer
COMMON_KEYS: frozenset[str] = frozenset({
    "start", "end", "symbol", "symbols", "source_engine", "min_samples",
    "timeout_seconds", "max_retries", "resources", "trigger_id",
    "feature_set", "features", "min_feature_coverage",
    "position_policy",  # the version's strategy definition, kept in its lineage by the registrar
})


def job_config_problems(config: Any, trainer: object | None) -> list[FieldProblem]:
    """Problems of a job config: not a mapping, or keys no part reads (with a suggestion)."""
    if not isinstance(config, Mapping):
        return [FieldProblem(
            "config", type(config).__name__,
            "must be a mapping of setting name to value, e.g. {'algorithm': 'lightgbm'}",
        )]
    extra = getattr(trainer, "config_keys", None)
    if extra is None:
        return []
    known = COMMON_KEYS | frozenset(extra)
    problems: list[FieldProblem] = []
    for key in config:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), sorted(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known))}"
        problems.append(FieldProblem(
            f"config.{key}", config[key],
            f"unknown setting for model_type {getattr(trainer, 'model_type', '?')!r}; {hint}",
        ))
    return problems
