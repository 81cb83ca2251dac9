"""The read endpoints served in-process, without HTTP or FastAPI: the CLI's read commands on a
data dir get the JSON a server would send, from an ``EngineReader`` (the stores, and MLflow's
tables read-only for models and versions).

``answer(engine, path, params)`` returns the JSON document of ``GET path``, or ``None`` when
the path is not one of these, or a model read while the registry cannot be read without MLflow
(the caller then needs the full app: that registry, promotion blockers, anything computed).
Loop state (drift alerts and baselines, retraining triggers, promotion requests, rollouts, A/B
tests) is read from the store alone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from ordinis.engines.learning import FieldProblem, ValidationError
from ordinis.engines.learning.api import convert, reads
from ordinis.engines.learning.api import schemas as s

Handler = Callable[[reads.StoreReads, Mapping[str, Any]], Any]
_JOB = re.compile(r"/v1/jobs/(?P<id>[^/]+)")
ModelHandler = Callable[[Any, str, Mapping[str, Any]], Any]
MAX_LIMIT = 1000


def _int(params: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """A paging parameter with the API's bounds (the same message a server would give)."""
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = low - 1
    if not low <= value <= high:
        raise ValidationError("query", [FieldProblem(
            name, raw, f"must be an integer from {low} to {high}")])
    return value


def _limit(params: Mapping[str, Any], default: int) -> int:
    return _int(params, "limit", default, 1, MAX_LIMIT)


def _offset(params: Mapping[str, Any]) -> int:
    return _int(params, "offset", 0, 0, 10_000_000)


def _dump(model: Any) -> Any:
    if isinstance(model, list):
        return [m.model_dump(mode="json") for m in model]
    return model.model_dump(mode="json")


def _events(engine: reads.EngineReads, p: Mapping[str, Any]) -> Any:
    page = reads.events_page(
        engine, _limit(p, 100), _offset(p), reads.event_type(p.get("event_type")),
        p.get("symbol"), p.get("source_engine"),
    )
    return s.Page[s.EventOut].model_validate(page).model_dump(mode="json")


def _jobs(engine: reads.EngineReads, p: Mapping[str, Any]) -> Any:
    page = reads.jobs_page(engine, _limit(p, 100), _offset(p), p.get("model_name"))
    return s.Page[s.JobOut].model_validate(page).model_dump(mode="json")


def _opt_time(params: Mapping[str, Any], name: str) -> datetime | None:
    return None if params.get(name) is None else _time(params, name)


def _bool(params: Mapping[str, Any], name: str, default: bool | None) -> bool | None:
    """A boolean query parameter as the server parses it (true/false, 1/0, yes/no, on/off)."""
    raw = params.get(name)
    if raw is None or isinstance(raw, bool):
        return default if raw is None else raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on", "t", "y"):
        return True
    if text in ("false", "0", "no", "off", "f", "n"):
        return False
    raise ValidationError("query", [FieldProblem(name, raw, "must be true or false")])


def _str(params: Mapping[str, Any], name: str) -> str | None:
    raw = params.get(name)
    return None if raw is None else str(raw)


_ROUTES: dict[str, Handler] = {
    "/v1/drift/alerts": lambda e, p: _dump_page(s.Page[s.AlertOut], reads.drift_alerts_page(
        e, _limit(p, 100), _offset(p), _str(p, "model_name"), _opt_time(p, "start"),
        _opt_time(p, "end"))),
    "/v1/drift/baselines": lambda e, p: reads.baselines(e),
    "/v1/triggers": lambda e, p: _dump_page(s.Page[s.TriggerOut], reads.triggers_page(
        e, _limit(p, 100), _offset(p), _str(p, "model_name"))),
    "/v1/promotions": lambda e, p: _dump_page(s.Page[s.PromotionRequestOut], reads.requests_page(
        e, _limit(p, 100), _offset(p), _str(p, "model_name"), bool(_bool(p, "pending", False)))),
    "/v1/rollouts": lambda e, p: _dump_page(s.Page[s.RolloutOut], reads.rollouts_page(
        e, _limit(p, 100), _offset(p), _bool(p, "active", None))),
    "/v1/ab-tests": lambda e, p: _dump_page(s.Page[s.ABTestOut], reads.ab_tests_page(
        e, _limit(p, 100), _offset(p), _str(p, "status"))),
    "/v1/audit": lambda e, p: _dump(reads.audit_tail(e, _limit(p, 50))),
    "/v1/audit/verify": lambda e, p: _dump(reads.audit_verify(e)),
    "/v1/events": _events,
    "/v1/events/stats": lambda e, p: _dump(reads.event_stats(e)),
    "/v1/jobs": _jobs,
    "/v1/breakers": lambda e, p: _dump(reads.breakers(e)),
    "/v1/status": lambda e, p: _dump(reads.status(e)),
    "/health": lambda e, p: _dump(asyncio.run(reads.health(e))),
}


def _time(params: Mapping[str, Any], name: str) -> datetime:
    """A required time parameter, parsed as the server's query validation parses it."""
    from pydantic import TypeAdapter
    from pydantic import ValidationError as PydanticError

    raw = params.get(name)
    if raw is None:
        raise ValidationError("query", [FieldProblem(name, None, "is required")])
    try:
        return TypeAdapter(datetime).validate_python(raw)
    except PydanticError:
        raise ValidationError("query", [FieldProblem(
            name, raw, "must be an ISO 8601 time, e.g. 2024-03-01T00:00Z")]) from None


# Loop state by key: the store alone answers them (no registry).
_KEYED_ROUTES: list[tuple[re.Pattern[str], ModelHandler]] = [
    (re.compile(r"/v1/drift/baselines/(?P<k>[^/]+)"), lambda e, k, p: s.nums(
        e.get_baseline(k))),
    (re.compile(r"/v1/triggers/(?P<k>[^/]+)"), lambda e, k, p: _dump(reads.trigger(e, k))),
    (re.compile(r"/v1/promotions/(?P<k>[^/]+)"), lambda e, k, p: _dump(
        convert.request(e.get_promotion_request(k)))),
    (re.compile(r"/v1/rollouts/(?P<k>[^/]+)"), lambda e, k, p: _dump(
        convert.rollout(e.get_rollout(k)))),
    (re.compile(r"/v1/ab-tests/(?P<k>[^/]+)"), lambda e, k, p: _dump(reads.ab_test(e, k))),
]

_MODEL_ROUTES: list[tuple[re.Pattern[str], ModelHandler]] = [
    (re.compile(r"/v1/models"), lambda e, _k, p: _dump_page(
        s.Page[s.ModelOut], reads.models_page(e, _limit(p, 100), _offset(p)))),
    (re.compile(r"/v1/models/(?P<k>[^/]+)/versions"), lambda e, k, p: _dump_page(
        s.Page[s.VersionOut], reads.versions_page(e, k, _limit(p, 100), _offset(p)))),
    (re.compile(r"/v1/models/(?P<k>[^/]+)/history"), lambda e, k, p: _dump_page(
        s.Page[s.StageChangeOut], reads.history_page(e, k, _limit(p, 100), _offset(p)))),
    (re.compile(r"/v1/models/(?P<k>[^/]+)/at"), lambda e, k, p: _dump(
        reads.version_at(e, k, _time(p, "t"), str(p.get("stage", "production"))))),
    (re.compile(r"/v1/versions/(?P<k>[^/]+)"), lambda e, k, p: _dump(
        reads.show_version(e, k))),
    (re.compile(r"/v1/versions/(?P<k>[^/]+)/lineage"), lambda e, k, p: reads.lineage(e, k)),
    (re.compile(r"/v1/versions/(?P<k>[^/]+)/evaluations"), lambda e, k, p: _dump_page(
        s.Page[s.EvaluationOut], reads.evaluations_page(
            e, k, _limit(p, 100), _offset(p), p.get("gate_set")))),
]


def _dump_page(model: Any, page: dict[str, object]) -> Any:
    return model.model_validate(page).model_dump(mode="json")


def answer(engine: reads.StoreReads, path: str, params: Mapping[str, Any]) -> Any | None:
    """The JSON of ``GET path`` (a LearningEngineError for what a server answers 4xx), or
    ``None`` when the path is not a read served here."""
    path = path.rstrip("/") or "/"
    handler = _ROUTES.get(path)
    if handler is not None:
        return handler(engine, params)
    job = _JOB.fullmatch(path)
    if job is not None:
        return _dump(reads.job(engine, job.group("id")))
    for pattern, keyed in _KEYED_ROUTES:
        found = pattern.fullmatch(path)
        if found is not None:
            return keyed(engine, unquote(found.group("k")), params)
    for pattern, model_handler in _MODEL_ROUTES:
        found = pattern.fullmatch(path)
        if found is not None:
            readable = getattr(engine, "registry_readable", None)
            if readable is None or not readable():
                return None
            key = unquote(found.groupdict().get("k") or "")
            return model_handler(engine, key, params)
    return None
