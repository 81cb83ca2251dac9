"""ModelRegistry: model versions and their stages, kept in MLflow, served from memory.

MLflow is the system of record (versions, tags, aliases); the stage history lives in the event
store; the maps here are caches rebuilt from both on ``open()``. Every change passes
governance preflight, writes one audit record and updates the metrics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import logging
import re
import tempfile
import threading
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mlflow.exceptions import MlflowException

import ordinis.engines.learning.registry.artifacts as art
from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import (
    EngineNotRunningError,
    FieldProblem,
    NotFoundError,
    PolicyDeniedError,
    StoreIdentityError,
    ValidationError,
)
from ordinis.engines.learning.core.models import (
    ModelStage,
    ModelVersion,
    ProductionVerdict,
    RolloutStrategy,
    StoredRecord,
)
from ordinis.engines.learning.core.strategy import LINEAGE_KEY as POLICY_KEY
from ordinis.engines.learning.core.strategy import PositionPolicy
from ordinis.engines.learning.events.identity import preflight_sqlite_file
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.governance.audit import AuditLog
from ordinis.engines.learning.governance.policies import (
    PRE_PRODUCTION_STAGES,
    GovernanceAction,
    PolicyEngine,
    PreflightResult,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.tracing import ATTR_VERSION, span
from ordinis.engines.learning.registry import view
from ordinis.engines.learning.registry.history import (
    STAGE_CHANGE_KIND,
    StageChange,
    StageHistory,
    replaced_by_promotion,
    stages_held,
    version_at,
)
from ordinis.engines.learning.registry.lineage import build_lineage
from ordinis.engines.learning.registry.mlflow_backend import MlflowBackend
from ordinis.engines.learning.registry.tags import (
    LINEAGE_PREFIX,
    ROLLBACK_ALIAS,
    STAGE_ALIASES,
    TAG_CREATED_AT,
    TAG_EVAL_AT,
    TAG_EVAL_GATE_SET,
    TAG_EVAL_ID,
    TAG_EVAL_LABEL,
    TAG_EVAL_PASSED,
    TAG_EVAL_PRODUCTION,
    TAG_EVAL_RUN,
    TAG_EVAL_SUMMARY,
    TAG_MANIFEST,
    TAG_METRICS,
    TAG_MODEL_FILE,
    TAG_MODEL_TYPE,
    TAG_PARAMETERS,
    TAG_SHA256,
    TAG_STAGE,
    TAG_TRAINING_JOB,
    TAG_VERSION,
    LoadedModel,
    json_tag,
)
from ordinis.engines.learning.registry.validation import (
    own_version,
    parse_stage,
    parse_strategy,
    reason_label,
    validate_registration,
)

log = logging.getLogger(__name__)

# A listener may be a coroutine function: the change waits for it (run heavy work off-loop).
StageListener = Callable[[StageChange], Awaitable[None] | None]

# Order used to tell a promotion from a demotion.
_RANK: dict[ModelStage, int] = {
    ModelStage.ARCHIVED: -1, ModelStage.DEVELOPMENT: 0, ModelStage.STAGING: 1,
    ModelStage.SHADOW: 2, ModelStage.CANARY: 3, ModelStage.PRODUCTION: 4,
}
# Stages retention never touches: something is (about to be) serving from them.
_LIVE_STAGES = frozenset({ModelStage.STAGING, ModelStage.SHADOW, ModelStage.CANARY,
                          ModelStage.PRODUCTION})


@dataclasses.dataclass(slots=True)
class _Integrity:
    manifest: dict[str, str]
    model_file: str | None
    model_type: str | None


@dataclasses.dataclass(slots=True)
class _Move:
    """A planned stage change: tags and aliases to write, history entries and one audit record."""

    model_name: str
    action: str
    tag_moves: list[tuple[ModelVersion, ModelStage]]
    alias_set: dict[str, str]      # alias -> our version
    alias_delete: list[str]
    changes: list[StageChange]
    audit_target: str
    audit_details: dict[str, Any]


class ModelRegistry:
    """The MLflow-backed model registry with an in-memory hot path.

    Stages are MLflow aliases (``production``, ``staging``, ``shadow``, ``canary``) plus a
    ``stage`` tag per version; promoting to PRODUCTION archives the previous production version
    and points the ``rollback_target`` alias at it. Mutations are async (MLflow runs in a worker
    thread, one change at a time); reads are synchronous and served from memory.
    """

    def __init__(
        self,
        config: LearningEngineConfig,
        store: EventStore,
        clock: Clock,
        metrics: LearningMetrics,
        policies: PolicyEngine,
        audit: AuditLog,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.policies = policies
        self.audit = audit
        self.history = StageHistory(store)
        self._backend: MlflowBackend | None = None
        self._lock = asyncio.Lock()
        self._cache_lock = threading.RLock()
        self._versions: dict[str, dict[str, ModelVersion]] = {}
        self._integrity: dict[str, _Integrity] = {}
        self._aliases: dict[str, dict[str, str]] = {}
        self._production: dict[str, ModelVersion] = {}
        self._listeners: list[StageListener] = []
        self.instance_id = uuid.uuid4().hex  # owner of the version numbers this engine claims
        # Called before every write; the engine makes it refuse on a read-only opener
        # (ReadOnlyError) or a follower that is not the leader (NotLeaderError).
        self.write_guard: Callable[[], None] = _allow_writes

    # ------------------------------------------------------------------ lifecycle
    async def open(self) -> None:
        """Connect to MLflow and rebuild the caches from it (idempotent)."""
        if self._backend is not None:
            return
        backend = await asyncio.to_thread(self._make_backend)
        models = await asyncio.to_thread(backend.load_all)
        if not models:
            await asyncio.to_thread(self._refuse_lost_registry)
        with self._cache_lock:
            for loaded in models:
                self._install(loaded)
        self._backend = backend
        for name in self._versions:
            self._update_gauges(name)

    async def close(self) -> None:
        """Drop the caches and the MLflow client, releasing its pooled database connections
        (MLflow holds everything durable)."""
        backend, self._backend = self._backend, None
        if backend is not None:
            await asyncio.to_thread(backend.close)
        with self._cache_lock:
            self._versions.clear()
            self._integrity.clear()
            self._aliases.clear()
            self._production.clear()

    @property
    def tracking_uri(self) -> str:
        return self.config.resolved_mlflow_uri

    @property
    def mlflow_client(self) -> Any:
        """The underlying ``mlflow.MlflowClient`` (for reading runs and artifacts directly)."""
        return self._require_backend().client

    def _refuse_lost_registry(self) -> None:
        """An empty registry while the event store lists registered versions: MLflow's store
        was replaced or emptied; refuse rather than serve a registry that forgot them."""
        listed = self.store.list_records(STAGE_CHANGE_KIND, limit=1)
        if listed:
            raise StoreIdentityError(
                f"the model registry at {self.config.resolved_mlflow_uri} is empty, but the "
                f"event store {self.store.url} lists registered versions (e.g. "
                f"{StageChange.from_record(listed[0]).version_id}): restore the MLflow store "
                f"(mlflow.db and artifacts) from the same backup as the event store"
            )

    def _make_backend(self) -> MlflowBackend:
        uri = self.config.resolved_mlflow_uri
        scheme = urlparse(uri).scheme
        if scheme == "sqlite":
            db = Path(uri[len("sqlite:///"):])
            fresh = preflight_sqlite_file(db, "model registry (MLflow)", self.config.init_store)
            if fresh and db.is_file() and db.stat().st_size == 0:
                db.unlink()  # empty (init asked for): MLflow creates its tables anew
        artifact_root: Path | None = None
        if scheme in ("sqlite", "file", ""):
            artifact_root = self.config.artifacts_dir.resolve()
            artifact_root.mkdir(parents=True, exist_ok=True)
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        return MlflowBackend(uri, artifact_root)

    def _require_backend(self) -> MlflowBackend:
        if self._backend is None:
            raise EngineNotRunningError("ModelRegistry is not open; await registry.open() first")
        return self._backend

    def add_listener(self, callback: StageListener) -> None:
        """Call ``callback(change)`` after every stage change (registration included)."""
        self._listeners.append(callback)

    # ------------------------------------------------------------------ reads (memory)
    def get_production_model(self, model_name: str) -> ModelVersion | None:
        """The production version of a model, or None: one dict lookup (the hot path)."""
        return self._production.get(model_name)

    def get_model_version(self, version_id: str) -> ModelVersion:
        """A version by ``model:version``; NotFoundError lists what exists."""
        return view.find_version(self._versions, version_id)

    def list_versions(
        self, model_name: str, stage: ModelStage | str | None = None
    ) -> list[ModelVersion]:
        """Versions of a model in registration order, optionally only those in ``stage``."""
        versions = self._model_versions(model_name)
        if stage is None:
            return list(versions.values())
        wanted = parse_stage(stage, "stage")
        return [v for v in list(versions.values()) if v.stage is wanted]

    def list_models(self) -> list[str]:
        """Names of the registered models, sorted."""
        return sorted(self._versions)

    def trial_count(self, model_name: str) -> int:
        """Candidates ever registered for a model (every registration is a trial, whatever its
        fate). 0 for an unknown model. See :meth:`trial_count_of` for the DSR's count."""
        return len(self._versions.get(model_name, {}))

    def trial_count_of(self, version_id: str) -> int:
        """The Deflated Sharpe's trials for a version: every candidate registered under its model
        name, plus those registered under other names but trained on the same feature set and
        data hash (renaming does not reset the count). Retention does not lower it: archived
        versions stay registered. Trials run outside the engine are not seen."""
        mv = self.get_model_version(version_id)
        with self._cache_lock:
            return view.trial_count_of(self._versions, mv)

    def model_type_of(self, version_id: str) -> str | None:
        """The model type a version was registered with (None when not given)."""
        integrity = self._integrity.get(version_id)
        return integrity.model_type if integrity else None

    def position_policy_of(self, version_id: str) -> PositionPolicy:
        """The strategy definition a version carries (registered in its lineage)."""
        mv = self.get_model_version(version_id)
        return PositionPolicy.of_lineage(mv.lineage, self.default_policy)

    @property
    def default_policy(self) -> PositionPolicy:
        """The policy a version registered without one carries: clipped signal, config costs."""
        return PositionPolicy(
            cost_bps=self.config.transaction_cost_bps, slippage_bps=self.config.slippage_bps
        )

    def production_blocker(self, version_id: str) -> str | None:
        """Why the version may not open production now (None: it may).

        It needs a passed verdict of the production gate set of its model type, computed with
        the current number of trials (every candidate registered since lowers the DSR, so an
        older verdict no longer counts). Other gate sets never open production.
        """
        mv = self.get_model_version(version_id)
        return view.production_blocker(mv, self.trial_count_of(version_id))

    def aliases(self, model_name: str) -> dict[str, str]:
        """MLflow aliases as ``{alias: our version}`` (production, rollback_target, ...)."""
        self._model_versions(model_name)
        return dict(self._aliases.get(model_name, {}))

    def rollback_target(self, model_name: str) -> ModelVersion | None:
        """The version a rollback would restore, if any."""
        version = self._aliases.get(model_name, {}).get(ROLLBACK_ALIAS)
        return None if version is None else self._versions[model_name].get(version)

    def stage_history(self, model_name: str, version: str | None = None) -> list[StageChange]:
        """Every stage change of a model (or one version), oldest first, from the event store."""
        if version is not None and ":" in version:
            version = version.rpartition(":")[2]
        return self.history.changes(model_name, version)

    def version_at(self, model_name: str, stage: ModelStage | str, at: datetime) -> str | None:
        """Which version held ``stage`` at time ``at`` (None before any did)."""
        if at.tzinfo is None:
            raise ValidationError(
                "version_at", [FieldProblem("at", at, "must be timezone-aware (UTC)")]
            )
        return version_at(self.history.changes(model_name), parse_stage(stage, "stage"), at)

    # ------------------------------------------------------------------ artifacts
    def verify_artifacts(self, version_id: str) -> None:
        """Check every artifact file of a version against its registered SHA-256."""
        mv = self.get_model_version(version_id)
        integrity = self._integrity_of(mv)
        with self._artifact_dir(mv) as root:
            art.verify_manifest(root, integrity.manifest, mv.version_id)

    def load_model(self, version_id: str) -> Any:
        """The model object of a version; every artifact's SHA-256 is checked BEFORE unpickling
        (ArtifactIntegrityError on any difference, and nothing is deserialised)."""
        mv = self.get_model_version(version_id)
        integrity = self._integrity_of(mv)
        model_file = art.choose_model_file(integrity.manifest, integrity.model_file, mv.version_id)
        with self._artifact_dir(mv) as root:
            art.verify_manifest(root, integrity.manifest, mv.version_id)
            return art.load_model_file(root / model_file)

    def _integrity_of(self, mv: ModelVersion) -> _Integrity:
        integrity = self._integrity.get(mv.version_id)
        if integrity is None or not integrity.manifest:
            raise ValidationError(
                "model artifacts",
                [FieldProblem("version_id", mv.version_id,
                              "was registered without artifacts (no artifact_path or model)")],
            )
        return integrity

    def _artifact_dir(self, mv: ModelVersion) -> art.ArtifactDir:
        return art.ArtifactDir(mv.artifact_path or "", self.tracking_uri)

    # ------------------------------------------------------------------ version numbers
    def allocate_version(self, model_name: str) -> str:
        """The next free ``v<n>`` of a model, claimed in the shared store (atomic insert), so
        two engines registering at once never both get the same number."""
        self.write_guard()
        numbers = [_number(v) for v in self._versions.get(model_name, {})]
        numbers += [
            _number(r.key.rpartition(":")[2])
            for r in self.store.list_records(VERSION_CLAIM_KIND, tag=model_name)
        ]
        n = max(numbers, default=0) + 1
        while not self._insert_claim(model_name, f"v{n}"):  # only a fresh claim is ours
            n += 1
        return f"v{n}"

    def _insert_claim(self, model_name: str, version: str) -> bool:
        """Insert the claim of ``model:version``; True only when this call made it."""
        now = self.clock.now()
        return self.store.insert_record(StoredRecord(
            kind=VERSION_CLAIM_KIND, key=f"{model_name}:{version}", tag=model_name,
            body={"owner": self.instance_id}, created_at=now, updated_at=now,
        ))

    def _claim(self, model_name: str, version: str) -> bool:
        """Claim ``model:version`` for this engine; True when ours (new, or allocated to this
        engine before by ``allocate_version``)."""
        if self._insert_claim(model_name, version):
            return True
        held = self.store.get_record(VERSION_CLAIM_KIND, f"{model_name}:{version}")
        return held is not None and held.body.get("owner") == self.instance_id

    # ------------------------------------------------------------------ register
    async def register_model_version(
        self,
        model_name: str,
        version: str,
        artifact_path: str | Path | None = None,
        metrics: dict[str, float] | None = None,
        parameters: dict[str, Any] | None = None,
        training_job_id: str | None = None,
        description: str = "",
        model: Any = None,
        lineage: dict[str, str] | None = None,
        actor: str = "engine",
        model_type: str | None = None,
        run_id: str | None = None,
    ) -> ModelVersion:
        """Register a version in MLflow (run with params/metrics, artifacts with SHA-256,
        lineage tags); it starts in DEVELOPMENT. A duplicate version changes nothing."""
        self._require_backend()
        self.write_guard()
        clean_metrics, source = validate_registration(
            model_name, version, artifact_path, metrics, lineage, model
        )
        async with self._lock:
            mv, change = await asyncio.to_thread(
                self._register_sync, model_name, version, source, clean_metrics,
                dict(parameters or {}), training_job_id, description, model, lineage, actor,
                model_type, run_id,
            )
        await self._notify([change])
        return mv

    def _register_sync(
        self,
        model_name: str,
        version: str,
        source: Path | None,
        metrics: dict[str, float],
        parameters: dict[str, Any],
        training_job_id: str | None,
        description: str,
        model: Any,
        lineage: dict[str, str] | None,
        actor: str,
        model_type: str | None,
        run_id: str | None,
    ) -> tuple[ModelVersion, StageChange]:
        backend = self._require_backend()
        known = self._versions.get(model_name, {})
        if version in known:
            raise ValidationError(
                "model version",
                [FieldProblem("version", version,
                              f"already registered for model {model_name!r} (known: "
                              f"{view.tail(known)}); choose a new version string")],
            )
        target = f"{model_name}:{version}"
        self._preflight(GovernanceAction(
            "register", actor, model_name, model_type=model_type, version=version,
            to_stage=ModelStage.DEVELOPMENT.value,
        ), target)
        if not self._claim(model_name, version):
            raise ValidationError(
                "model version",
                [FieldProblem("version", version,
                              f"already registered for model {model_name!r} in the shared "
                              f"store (by another engine); choose a new version string or "
                              f"let the engine number it")],
            )
        now = self.clock.now()
        production = self._production.get(model_name)
        full_lineage = build_lineage(
            lineage, training_job_id, production.version if production else None
        )
        if POLICY_KEY not in full_lineage:  # every version carries its strategy definition
            full_lineage[POLICY_KEY] = self.default_policy.to_json()
        else:
            PositionPolicy.from_json(full_lineage[POLICY_KEY])  # refuse a malformed one
        params_json = json_tag(parameters)
        metrics_json = json_tag(metrics)
        backend.ensure_model(model_name)
        created_run = run_id is None
        with tempfile.TemporaryDirectory(prefix="ordinis-register-") as tmp:
            model_file: str | None = None
            if model is not None:
                source = art.save_model_object(model, Path(tmp))
                model_file = art.MODEL_FILENAME
            elif source is not None and source.is_file() and source.suffix in (
                ".joblib", ".pkl", ".pickle"
            ):
                model_file = source.name
            manifest = art.build_manifest(source) if source is not None else {}
            try:
                if run_id is None:
                    run_id, artifact_uri = backend.start_run(model_name, version, training_job_id)
                    present: dict[str, str] = {}
                    artifact_dir = "model"
                else:
                    run_id, artifact_uri, present = backend.existing_run(run_id)
                    artifact_dir = f"ordinis_model/{version}"
                params = {
                    str(k): str(v) for k, v in parameters.items() if str(k) not in present
                }
                backend.log_run_data(run_id, metrics, params, int(now.timestamp() * 1000))
                if source is not None:
                    backend.log_artifacts(run_id, source, artifact_dir)
                if created_run:
                    backend.finish_run(run_id)
                tags = {
                    TAG_VERSION: version,
                    TAG_STAGE: ModelStage.DEVELOPMENT.value,
                    TAG_CREATED_AT: now.isoformat(),
                    TAG_METRICS: metrics_json,
                    TAG_PARAMETERS: params_json,
                    **{LINEAGE_PREFIX + k: v for k, v in full_lineage.items()},
                }
                if training_job_id:
                    tags[TAG_TRAINING_JOB] = training_job_id
                if model_type:
                    tags[TAG_MODEL_TYPE] = model_type
                if manifest:
                    tags[TAG_MANIFEST] = json_tag(manifest)
                    tags[TAG_SHA256] = art.artifact_sha256(manifest)
                if model_file:
                    tags[TAG_MODEL_FILE] = model_file
                mlflow_version = backend.create_version(
                    model_name, f"{artifact_uri}/{artifact_dir}", run_id, tags, description
                )
            except MlflowException as exc:
                if created_run and run_id is not None:
                    _best_effort(backend.delete_run, run_id)
                if exc.error_code == "INVALID_PARAMETER_VALUE":
                    raise ValidationError(
                        "model version",
                        [FieldProblem("metrics/parameters", target, str(exc.message))],
                    ) from exc
                raise
            except BaseException:
                if created_run and run_id is not None:
                    _best_effort(backend.delete_run, run_id)
                raise
        mv = ModelVersion(
            model_name=model_name, version=version, stage=ModelStage.DEVELOPMENT,
            created_at=now, metrics=dict(metrics), parameters=_roundtrip(params_json),
            artifact_path=f"{artifact_uri}/{artifact_dir}" if manifest else None,
            artifact_sha256=art.artifact_sha256(manifest) if manifest else None,
            training_job_id=training_job_id, description=description, lineage=full_lineage,
            mlflow_version=mlflow_version, run_id=run_id,
        )
        change = StageChange(
            model_name, version, None, ModelStage.DEVELOPMENT, actor,
            description or "registered", now, "register",
        )
        try:
            change = self.history.record(change)
            self.audit.append(
                actor, "model.register", target, "allow", description or "registered",
                {"mlflow_version": mlflow_version, "run_id": run_id,
                 "artifact_sha256": mv.artifact_sha256 or "", "lineage": full_lineage},
            )
        except BaseException:
            _best_effort(backend.delete_version, model_name, mlflow_version)
            if created_run:
                _best_effort(backend.delete_run, run_id)
            raise
        with self._cache_lock:
            self._versions.setdefault(model_name, {})[version] = mv
            self._aliases.setdefault(model_name, {})
            self._integrity[mv.version_id] = _Integrity(manifest, model_file, model_type)
        self._update_gauges(model_name)
        return mv, change

    # ------------------------------------------------------------------ evaluation tags
    async def record_evaluation(
        self,
        version_id: str,
        passed: bool,
        summary: dict[str, float],
        evaluation_id: str,
        verdict: ProductionVerdict | None = None,
        label: str = "",
        gate_set: str = "",
        run_id: str | None = None,
    ) -> None:
        """Record an evaluation on the version (MLflow tags). ``verdict`` with
        ``opens_production`` becomes the version's production verdict, which promotion to
        PRODUCTION reads (``production_blocker``); other verdicts are shown, never used.

        The ``evaluation.*`` tags are the latest evaluation of any gate set (it is named in
        ``evaluation.gate_set``); ``evaluation.<gate set>.*`` keep each gate set's latest, so
        one gate set's evaluation never overwrites another's."""
        self.write_guard()
        backend = self._require_backend()
        mv = self.get_model_version(version_id)
        summary_clean: dict[str, float] = {}
        problems: list[FieldProblem] = []
        for key, value in summary.items():
            try:
                summary_clean[str(key)] = float(value)
            except (TypeError, ValueError):
                problems.append(FieldProblem(f"summary.{key}", value, "must be a number"))
        if not evaluation_id:
            problems.append(FieldProblem("evaluation_id", evaluation_id, "must be non-empty"))
        if problems:
            raise ValidationError("evaluation record", problems)
        async with self._lock:
            now = self.clock.now()
            tags = {
                TAG_EVAL_PASSED: "true" if passed else "false",
                TAG_EVAL_ID: evaluation_id,
                TAG_EVAL_SUMMARY: json_tag(summary_clean),
                TAG_EVAL_AT: now.isoformat(),
                TAG_EVAL_LABEL: label[:500],
                TAG_EVAL_GATE_SET: gate_set,
            }
            if run_id:
                tags[TAG_EVAL_RUN] = run_id
            if gate_set:
                scoped = f"evaluation.{gate_set_tag(gate_set)}."
                tags.update({scoped + k.removeprefix("evaluation."): v
                             for k, v in list(tags.items()) if k != TAG_EVAL_GATE_SET})
            opens = verdict is not None and verdict.opens_production
            if opens and verdict is not None:
                tags[TAG_EVAL_PRODUCTION] = json_tag(verdict.to_dict())
            try:
                await asyncio.to_thread(
                    backend.set_tags, mv.model_name, mv.mlflow_version or "", tags
                )
            except BaseException:
                await self._resync(mv.model_name)
                raise
            current = self._get(mv.model_name, mv.version)
            self._put(dataclasses.replace(
                current, evaluation_passed=bool(passed), evaluation_label=label[:500],
                production_verdict=verdict if opens else current.production_verdict,
            ))

    async def log_evaluation_run(
        self, version_id: str, tags: dict[str, str], metrics: dict[str, float], step: int,
    ) -> str | None:
        """One MLflow run per evaluation, nested under the version's run, its metrics stamped
        with the engine clock's time and ``step`` (the version's evaluation number); returns
        the run id (None without a tracking backend)."""
        self.write_guard()
        backend = self._backend
        if backend is None:
            return None
        mv = self.get_model_version(version_id)
        ts = int(self.clock.time() * 1000)
        return await asyncio.to_thread(
            backend.log_evaluation_run, mv.model_name, mv.version,
            {"ordinis.kind": "evaluation", "ordinis.version_id": mv.version_id, **tags},
            metrics, ts, step, mv.run_id,
        )

    # ------------------------------------------------------------------ stage changes
    async def promote_model(
        self,
        model_name: str,
        version_id: str,
        target_stage: ModelStage | str,
        rollout_strategy: RolloutStrategy | str | None = None,
        actor: str = "engine",
        reason: str = "",
        approved_by: str | None = None,
    ) -> ModelVersion:
        """Move a version to ``target_stage`` after governance preflight (``actor`` is the
        requester; ``approved_by`` the second pair of eyes when ``approval: manual``).

        PRODUCTION: needs staging (or shadow/canary) first and, with ``require_eval_pass``, a
        passed evaluation; the previous production version becomes ARCHIVED and the
        ``rollback_target``. Already in that stage: returned unchanged, nothing recorded.
        """
        self.write_guard()
        self._require_backend()
        stage = parse_stage(target_stage)
        strategy = parse_strategy(rollout_strategy)
        version = own_version(model_name, version_id)
        self._get(model_name, version)
        with span(self.metrics.tracer, "learning.promotion", model=model_name, version=version,
                  to_stage=stage.value, actor=actor):
            async with self._lock:
                mv, changes = await self._run_change(
                    model_name, self._promote_sync, model_name, version, stage, strategy, actor,
                    reason, approved_by,
                )
        await self._notify(changes)
        return mv

    async def demote_model(
        self,
        model_name: str,
        version_id: str,
        target_stage: ModelStage | str = ModelStage.ARCHIVED,
        actor: str = "engine",
        reason: str = "",
    ) -> ModelVersion:
        """Move a version down (default: ARCHIVED); the same path as ``promote_model``."""
        return await self.promote_model(
            model_name, version_id, target_stage, None, actor=actor, reason=reason
        )

    async def rollback(self, model_name: str, reason: str, actor: str = "engine") -> ModelVersion:
        """Restore the previous production version (the ``rollback_target`` alias); the current
        production version is ARCHIVED."""
        self.write_guard()
        self._require_backend()
        self._model_versions(model_name)
        with span(self.metrics.tracer, "learning.rollback", model=model_name, actor=actor,
                  reason=reason[:200]) as sp:
            async with self._lock:
                mv, changes = await self._run_change(
                    model_name, self._rollback_sync, model_name, reason, actor
                )
            sp.set_attribute(ATTR_VERSION, mv.version)
        await self._notify(changes)
        return mv

    async def apply_retention(
        self, model_name: str, actor: str = "retention"
    ) -> list[ModelVersion]:
        """Archive versions beyond the newest ``model_version_retention`` ones; never a version
        in production, staging, shadow or canary, nor the rollback target. Returns the archived."""
        self.write_guard()
        self._require_backend()
        self._model_versions(model_name)
        keep = self.config.model_version_retention
        archived: list[ModelVersion] = []
        all_changes: list[StageChange] = []
        reason = f"retention: keeps the newest {keep} versions"
        async with self._lock:  # candidates are chosen under the lock: no stage moves meanwhile
            versions = list(self._versions[model_name].values())
            protected = self._aliases.get(model_name, {}).get(ROLLBACK_ALIAS)
            candidates = [
                v.version for v in versions[: max(0, len(versions) - keep)]
                if v.stage not in _LIVE_STAGES and v.stage is not ModelStage.ARCHIVED
                and v.version != protected
            ]
            for version in candidates:
                try:
                    mv, changes = await self._run_change(
                        model_name, self._promote_sync, model_name, version,
                        ModelStage.ARCHIVED, None, actor, reason,
                    )
                except PolicyDeniedError as exc:
                    log.warning("retention skipped %s:%s: %s", model_name, version, exc)
                    continue
                archived.append(mv)
                all_changes.extend(changes)
        await self._notify(all_changes)
        return archived

    async def _run_change(
        self, model_name: str, fn: Callable[..., tuple[ModelVersion, list[StageChange]]],
        *args: Any,
    ) -> tuple[ModelVersion, list[StageChange]]:
        try:
            return await asyncio.to_thread(fn, *args)
        except (PolicyDeniedError, ValidationError, NotFoundError):
            raise  # refused before anything was written
        except BaseException:
            await self._resync(model_name)  # MLflow may hold part of the change: re-read it
            raise

    def explain_promotion(
        self, model_name: str, version_id: str, target_stage: ModelStage | str,
        actor: str = "engine", approved_by: str | None = None,
    ) -> PreflightResult:
        """Every policy's verdict on moving the version now, without moving or auditing it."""
        stage = parse_stage(target_stage)
        version = own_version(model_name, version_id)
        current = self._get(model_name, version)
        gov = self._stage_action(current, stage, None, actor, "", approved_by)
        return self.policies.preflight(gov)

    def _stage_action(
        self, current: ModelVersion, stage: ModelStage, strategy: RolloutStrategy | None,
        actor: str, reason: str, approved_by: str | None,
    ) -> GovernanceAction:
        """The governance description of moving ``current`` to ``stage`` now."""
        if stage is ModelStage.ARCHIVED:
            action = "archive"
        elif _RANK[stage] > _RANK[current.stage]:
            action = "promote"
        else:
            action = "demote"
        history = self.history.changes(current.model_name)
        integrity = self._integrity.get(current.version_id)
        blocker = (
            self.production_blocker(current.version_id)
            if stage is ModelStage.PRODUCTION and action == "promote" else None
        )
        details: dict[str, str] = {
            "reason": reason, "strategy": strategy.value if strategy else "",
            "requested_by": actor,
            **({"production_blocker": blocker} if blocker else {}),
        }
        if approved_by:
            details["approved_by"] = approved_by
        return GovernanceAction(
            action, actor, current.model_name,
            model_type=integrity.model_type if integrity else None,
            version=current.version, from_stage=current.stage.value, to_stage=stage.value,
            evaluation_passed=(
                blocker is None if stage is ModelStage.PRODUCTION and action == "promote"
                else current.evaluation_passed
            ),
            details=details,
            stages_held=stages_held(history, current.version),
            staged_since=_staged_since(history, current), at=self.clock.now(),
        )

    def _promote_sync(
        self, model_name: str, version: str, stage: ModelStage,
        strategy: RolloutStrategy | None, actor: str, reason: str,
        approved_by: str | None = None,
    ) -> tuple[ModelVersion, list[StageChange]]:
        current = self._get(model_name, version)
        if current.stage is stage:
            return current, []
        gov = self._stage_action(current, stage, strategy, actor, reason, approved_by)
        action = gov.action
        preflight_warnings = self._preflight(gov, current.version_id)
        blocker = gov.details.get("production_blocker")
        if self.config.require_eval_pass and blocker:
            self._deny(gov, current.version_id, "production_gates", str(blocker), "deny")
        now = self.clock.now()
        aliases = self._aliases.get(model_name, {})
        old = self._production.get(model_name)
        replaced = old if stage is ModelStage.PRODUCTION and old is not None else None
        move = _Move(model_name, action, [(current, stage)], {}, [], [], current.version_id, {})
        old_alias = STAGE_ALIASES.get(current.stage)
        if old_alias and aliases.get(old_alias) == version:
            move.alias_delete.append(old_alias)
        new_alias = STAGE_ALIASES.get(stage)
        if new_alias:
            move.alias_set[new_alias] = version
        if stage is ModelStage.PRODUCTION:
            if replaced is not None:
                move.tag_moves.append((replaced, ModelStage.ARCHIVED))
                move.alias_set[ROLLBACK_ALIAS] = replaced.version
            elif aliases.get(ROLLBACK_ALIAS) == version:
                move.alias_delete.append(ROLLBACK_ALIAS)
        move.changes.append(StageChange(
            model_name, version, current.stage, stage, actor, reason, now, action, strategy,
            replaced.version if replaced else None,
        ))
        if replaced is not None:
            move.changes.append(StageChange(
                model_name, replaced.version, ModelStage.PRODUCTION, ModelStage.ARCHIVED, actor,
                f"replaced by {version}" + (f": {reason}" if reason else ""), now, "archive",
                strategy,
            ))
        move.audit_details = {
            "from_stage": current.stage.value, "to_stage": stage.value,
            "strategy": strategy.value if strategy else None,
            "replaced": replaced.version if replaced else None,
            "rollback_target": move.alias_set.get(ROLLBACK_ALIAS),
            "warnings": preflight_warnings,
            "approved_by": approved_by,
        }
        changes = self._apply(move, actor, reason)
        self.metrics.model_promotions_total.labels(
            model_name=model_name, from_stage=current.stage.value, to_stage=stage.value,
            rollout_strategy=strategy.value if strategy else "none",
        ).inc()
        return self._get(model_name, version), changes

    def _rollback_sync(
        self, model_name: str, reason: str, actor: str
    ) -> tuple[ModelVersion, list[StageChange]]:
        aliases = self._aliases.get(model_name, {})
        target_version = aliases.get(ROLLBACK_ALIAS)
        if target_version is None:
            raise ValidationError(
                "rollback",
                [FieldProblem("model_name", model_name,
                              "has no rollback target (no previous production version); "
                              "promote a version to production instead")],
            )
        target = self._get(model_name, target_version)
        current = self._production.get(model_name)
        history = self.history.changes(model_name)
        gov = GovernanceAction(
            "rollback", actor, model_name, version=target_version,
            from_stage=target.stage.value, to_stage=ModelStage.PRODUCTION.value,
            evaluation_passed=target.evaluation_passed, details={"reason": reason},
            stages_held=stages_held(history, target_version),
        )
        warnings = self._preflight(gov, target.version_id)
        now = self.clock.now()
        move = _Move(model_name, "rollback", [(target, ModelStage.PRODUCTION)],
                     {"production": target_version}, [], [], target.version_id, {})
        old_alias = STAGE_ALIASES.get(target.stage)
        if old_alias and old_alias != "production" and aliases.get(old_alias) == target_version:
            move.alias_delete.append(old_alias)
        # The new rollback target: whatever the restored version replaced when it last entered
        # production, unless that is the version being rolled back from.
        before = replaced_by_promotion(history, target_version)
        failed = current.version if current else None
        if before and before != failed and before in self._versions[model_name]:
            move.alias_set[ROLLBACK_ALIAS] = before
        else:
            move.alias_delete.append(ROLLBACK_ALIAS)
        move.changes.append(StageChange(
            model_name, target_version, target.stage, ModelStage.PRODUCTION, actor, reason, now,
            "rollback", None, failed,
        ))
        if current is not None and current.version != target_version:
            move.tag_moves.append((current, ModelStage.ARCHIVED))
            move.changes.append(StageChange(
                model_name, current.version, ModelStage.PRODUCTION, ModelStage.ARCHIVED, actor,
                f"rolled back to {target_version}: {reason}", now, "rollback",
            ))
        move.audit_details = {
            "restored": target_version, "rolled_back_from": failed,
            "rollback_target": move.alias_set.get(ROLLBACK_ALIAS), "warnings": warnings,
        }
        changes = self._apply(move, actor, reason)
        self.metrics.model_rollbacks_total.labels(
            model_name=model_name, reason=reason_label(reason)
        ).inc()
        return self._get(model_name, target_version), changes

    def _apply(self, move: _Move, actor: str, reason: str) -> list[StageChange]:
        """Write tags, then aliases (production last), then the stage history and one audit
        record; then update the caches. A failure undoes what was written (best effort)."""
        backend = self._require_backend()
        name = move.model_name
        versions = self._versions[name]
        current_aliases = dict(self._aliases.get(name, {}))

        def mlv(version: str) -> str:
            return versions[version].mlflow_version or ""

        undo: list[Callable[[], object]] = []
        try:
            for mv, stage in move.tag_moves:
                backend.set_tags(name, mlv(mv.version), {TAG_STAGE: stage.value})
                undo.append(functools.partial(
                    backend.set_tags, name, mlv(mv.version), {TAG_STAGE: mv.stage.value}
                ))
            deletes = [a for a in move.alias_delete if a not in move.alias_set]
            sets = sorted(move.alias_set, key=lambda a: a == "production")
            for alias in [*deletes, *sets]:
                before = current_aliases.get(alias)
                if alias in move.alias_set:
                    backend.set_alias(name, alias, mlv(move.alias_set[alias]))
                else:
                    backend.delete_alias(name, alias)
                undo.append(
                    functools.partial(backend.set_alias, name, alias, mlv(before)) if before
                    else functools.partial(backend.delete_alias, name, alias)
                )
            recorded: list[StageChange] = []
            for change in move.changes:
                recorded.append(self.history.record(change))
                undo.append(functools.partial(
                    self.store.delete_record, STAGE_CHANGE_KIND, recorded[-1].change_id
                ))
            self.audit.append(
                actor, f"model.{move.action}", move.audit_target, "allow", reason,
                move.audit_details,
            )
        except BaseException:
            for op in reversed(undo):
                _best_effort(op)
            raise
        with self._cache_lock:
            aliases = self._aliases.setdefault(name, {})
            for alias in move.alias_delete:
                aliases.pop(alias, None)
            aliases.update(move.alias_set)
            for mv, stage in move.tag_moves:
                versions[mv.version] = dataclasses.replace(versions[mv.version], stage=stage)
            self._refresh_production(name)
        self._update_gauges(name)
        return recorded

    # ------------------------------------------------------------------ governance helpers
    def _preflight(self, action: GovernanceAction, target: str) -> list[str]:
        """Run the policies; a refusal is audited and raised. Returns the warnings."""
        result = self.policies.preflight(action)
        blocking = result.blocking
        if blocking is not None:
            self._deny(action, target, blocking.policy, blocking.reason, result.decision.value)
        return result.warnings

    def _deny(
        self, action: GovernanceAction, target: str, policy: str, reason: str, decision: str
    ) -> None:
        self.audit.append(
            action.actor, f"model.{action.action}", target, decision, f"{policy}: {reason}",
            {"policy": policy, "from_stage": action.from_stage, "to_stage": action.to_stage},
        )
        raise PolicyDeniedError(action.action, policy, reason)

    # ------------------------------------------------------------------ caches
    def _install(self, loaded: LoadedModel) -> None:
        """Put one model read from MLflow into the caches (the production alias is the truth).
        A registered model without versions (a first registration that failed) is not listed."""
        if not loaded.versions:
            self._versions.pop(loaded.name, None)
            self._aliases.pop(loaded.name, None)
            self._production.pop(loaded.name, None)
            return
        for lv in loaded.versions:
            self._integrity[lv.version.version_id] = _Integrity(
                lv.manifest, lv.model_file, lv.model_type
            )
        versions, aliases = view.resolve(loaded)
        self._versions[loaded.name] = versions
        self._aliases[loaded.name] = aliases
        self._refresh_production(loaded.name)

    async def _resync(self, model_name: str) -> None:
        backend = self._backend
        if backend is None:
            return
        try:
            loaded = await asyncio.to_thread(backend.load_model, model_name)
        except Exception:
            log.exception("could not re-read model %s from MLflow", model_name)
            return
        with self._cache_lock:
            self._install(loaded)
        self._update_gauges(model_name)

    def _refresh_production(self, model_name: str) -> None:
        prod = self._aliases.get(model_name, {}).get("production")
        mv = self._versions.get(model_name, {}).get(prod) if prod else None
        if mv is None:
            self._production.pop(model_name, None)
        else:
            self._production[model_name] = mv

    def _put(self, mv: ModelVersion) -> None:
        with self._cache_lock:
            self._versions.setdefault(mv.model_name, {})[mv.version] = mv
            self._refresh_production(mv.model_name)

    def _model_versions(self, model_name: str) -> dict[str, ModelVersion]:
        return view.model_versions(self._versions, model_name)  # type: ignore[return-value]

    def _get(self, model_name: str, version: str) -> ModelVersion:
        return view.find_version(self._versions, f"{model_name}:{version}")

    def _update_gauges(self, model_name: str) -> None:
        counts = dict.fromkeys(ModelStage, 0)
        for mv in list(self._versions.get(model_name, {}).values()):
            counts[mv.stage] += 1
        for stage, n in counts.items():
            self.metrics.model_versions_total.labels(
                model_name=model_name, stage=stage.value
            ).set(n)

    async def _notify(self, changes: list[StageChange]) -> None:
        for change in changes:
            for callback in list(self._listeners):
                try:
                    result = callback(change)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("stage listener %r failed on %s", callback, change.version_id)


# ---------------------------------------------------------------------------- helpers


def _staged_since(history: list[StageChange], mv: ModelVersion) -> datetime | None:
    """When the version entered its current pre-production stage (None when not in one)."""
    if mv.stage.value not in PRE_PRODUCTION_STAGES:
        return None
    entered = [c.at for c in history if c.version == mv.version and c.to_stage is mv.stage]
    return entered[-1] if entered else None


def _roundtrip(text: str) -> dict[str, Any]:
    import json

    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _best_effort(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("cleanup %s%r failed", getattr(fn, "__name__", fn), args)


VERSION_CLAIM_KIND = "model_version_claim"


def _allow_writes() -> None:
    """The default write guard: every write allowed."""


def _number(version: str) -> int:
    """n of a ``v<n>`` version string (0 for any other form)."""
    tail = version[1:] if version[:1] in ("v", "V") else ""
    return int(tail) if tail.isdigit() else 0


def gate_set_tag(gate_set: str) -> str:
    """A gate set's name as an MLflow tag key part (a YAML path becomes its safe form)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", gate_set).strip("_") or "unnamed"
