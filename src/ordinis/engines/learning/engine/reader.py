"""EngineReader: the reads of an engine (audit, events, jobs, breakers, status, models and
versions, stage history, evaluations, drift alerts and baselines, retraining triggers,
promotion requests, rollouts and A/B tests), opened read-only without MLflow, river,
scikit-learn or the HTTP stack.

The CLI's in-process read commands use it: a read costs the stores, not the whole engine.
It takes no lock, writes nothing, starts nothing and runs beside a live engine, like
``LearningEngine.open_read_only``. Versions come from MLflow's own tables read-only
(``registry.mlflow_sqlite``); when the tracking store is not a local SQLite file of the schema
it knows, ``registry_readable()`` is False and registry reads need the full read-only engine.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from ordinis.engines.learning.core.clock import Clock, SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import (
    EngineNotRunningError,
    FieldProblem,
    ValidationError,
)
from ordinis.engines.learning.core.evaluation_json import EVALUATION_KIND, evaluation_from_dict
from ordinis.engines.learning.core.models import (
    DriftAlert,
    EvaluationResult,
    EventType,
    HealthLevel,
    HealthStatus,
    LearningEvent,
    ModelStage,
    ModelVersion,
    TrainingJob,
    TrainingStatus,
)
from ordinis.engines.learning.drift.baselines import (
    no_baseline,
    stored_baseline,
    stored_baselines,
)
from ordinis.engines.learning.drift.records import ALERT_KIND, stored_alerts
from ordinis.engines.learning.events.factory import open_store
from ordinis.engines.learning.events.identity import IDENTITY_KEY, IDENTITY_KIND
from ordinis.engines.learning.events.store import EventQuery, EventStats, EventStore
from ordinis.engines.learning.feedback.triggers import (
    RetrainingTrigger,
    stored_trigger,
    stored_triggers,
)
from ordinis.engines.learning.governance.approvals import (
    PromotionRequest,
    PromotionRequests,
    RequestStatus,
)
from ordinis.engines.learning.governance.audit import AuditLog, AuditVerification
from ordinis.engines.learning.observability.health import (
    HealthSignals,
    StoreReachability,
    assess,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.registry.history import (
    STAGE_CHANGE_KIND,
    StageChange,
    StageHistory,
    version_at,
)
from ordinis.engines.learning.registry.mlflow_sqlite import load_models
from ordinis.engines.learning.registry.validation import parse_stage
from ordinis.engines.learning.registry.view import RegistryView
from ordinis.engines.learning.rollout.ab_testing import ABTestingFramework
from ordinis.engines.learning.rollout.report import (
    RolloutReport,
    latest_states,
    report_of,
    stored_report,
)
from ordinis.engines.learning.safety.manager import CircuitBreakerManager
from ordinis.engines.learning.safety.state import BreakerSnapshot
from ordinis.engines.learning.training.job_records import JOB_RECORD_KIND, job_from_record

READ_ONLY = "read-only"


@dataclass(frozen=True, slots=True)
class ReaderPipelineStats:
    """The pipeline figures a reader can state: it buffers nothing and commits nothing."""

    buffered: int = 0
    committed: int = 0


class EngineReader:
    """Reads of one engine's event store, with the facade's method names and results.

    ``with EngineReader(config) as reader:``. Registry reads beyond the model names
    (versions, lineage, evaluations) need ``LearningEngine.open_read_only``.
    """

    def __init__(self, config: LearningEngineConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.metrics = LearningMetrics()
        self._store: EventStore | None = None
        self._audit: AuditLog | None = None
        self._breakers: CircuitBreakerManager | None = None
        self._reach = StoreReachability()
        self._registry: RegistryView | None = None
        self._registry_tried = False
        self._ab_tests: ABTestingFramework | None = None

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        """Open the store read-only and restore the breakers' state (nothing is written)."""
        if self._store is not None:
            return
        store = open_store(self.config.resolved_store_url, read_only=True)
        try:
            breakers = CircuitBreakerManager(store, self.clock, self.metrics, self.config)
            breakers.load()
        except BaseException:
            store.close()
            raise
        self._store, self._breakers = store, breakers
        self._audit = AuditLog(store, self.clock, self.metrics)

    def close(self) -> None:
        """Close the store."""
        if self._store is not None:
            store, self._store = self._store, None
            self._audit = self._breakers = None
            self._registry, self._registry_tried = None, False
            self._ab_tests = None
            store.close()

    def __enter__(self) -> EngineReader:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def store(self) -> EventStore:
        if self._store is None:
            raise EngineNotRunningError("EngineReader is not open: call open() (or use `with`)")
        return self._store

    @property
    def read_only(self) -> bool:
        return True

    @property
    def role(self) -> str:
        return READ_ONLY

    @property
    def is_running(self) -> bool:
        return self._store is not None

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking store of this engine (not opened by the reader)."""
        return self.config.resolved_mlflow_uri

    # ------------------------------------------------------------------ audit
    def audit_records(self, limit: int | None = None) -> list[Any]:
        """Audit records, oldest first; with ``limit``, the newest ``limit`` of them."""
        records = self._audit_log().records()
        return records[-limit:] if limit else records

    def verify_audit(self) -> AuditVerification:
        """Check the audit log's hash chain end to end."""
        return self._audit_log().verify()

    def _audit_log(self) -> AuditLog:
        if self._audit is None:
            raise EngineNotRunningError("EngineReader is not open: call open() (or use `with`)")
        return self._audit

    # ------------------------------------------------------------------ events
    def get_events(
        self,
        event_type: EventType | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        symbol: str | None = None,
        source_engine: str | None = None,
        limit: int | None = 1000,
        newest_first: bool = False,
    ) -> list[LearningEvent]:
        """Committed events, filtered; oldest first (``newest_first``: the newest first)."""
        return self.store.query_events(EventQuery(
            event_type=event_type, start=start, end=end, symbol=symbol,
            source_engine=source_engine, limit=limit, descending=newest_first,
        ))

    def event_stats(self) -> EventStats:
        return self.store.event_stats()

    # ------------------------------------------------------------------ jobs, breakers
    def list_training_jobs(
        self, model_name: str | None = None, status: Any = None
    ) -> list[TrainingJob]:
        """Stored jobs in submission order (as the engine running them last recorded them)."""
        jobs = [job_from_record(r) for r in self.store.list_records(JOB_RECORD_KIND)]
        jobs.sort(key=lambda j: (j.created_at, j.job_id))
        return [
            j for j in jobs
            if (model_name is None or j.model_name == model_name)
            and (status is None or j.status is TrainingStatus(status))
        ]

    def get_training_job(self, job_id: str) -> TrainingJob | None:
        record = self.store.get_record(JOB_RECORD_KIND, job_id)
        return None if record is None else job_from_record(record)

    def breaker_states(self) -> dict[str, BreakerSnapshot]:
        """Every circuit breaker's state, reason and history counters."""
        if self._breakers is None:
            raise EngineNotRunningError("EngineReader is not open: call open() (or use `with`)")
        return dict(self._breakers.states())

    # ------------------------------------------------------------------ models
    def registry_readable(self) -> bool:
        """True when the versions can be read from MLflow's tables here (a local SQLite
        tracking store of a known schema); read once, on first need."""
        return self._view() is not None

    def _view(self) -> RegistryView | None:
        if not self._registry_tried:
            self.store  # noqa: B018  (not open: the same error as every read)
            models = load_models(self.tracking_uri)
            self._registry = None if models is None else RegistryView(models)
            self._registry_tried = True
        return self._registry

    def _require_view(self) -> RegistryView:
        view = self._view()
        if view is None:
            raise EngineNotRunningError(
                f"the tracking store {self.tracking_uri} cannot be read without MLflow; use "
                "LearningEngine.open_read_only for registry reads")
        return view

    def list_models(self) -> list[str]:
        """Names of the registered models, sorted (MLflow's); without a readable registry,
        from the store (registration is every version's first stage change)."""
        view = self._view()
        if view is not None:
            return view.list_models()
        return sorted({str(r.body["model_name"]) for r in self.store.list_records(
            STAGE_CHANGE_KIND)})

    def list_model_versions(
        self, model_name: str, stage: ModelStage | None = None
    ) -> list[ModelVersion]:
        return self._require_view().list_versions(model_name, stage=stage)

    def get_model_version(self, version_id: str) -> ModelVersion:
        return self._require_view().get_model_version(version_id)

    def get_production_model(self, model_name: str) -> ModelVersion | None:
        return self._require_view().get_production_model(model_name)

    def production_blocker(self, version_id: str) -> str | None:
        """Why the version cannot be promoted to production now (None: it can)."""
        return self._require_view().production_blocker(version_id)

    def stage_history(self, model_name: str, version: str | None = None) -> list[StageChange]:
        """Every stage change of a model (or one version), oldest first, from the store."""
        if version is not None and ":" in version:
            version = version.rpartition(":")[2]
        return StageHistory(self.store).changes(model_name, version)

    def version_at(
        self, model_name: str, at: datetime, stage: ModelStage | str = ModelStage.PRODUCTION
    ) -> ModelVersion | None:
        """The version that held ``stage`` at time ``at`` (None: no version did)."""
        if at.tzinfo is None:
            raise ValidationError(
                "version_at", [FieldProblem("at", at, "must be timezone-aware (UTC)")]
            )
        held = version_at(StageHistory(self.store).changes(model_name),
                          parse_stage(stage, "stage"), at)
        return None if held is None else self.get_model_version(f"{model_name}:{held}")

    def get_evaluations(self, version_id: str | None = None) -> list[EvaluationResult]:
        """Stored evaluation results, oldest first."""
        records = self.store.list_records(EVALUATION_KIND, tag=version_id)
        return [evaluation_from_dict(r.body) for r in records]

    # ------------------------------------------------------------------ loop state
    def get_drift_alerts(
        self,
        model_name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[DriftAlert]:
        """Persisted drift alerts, oldest first (start inclusive, end exclusive)."""
        return stored_alerts(self.store, model_name, start, end)

    def get_baseline(self, model_name: str) -> dict[str, float]:
        """The drift baseline metrics of ``model_name`` (NotFoundError when none was set)."""
        baseline = stored_baseline(self.store, model_name)
        if baseline is None:
            raise no_baseline(model_name)
        return dict(baseline.metrics)

    def list_baselines(self) -> dict[str, dict[str, float]]:
        """Every model's drift baseline metrics (every baseline set, registered model or not)."""
        found = stored_baselines(self.store)
        return {name: dict(found[name].metrics) for name in sorted(found)}

    def list_retraining_triggers(
        self,
        model_name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[RetrainingTrigger]:
        """Retraining triggers created in ``[start, end)``, oldest first, with every step."""
        return stored_triggers(self.store, model_name, start, end)

    def get_retraining_trigger(self, trigger_id: str) -> RetrainingTrigger | None:
        """One retraining trigger by id (None when unknown)."""
        return stored_trigger(self.store, trigger_id)

    def list_promotion_requests(
        self, model_name: str | None = None, pending_only: bool = False
    ) -> list[PromotionRequest]:
        """Promotion requests, oldest first."""
        status = RequestStatus.PENDING if pending_only else None
        return PromotionRequests(self.store, self.clock).list(model_name, status)

    def get_promotion_request(self, request_id: str) -> PromotionRequest:
        """One promotion request (NotFoundError when unknown)."""
        return PromotionRequests(self.store, self.clock).get(request_id)

    def get_rollout(self, model_name: str) -> RolloutReport:
        """The model's last stored rollout (as its engine last persisted it)."""
        return stored_report(self.store, model_name)

    def list_rollouts(self) -> list[RolloutReport]:
        """Every model's last stored rollout, by model name."""
        return [report_of(st) for _, st in sorted(latest_states(self.store).items())]

    @property
    def ab_tests(self) -> ABTestingFramework:
        """The stored A/B tests with their results, loaded on first use (read-only)."""
        if self._ab_tests is None:
            tests = ABTestingFramework(self.store, self.clock)
            tests.load()
            self._ab_tests = tests
        return self._ab_tests

    # ------------------------------------------------------------------ health and stats
    async def health_check(self) -> HealthStatus:
        """The read-only engine's health: store reachability and breakers (no buffer, no
        schedules to fail)."""
        t0 = time.perf_counter()
        if self._store is None:
            return HealthStatus(HealthLevel.UNHEALTHY, "engine not running", {}, 0.0)
        store_error = await asyncio.to_thread(self._probe_store)
        down = self._reach.observe(store_error is None, self.clock.now())
        try:
            assert self._breakers is not None
            allowed, reason = self._breakers.should_allow_signals(consume_probe=False)
        except Exception as exc:  # a read-only opener cannot persist a transition
            allowed, reason = True, f"breaker state unknown: {exc}"
        signals = HealthSignals(
            store_error=store_error, store_down_seconds=down, consecutive_flush_failures=0,
            flush_error=None, flush_lag_seconds=0.0, buffered=0,
            capacity=self.config.max_events_memory, signals_allowed=allowed,
            signals_reason=reason,
        )
        level, causes = assess(signals)
        details: dict[str, Any] = {
            "role": READ_ONLY, "buffered": 0, "flush_failures": 0,
            "consecutive_flush_failures": 0, "flush_lag_seconds": 0.0,
            "store_down_seconds": down, "signals_allowed": allowed, "failing_tasks": [],
        }
        return HealthStatus(
            level, "; ".join(causes) or "ok", details, (time.perf_counter() - t0) * 1000
        )

    def _probe_store(self) -> str | None:
        try:
            self.store.get_record(IDENTITY_KIND, IDENTITY_KEY)
            return None
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}".strip()

    def get_stats(self) -> dict[str, Any]:
        """The facade's summary, from the store: models, jobs, alerts, breakers."""
        return {
            "running": self.is_running,
            "started_at": None,
            "clock": self.clock.now(),
            "pipeline": ReaderPipelineStats(),
            "breakers": self.breaker_states(),
            "models": self.list_models(),
            "training_jobs": len(self.store.list_records(JOB_RECORD_KIND)),
            "drift_alerts": len(self.store.list_records(ALERT_KIND)),
        }

