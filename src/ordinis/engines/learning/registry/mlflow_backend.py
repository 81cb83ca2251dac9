"""Thin MLflow adapter: how a ModelVersion is written to and read from MLflow.

Stages are registered-model aliases plus a ``stage`` tag on each version (MLflow's own stages
are deprecated and not used); tag names and the reading of tags live in ``tags`` (no MLflow
there). The whole registry is rebuilt from two MLflow searches. Every method blocks: call it
from a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion
from mlflow.exceptions import MlflowException

from ordinis.engines.learning.registry.tags import (
    EXPERIMENT_PREFIX,
    TAG_MANAGED,
    LoadedModel,
    LoadedVersion,
    loaded_version,
)

_PAGE = 1000


class MlflowBackend:
    """The MlflowClient calls the registry needs, one verb each."""

    def __init__(self, tracking_uri: str, artifact_root: Path | None) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        # Tag and alias writes go to the registry client underneath MlflowClient: the public
        # verbs first re-read the registered model to check it is not a prompt (one extra query
        # per call, ~60% of a promotion's time). Our models are never prompts.
        self._writer: Any = getattr(self.client, "_get_registry_client", lambda: self.client)()
        self._experiments: dict[str, str] = {}
        self._models: set[str] = set()

    def close(self) -> None:
        """Release MLflow's pooled connections to this tracking URI.

        MLflow keeps one SQLAlchemy engine per database URI in class-level caches of its
        tracking and registry stores, for the life of the process; without this each engine
        lifecycle left its connections (file descriptors on ``mlflow.db``) open. ``dispose``
        closes the pool; a later client on the same URI simply opens new connections.
        """
        from mlflow.store.model_registry.sqlalchemy_store import (
            SqlAlchemyStore as RegistrySqlStore,
        )
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingSqlStore

        for store_class in (TrackingSqlStore, RegistrySqlStore):
            engines: dict[str, Any] = getattr(store_class, "_engine_map", {})
            engine = engines.get(self.tracking_uri)
            if engine is not None:
                engine.dispose()

    # ------------------------------------------------------------------ models and experiments
    def ensure_model(self, name: str) -> str:
        """Create the registered model and its experiment if needed; returns the experiment id."""
        if name not in self._models:
            try:
                rm = self.client.get_registered_model(name)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
                self.client.create_registered_model(name, tags={TAG_MANAGED: "true"})
            else:
                if rm.tags.get(TAG_MANAGED) != "true":
                    self.client.set_registered_model_tag(name, TAG_MANAGED, "true")
            self._models.add(name)
        return self.experiment_id(name)

    def experiment_id(self, name: str) -> str:
        cached = self._experiments.get(name)
        if cached is not None:
            return cached
        exp_name = EXPERIMENT_PREFIX + name
        exp = self.client.get_experiment_by_name(exp_name)
        if exp is not None:
            exp_id = str(exp.experiment_id)
        else:
            location = None
            if self.artifact_root is not None:
                location = (self.artifact_root / name).resolve().as_uri()
            exp_id = str(self.client.create_experiment(exp_name, artifact_location=location))
        self._experiments[name] = exp_id
        return exp_id

    # ------------------------------------------------------------------ runs
    def start_run(self, model_name: str, version: str, job_id: str | None) -> tuple[str, str]:
        """A new run for a registration; returns (run_id, artifact_uri)."""
        tags = {"ordinis.model_name": model_name, "ordinis.version": version}
        if job_id:
            tags["ordinis.training_job_id"] = job_id
        run = self.client.create_run(
            self.experiment_id(model_name), tags=tags, run_name=f"{model_name}-{version}"
        )
        return run.info.run_id, str(run.info.artifact_uri)

    def log_evaluation_run(
        self, model_name: str, version: str, tags: dict[str, str],
        metrics: dict[str, float], timestamp_ms: int, step: int, parent_run_id: str | None,
    ) -> str:
        """One finished run per evaluation (nested under the version's run when it has one):
        its metrics at the engine clock's ``timestamp_ms`` and ``step``; returns its id."""
        all_tags = {"ordinis.model_name": model_name, "ordinis.version": version, **tags}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = self.client.create_run(
            self.experiment_id(model_name), start_time=timestamp_ms, tags=all_tags,
            run_name=f"{model_name}-{version}-eval-{step}-{tags.get('ordinis.gate_set', '')}",
        )
        run_id = str(run.info.run_id)
        self.client.log_batch(run_id, metrics=[
            Metric(k, v, timestamp_ms, step) for k, v in sorted(metrics.items())])
        self.client.set_terminated(run_id, status="FINISHED", end_time=timestamp_ms)
        return run_id

    def existing_run(self, run_id: str) -> tuple[str, str, dict[str, str]]:
        """(run_id, artifact_uri, params) of a run a trainer already made."""
        run = self.client.get_run(run_id)
        return run.info.run_id, str(run.info.artifact_uri), dict(run.data.params)

    def log_run_data(
        self,
        run_id: str,
        metrics: dict[str, float],
        params: dict[str, str],
        timestamp_ms: int,
        tags: dict[str, str] | None = None,
    ) -> None:
        """Params, metrics and tags in one batch call (none when there is nothing to log)."""
        if not (metrics or params or tags):
            return
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, timestamp_ms, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in (tags or {}).items()],
        )

    def log_artifacts(self, run_id: str, source: Path, artifact_dir: str) -> None:
        if source.is_dir():
            self.client.log_artifacts(run_id, str(source), artifact_dir)
        else:
            self.client.log_artifact(run_id, str(source), artifact_dir)

    def finish_run(self, run_id: str, ok: bool = True) -> None:
        self.client.set_terminated(run_id, status="FINISHED" if ok else "FAILED")

    def delete_run(self, run_id: str) -> None:
        self.client.delete_run(run_id)

    # ------------------------------------------------------------------ versions
    def create_version(
        self, model_name: str, source: str, run_id: str | None, tags: dict[str, str],
        description: str,
    ) -> str:
        """Create the model version with all its tags in one call; returns MLflow's version."""
        mv = self.client.create_model_version(
            model_name, source=source, run_id=run_id, tags=tags, description=description or None,
            await_creation_for=0,
        )
        return str(mv.version)

    def delete_version(self, model_name: str, mlflow_version: str) -> None:
        self.client.delete_model_version(model_name, mlflow_version)

    def set_tags(self, model_name: str, mlflow_version: str, tags: dict[str, str]) -> None:
        """MLflow has no batch call for version tags: one call per tag."""
        for key, value in tags.items():
            self._writer.set_model_version_tag(model_name, mlflow_version, key, value)

    def set_alias(self, model_name: str, alias: str, mlflow_version: str) -> None:
        self._writer.set_registered_model_alias(model_name, alias, mlflow_version)

    def delete_alias(self, model_name: str, alias: str) -> None:
        try:
            self._writer.delete_registered_model_alias(model_name, alias)
        except MlflowException as exc:  # already gone: the goal is reached
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise

    # ------------------------------------------------------------------ reading everything back
    def load_all(self) -> list[LoadedModel]:
        """Every model this engine manages, with versions and aliases (two paged searches)."""
        models: dict[str, dict[str, str]] = {}
        for rm in self._paged(self.client.search_registered_models):
            if rm.tags.get(TAG_MANAGED) == "true":
                models[rm.name] = {alias: str(v) for alias, v in (rm.aliases or {}).items()}
        return [self.load_model(name, aliases) for name, aliases in models.items()]

    def load_model(self, name: str, aliases: dict[str, str] | None = None) -> LoadedModel:
        """One model's versions and aliases."""
        if aliases is None:
            rm = self.client.get_registered_model(name)
            aliases = {alias: str(v) for alias, v in (rm.aliases or {}).items()}
        escaped = name.replace("'", "\\'")
        found: list[LoadedVersion] = []
        for mv in self._paged(
            self.client.search_model_versions, filter_string=f"name='{escaped}'"
        ):
            loaded = to_loaded_version(mv)
            if loaded is not None:
                found.append(loaded)
        found.sort(key=lambda lv: int(lv.version.mlflow_version or 0))
        return LoadedModel(name, found, aliases)

    @staticmethod
    def _paged(search: Any, **kwargs: Any) -> Iterator[Any]:
        token: str | None = None
        while True:
            page = search(max_results=_PAGE, page_token=token, **kwargs)
            yield from page
            token = page.token
            if not token:
                return


def to_loaded_version(mv: MlflowModelVersion) -> LoadedVersion | None:
    """Our view of an MLflow model version; None when it was not registered by this engine."""
    return loaded_version(mv.name, str(mv.version), dict(mv.tags or {}), mv.creation_timestamp,
                          mv.source, mv.description, mv.run_id)
