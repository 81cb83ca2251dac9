"""The store-backed read endpoints as plain functions (audit, events, jobs, breakers, status,
health): the routers serve them over HTTP, ``api.local`` serves them in-process to the CLI, so
both answer with the same JSON. No FastAPI here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ordinis.engines.learning import EventType, FieldProblem, NotFoundError, ValidationError
from ordinis.engines.learning.api import convert
from ordinis.engines.learning.api import schemas as s

if TYPE_CHECKING:
    from ordinis.engines.learning import HealthStatus, LearningEngineConfig, TrainingJob


class EngineReads(Protocol):
    """What these reads need of an engine: LearningEngine and EngineReader both have it."""

    config: LearningEngineConfig

    @property
    def tracking_uri(self) -> str: ...

    def audit_records(self, limit: int | None = None) -> list[Any]: ...

    def verify_audit(self) -> Any: ...

    def get_events(self, event_type: EventType | None = None, start: datetime | None = None,
                   end: datetime | None = None, symbol: str | None = None,
                   source_engine: str | None = None, limit: int | None = 1000,
                   newest_first: bool = False) -> list[Any]: ...

    def event_stats(self) -> Any: ...

    def list_training_jobs(
        self, model_name: str | None = None, status: Any = None
    ) -> list[TrainingJob]: ...

    def get_training_job(self, job_id: str) -> TrainingJob | None: ...

    def breaker_states(self) -> dict[str, Any]: ...

    def get_stats(self) -> dict[str, Any]: ...

    async def health_check(self) -> HealthStatus: ...


def audit_tail(engine: EngineReads, limit: int) -> list[s.AuditOut]:
    """The newest ``limit`` audit records, oldest first."""
    return [convert.audit(r) for r in engine.audit_records(limit)]


def audit_verify(engine: EngineReads) -> s.AuditVerifyOut:
    v = engine.verify_audit()
    return s.AuditVerifyOut(ok=v.ok, checked=v.checked, first_bad_sequence=v.first_bad_sequence,
                            problem=v.problem)


def metrics_query(params: Mapping[str, str]) -> dict[str, float]:
    """Metrics given as query parameters (``sharpe=0.4``), each a finite number; a
    ValidationError names every bad one, or says how to give them when there are none."""
    if not params:
        raise ValidationError("query", [FieldProblem(
            "metrics", None, "give each metric as a query parameter, e.g. ?sharpe=0.4")])
    metrics: dict[str, float] = {}
    problems: list[FieldProblem] = []
    for name, raw in params.items():
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            metrics[name] = value
        else:
            problems.append(FieldProblem(name, raw, "must be a finite number, e.g. sharpe=0.4"))
    if problems:
        raise ValidationError("query", problems)
    return metrics


def event_type(value: str | None) -> EventType | None:
    """The query's ``event_type``, or a ValidationError listing the allowed values."""
    if value is None:
        return None
    try:
        return EventType(value)
    except ValueError:
        raise ValidationError("query", [FieldProblem(
            "event_type", value, f"must be one of {[t.value for t in EventType]}")]) from None


def events_page(
    engine: EngineReads, limit: int, offset: int, event_type: EventType | None = None,
    symbol: str | None = None, source_engine: str | None = None,
    start: datetime | None = None, end: datetime | None = None,
) -> dict[str, object]:
    """Stored events, newest first, filtered; one page of them."""
    events = engine.get_events(
        event_type=event_type, start=start, end=end, symbol=symbol,
        source_engine=source_engine, limit=offset + limit + 1, newest_first=True,
    )
    out = s.page([convert.event(e) for e in events], limit, offset)
    out["total"] = offset + len(events[offset:])
    return out


def event_stats(engine: EngineReads) -> s.EventStatsOut:
    st = engine.event_stats()
    return s.EventStatsOut(
        total=st.total, by_type=st.by_type, by_source=st.by_source,
        first_timestamp=st.first_timestamp, last_timestamp=st.last_timestamp,
    )


def jobs_page(
    engine: EngineReads, limit: int, offset: int, model_name: str | None = None
) -> dict[str, object]:
    """Training jobs, oldest first; one page of them."""
    jobs = engine.list_training_jobs(model_name=model_name)
    return s.page([convert.job(j) for j in jobs], limit, offset)


def job(engine: EngineReads, job_id: str) -> s.JobOut:
    found = engine.get_training_job(job_id)
    if found is None:
        raise NotFoundError(
            f"no training job {job_id!r}; `ordinis-learning jobs list` (GET /v1/jobs) lists "
            "the known jobs"
        )
    return convert.job(found)


def breakers(engine: EngineReads) -> list[s.BreakerOut]:
    """Every breaker: closed, open or half-open, and why."""
    return [convert.breaker(k, v) for k, v in sorted(engine.breaker_states().items())]


def status(engine: EngineReads) -> s.StatusOut:
    """What the engine holds and does right now."""
    st = engine.get_stats()
    ps = st["pipeline"]
    return s.StatusOut(
        running=bool(st["running"]), clock=st["clock"], models=list(st["models"]),
        training_jobs=int(st["training_jobs"]), drift_alerts=int(st["drift_alerts"]),
        buffered_events=ps.buffered, committed_events=ps.committed,
        breakers={k: v.state.value for k, v in st["breakers"].items()},
        store=engine.config.resolved_store_url, tracking_uri=engine.tracking_uri,
    )


async def health(engine: EngineReads) -> s.HealthOut:
    """HEALTHY / DEGRADED / UNHEALTHY and why."""
    h = await engine.health_check()
    return s.HealthOut(level=h.level.value, message=h.message, duration_ms=s.num(h.latency_ms))


# ---------------------------------------------------------------------------- models
class ModelReads(Protocol):
    """What the model reads need: LearningEngine, and EngineReader over a readable registry."""

    def list_models(self) -> list[str]: ...

    def list_model_versions(self, model_name: str, stage: Any = None) -> list[Any]: ...

    def get_model_version(self, version_id: str) -> Any: ...

    def get_production_model(self, model_name: str) -> Any: ...

    def production_blocker(self, version_id: str) -> str | None: ...

    def stage_history(self, model_name: str, version: str | None = None) -> list[Any]: ...

    def version_at(self, model_name: str, at: datetime, stage: Any = ...) -> Any: ...

    def get_evaluations(self, version_id: str | None = None) -> list[Any]: ...


def known_model(engine: ModelReads, name: str) -> None:
    """NotFoundError naming the known models when ``name`` is not one."""
    known = engine.list_models()
    if name not in known:
        raise NotFoundError(
            f"model {name!r} is not registered; known models: {', '.join(known) or 'none'}"
        )


def models_page(engine: ModelReads, limit: int, offset: int) -> dict[str, object]:
    """Every registered model with its version count and production version."""
    out = []
    for name in engine.list_models():
        prod = engine.get_production_model(name)
        out.append(s.ModelOut(name=name, versions=len(engine.list_model_versions(name)),
                              production=prod.version_id if prod else None))
    return s.page(out, limit, offset)


def versions_page(engine: ModelReads, name: str, limit: int, offset: int) -> dict[str, object]:
    """The versions of one model, oldest first, with what the production gates say."""
    known_model(engine, name)
    return s.page(
        [convert.version(v, engine.production_blocker(v.version_id))
         for v in engine.list_model_versions(name)],
        limit, offset,
    )


def history_page(engine: ModelReads, name: str, limit: int, offset: int) -> dict[str, object]:
    """Every stage change of the model: when, which version, from/to, who and why."""
    known_model(engine, name)
    return s.page([convert.stage_change(c) for c in engine.stage_history(name)], limit, offset)


def version_at(engine: ModelReads, name: str, t: datetime, stage: str) -> s.VersionOut:
    """The version that held ``stage`` at time ``t``."""
    known_model(engine, name)
    if t.tzinfo is None:
        raise ValidationError("query", [FieldProblem("t", t.isoformat(),
                              "must carry a time zone (add Z for UTC)")])
    mv = engine.version_at(name, t, stage)
    if mv is None:
        raise NotFoundError(f"no version of {name!r} was in {stage} at {t.isoformat()}")
    return convert.version(mv)


def show_version(engine: ModelReads, version_id: str) -> s.VersionOut:
    """One version: stage, metrics, parameters, lineage, artifact hash."""
    mv = engine.get_model_version(version_id)
    return convert.version(mv, engine.production_blocker(mv.version_id))


def lineage(engine: ModelReads, version_id: str) -> dict[str, str]:
    return s.strs(engine.get_model_version(version_id).lineage)


def evaluations_page(
    engine: ModelReads, version_id: str, limit: int, offset: int, gate_set: str | None = None
) -> dict[str, object]:
    """Every stored evaluation of the version, oldest first; ``gate_set`` keeps one's."""
    engine.get_model_version(version_id)
    history = engine.get_evaluations(version_id)
    out = [convert.evaluation(r, i) for i, r in enumerate(history, 1)
           if gate_set is None or r.gate_set == gate_set]
    return s.page(out, limit, offset)
