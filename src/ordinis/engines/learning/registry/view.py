"""The registry's read rules, without MLflow: which stage a version is in (the production alias
wins over a stale tag), finding a version (errors that list what exists), counting trials and
what blocks production. ``ModelRegistry`` applies them to its caches; ``RegistryView`` to
versions loaded once for a read command (``mlflow_sqlite``), so both answer alike.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from ordinis.engines.learning.core.errors import FieldProblem, NotFoundError, ValidationError
from ordinis.engines.learning.core.models import ModelStage, ModelVersion
from ordinis.engines.learning.registry.tags import LoadedModel, LoadedVersion
from ordinis.engines.learning.registry.validation import parse_stage

log = logging.getLogger(__name__)

Versions = Mapping[str, Mapping[str, ModelVersion]]  # model name -> our version -> version


def resolve(loaded: LoadedModel) -> tuple[dict[str, ModelVersion], dict[str, str]]:
    """A model's versions by our version string and its aliases as ``{alias: our version}``;
    the production alias is the truth when a version's stage tag disagrees with it."""
    by_mlflow = {lv.version.mlflow_version: lv for lv in loaded.versions}
    versions = {lv.version.version: lv.version for lv in loaded.versions}
    aliases: dict[str, str] = {}
    for alias, mlflow_version in loaded.aliases.items():
        found: LoadedVersion | None = by_mlflow.get(mlflow_version)
        if found is not None:
            aliases[alias] = found.version.version
    prod = aliases.get("production")
    for v, mv in list(versions.items()):
        if prod == v and mv.stage is not ModelStage.PRODUCTION:
            log.warning("%s: production alias wins over stage tag %s", mv.version_id, mv.stage)
            versions[v] = dataclasses.replace(mv, stage=ModelStage.PRODUCTION)
        elif prod != v and mv.stage is ModelStage.PRODUCTION:
            log.warning("%s: tagged production but not the alias; treated as archived",
                        mv.version_id)
            versions[v] = dataclasses.replace(mv, stage=ModelStage.ARCHIVED)
    return versions, aliases


def model_versions(versions: Versions, model_name: str) -> Mapping[str, ModelVersion]:
    """The versions of a model; NotFoundError lists the known models."""
    found = versions.get(model_name)
    if found is None:
        raise NotFoundError(
            f"model {model_name!r} is not registered; known models: "
            f"{sorted(versions) or 'none'}"
        )
    return found


def find_version(versions: Versions, version_id: str) -> ModelVersion:
    """A version by ``model:version``; NotFoundError lists what exists."""
    model_name, _, version = version_id.rpartition(":")
    if not model_name:
        raise ValidationError(
            "version_id",
            [FieldProblem("version_id", version_id, "must be '<model_name>:<version>'")],
        )
    of_model = model_versions(versions, model_name)
    mv = of_model.get(version)
    if mv is None:
        raise NotFoundError(
            f"version {version!r} of model {model_name!r} is not registered; "
            f"known versions: {tail(of_model)}"
        )
    return mv


def trial_count_of(versions: Versions, mv: ModelVersion) -> int:
    """The Deflated Sharpe's trials for a version: every candidate registered under its model
    name, plus those under other names trained on the same feature set and data hash."""
    key = data_key(mv)
    count = 0
    for name, of_model in list(versions.items()):
        for other in list(of_model.values()):
            if name == mv.model_name or (key is not None and data_key(other) == key):
                count += 1
    return max(count, 1)


def production_blocker(mv: ModelVersion, trials: int) -> str | None:
    """Why the version may not open production now (None: it may), given the trial count."""
    verdict = mv.production_verdict
    version_id = mv.version_id
    if verdict is None:
        label = mv.evaluation_label
        other = f" (its latest evaluation: {label})" if label else ""
        return (
            f"version {version_id} has no evaluation with the production gate set{other}; "
            "evaluate it with gate_set='production' (other gate sets never open production)"
        )
    if verdict.trials != trials:
        return (
            f"version {version_id}'s production evaluation {verdict.evaluation_id} counted "
            f"{verdict.trials} trial(s) but {trials} candidates are registered now; "
            "re-evaluate it with the production gate set (the Deflated Sharpe counts every "
            "candidate)"
        )
    if not verdict.passed:
        return f"version {version_id}: {verdict.label()}"
    return None


def data_key(mv: ModelVersion) -> tuple[str, str] | None:
    """(feature set, data hash) of a trained version; None without a data hash."""
    data_hash = mv.lineage.get("data_hash", "")
    if not data_hash:
        return None
    return mv.lineage.get("feature_set", ""), data_hash


def tail(versions: Mapping[str, ModelVersion], n: int = 20) -> str:
    names = list(versions)
    if not names:
        return "none"
    shown = names[-n:]
    more = f" (and {len(names) - n} older)" if len(names) > n else ""
    return ", ".join(shown) + more


class RegistryView:
    """The registry's reads over models loaded once, with ModelRegistry's answers and errors
    (list, show, production, what blocks production). It holds no MLflow client."""

    def __init__(self, models: list[LoadedModel]) -> None:
        self._versions: dict[str, dict[str, ModelVersion]] = {}
        self._aliases: dict[str, dict[str, str]] = {}
        for loaded in models:
            if loaded.versions:  # a model without versions is not listed (as in the registry)
                self._versions[loaded.name], self._aliases[loaded.name] = resolve(loaded)

    def list_models(self) -> list[str]:
        return sorted(self._versions)

    def list_versions(
        self, model_name: str, stage: ModelStage | str | None = None
    ) -> list[ModelVersion]:
        versions = list(model_versions(self._versions, model_name).values())
        if stage is None:
            return versions
        wanted = parse_stage(stage, "stage")
        return [v for v in versions if v.stage is wanted]

    def get_model_version(self, version_id: str) -> ModelVersion:
        return find_version(self._versions, version_id)

    def get_production_model(self, model_name: str) -> ModelVersion | None:
        version = self._aliases.get(model_name, {}).get("production")
        return None if version is None else self._versions[model_name].get(version)

    def aliases(self, model_name: str) -> dict[str, str]:
        model_versions(self._versions, model_name)
        return dict(self._aliases.get(model_name, {}))

    def production_blocker(self, version_id: str) -> str | None:
        mv = self.get_model_version(version_id)
        return production_blocker(mv, trial_count_of(self._versions, mv))
