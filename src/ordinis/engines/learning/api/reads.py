"""The store-backed read endpoints as plain functions (audit, events, jobs, breakers, status,
health): the routers serve them over HTTP, ``api.local`` serves them in-process to the CLI, so
both answer with the same JSON. No FastAPI here."""

from __future__ import annotations

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
