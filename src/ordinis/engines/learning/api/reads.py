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


# ---------------------------------------------------------------------------- loop state
class LoopReads(Protocol):
    """What the loop-state reads need: LearningEngine and EngineReader (the store only)."""

    def get_drift_alerts(self, model_name: str | None = None, start: datetime | None = None,
                         end: datetime | None = None) -> list[Any]: ...

    def get_baseline(self, model_name: str) -> dict[str, float]: ...

    def list_baselines(self) -> dict[str, dict[str, float]]: ...

    def list_retraining_triggers(self, model_name: str | None = None,
                                 start: datetime | None = None,
                                 end: datetime | None = None) -> list[Any]: ...

    def get_retraining_trigger(self, trigger_id: str) -> Any: ...

    def list_promotion_requests(self, model_name: str | None = None,
                                pending_only: bool = False) -> list[Any]: ...

    def get_promotion_request(self, request_id: str) -> Any: ...

    def get_rollout(self, model_name: str) -> Any: ...

    def list_rollouts(self) -> list[Any]: ...

    @property
    def ab_tests(self) -> Any: ...


def drift_alerts_page(
    engine: LoopReads, limit: int, offset: int, model_name: str | None = None,
    start: datetime | None = None, end: datetime | None = None,
) -> dict[str, object]:
    """Drift alerts, oldest first; one page of them."""
    found = engine.get_drift_alerts(model_name, start, end)
    return s.page([convert.alert(a) for a in found], limit, offset)


def baselines(engine: LoopReads) -> dict[str, dict[str, float | None]]:
    """Every model's drift baseline metrics."""
    return {k: s.nums(v) for k, v in engine.list_baselines().items()}


def triggers_page(
    engine: LoopReads, limit: int, offset: int, model_name: str | None = None
) -> dict[str, object]:
    """Retraining triggers, oldest first, with their status and every step's outcome."""
    found = engine.list_retraining_triggers(model_name)
    return s.page([convert.trigger(t) for t in found], limit, offset)


def trigger(engine: LoopReads, trigger_id: str) -> s.TriggerOut:
    """One retraining trigger: where its chain is, or how it ended and why."""
    found = engine.get_retraining_trigger(trigger_id)
    if found is None:
        raise NotFoundError(
            f"no retraining trigger {trigger_id!r}; `ordinis-learning models retrains` "
            "(GET /v1/triggers) lists the known ones"
        )
    return convert.trigger(found)


def requests_page(
    engine: LoopReads, limit: int, offset: int, model_name: str | None = None,
    pending: bool = False,
) -> dict[str, object]:
    """Promotion requests, oldest first; one page of them."""
    found = engine.list_promotion_requests(model_name, pending)
    return s.page([convert.request(r) for r in found], limit, offset)


def rollouts_page(
    engine: LoopReads, limit: int, offset: int, active: bool | None = None
) -> dict[str, object]:
    """Each model's current (or last) rollout, by model name; ``active`` filters."""
    out = [convert.rollout(r) for r in engine.list_rollouts()]
    if active is not None:
        out = [r for r in out if r.active is active]
    return s.page(out, limit, offset)


def known_ab_test(engine: LoopReads, test_id: str) -> None:
    """A NotFoundError naming the known tests when ``test_id`` is not one of them."""
    tests = engine.ab_tests.tests
    if test_id not in tests:
        raise NotFoundError(f"test_id={test_id!r} is not an A/B test; known: "
                            f"{', '.join(sorted(tests)) or 'none'}")


def ab_test(engine: LoopReads, test_id: str) -> s.ABTestOut:
    """One A/B test with its results: per-variant stats, the lift, the decision."""
    known_ab_test(engine, test_id)
    return convert.ab_test(engine.ab_tests.tests[test_id], engine.ab_tests.results(test_id))


def ab_tests_page(
    engine: LoopReads, limit: int, offset: int, status: str | None = None
) -> dict[str, object]:
    """Every A/B test with its results, oldest first; ``status`` filters."""
    tests = sorted(engine.ab_tests.tests.values(), key=lambda t: (t.created_at, t.test_id))
    out = [ab_test(engine, t.test_id) for t in tests if status in (None, t.status)]
    return s.page(out, limit, offset)


class StoreReads(EngineReads, LoopReads, Protocol):
    """Every read the store alone answers: what the CLI's in-process reads are given."""
