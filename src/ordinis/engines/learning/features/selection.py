"""Which features a training job uses: the set it names, the list it gives, or discovery.

Discovery reads ``payload["features"]`` of the window's signal events and keeps the keys that
are finite numbers in at least ``min_feature_coverage`` of the rows; the choice is reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ordinis.engines.learning.core.errors import FieldProblem, NotFoundError, ValidationError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.features.feature_set import (
    FeatureDiscovery,
    FeatureSet,
    FeatureSetRegistry,
    FeatureSource,
    make_feature_set,
    parse_ref,
)

DEFAULT_MIN_COVERAGE = 0.95
LISTED_SET = "listed"  # the set name lineage records for a config's own list
DISCOVERED_SET = "discovered"  # the set name lineage records for discovered features


@dataclass(frozen=True, slots=True)
class FeatureSelection:
    """The features a job trains on, the set (and version) lineage records, and how."""

    feature_set: FeatureSet
    how: str  # "named", "listed" or "discovered"
    report: str
    discovery: FeatureDiscovery | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return self.feature_set.names


def is_number(value: Any) -> bool:
    """A finite int or float (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return False
    return math.isfinite(float(value))


def is_numeric(value: Any) -> bool:
    """An int or float, NaN included (a feature not yet defined); bools are not numbers."""
    return not isinstance(value, bool) and isinstance(
        value, int | float | np.integer | np.floating)


def discover_features(
    events: Iterable[LearningEvent], min_coverage: float = DEFAULT_MIN_COVERAGE
) -> FeatureDiscovery:
    """Numeric keys of ``payload["features"]`` present in enough labelled signal rows.

    Only SIGNAL_GENERATED events with a finite outcome count as rows (the ones training uses).
    A NaN counts as present (a feature still warming up); the dataset then drops, and counts,
    rows whose values are not finite. Keys keep the order in which they first appear.
    """
    seen: dict[str, int] = {}
    numeric: dict[str, int] = {}
    rows = 0
    for ev in events:
        if ev.event_type is not EventType.SIGNAL_GENERATED or not is_number(ev.outcome):
            continue
        feats = ev.payload.get("features") if isinstance(ev.payload, Mapping) else None
        if not isinstance(feats, Mapping):
            continue
        rows += 1
        for key, value in feats.items():
            k = str(key)
            seen[k] = seen.get(k, 0) + 1
            if is_numeric(value):
                numeric[k] = numeric.get(k, 0) + 1
    chosen: list[str] = []
    coverage: dict[str, float] = {}
    rejected: dict[str, str] = {}
    for key, _count in seen.items():
        cov = numeric.get(key, 0) / rows if rows else 0.0
        coverage[key] = cov
        if numeric.get(key, 0) == 0:
            rejected[key] = "not numeric"
        elif cov < min_coverage:
            rejected[key] = f"numeric in {cov:.0%} of rows"
        else:
            chosen.append(key)
    return FeatureDiscovery(tuple(chosen), coverage, rejected, rows, min_coverage)


def validate_feature_config(config: Mapping[str, Any]) -> list[FieldProblem]:
    """Problems of a job config's feature keys: ``feature_set``, ``features``, coverage."""
    problems: list[FieldProblem] = []
    named = config.get("feature_set")
    listed = config.get("features")
    if named is not None:
        if not isinstance(named, str) or not named:
            problems.append(FieldProblem("config.feature_set", named,
                                         "must name a registered feature set, e.g. my_set@v2"))
        else:
            try:
                parse_ref(named)
            except ValidationError as exc:
                problems.extend(exc.problems)
    if listed is not None and (
        not isinstance(listed, list | tuple) or not listed
        or not all(isinstance(n, str) and n for n in listed)
    ):
        problems.append(FieldProblem("config.features", listed,
                                     "must be a non-empty list of feature names"))
    if named is not None and listed is not None:
        problems.append(FieldProblem("config.features", listed,
                                     "give feature_set or features, not both"))
    cov = config.get("min_feature_coverage", DEFAULT_MIN_COVERAGE)
    if isinstance(cov, bool) or not isinstance(cov, int | float) or not 0 < cov <= 1:
        problems.append(FieldProblem("config.min_feature_coverage", cov, "must be in (0, 1]"))
    return problems


def select_features(
    config: Mapping[str, Any],
    registry: FeatureSetRegistry,
    events: Sequence[LearningEvent],
) -> FeatureSelection:
    """The job's features: ``config.feature_set``, else ``config.features``, else discovery."""
    problems = validate_feature_config(config)
    if problems:
        raise ValidationError("training job config", problems)
    named = config.get("feature_set")
    if named:
        try:
            fs = registry.resolve(str(named))
        except NotFoundError as exc:
            raise ValidationError("training job config", [
                FieldProblem("config.feature_set", named, str(exc))]) from None
        return FeatureSelection(fs, "named", f"feature set {fs.ref} ({fs.source.value}): "
                                             f"{', '.join(fs.names)}")
    listed = config.get("features")
    if listed:
        fs = make_feature_set(LISTED_SET, [str(n) for n in listed])
        return FeatureSelection(fs, "listed", f"features listed in the job config: "
                                              f"{', '.join(fs.names)}")
    cov = float(config.get("min_feature_coverage", DEFAULT_MIN_COVERAGE))
    found = discover_features(events, cov)
    if not found.chosen:
        detail = (f"{found.rows} labelled signal rows carry payload['features']"
                  + (f"; keys seen: {found.rejected}" if found.rejected else ""))
        raise ValidationError("training job config", [FieldProblem(
            "config.features", None,
            f"no features given and none discovered ({detail}). Put numeric features in "
            "payload['features'] of SIGNAL_GENERATED events (any names) with the realised "
            "return as outcome, list them in config.features, or name a feature set in "
            "config.feature_set")])
    for name in registry.names():  # the discovered names are a registered set: name it
        known = registry.get(name)
        if set(known.names) == set(found.chosen) and known.source is not FeatureSource.STORE:
            return FeatureSelection(known, "discovered", f"{found.report()} = {known.ref}", found)
    fs = make_feature_set(DISCOVERED_SET, found.chosen, source=FeatureSource.PAYLOAD)
    return FeatureSelection(fs, "discovered", found.report(), found)
