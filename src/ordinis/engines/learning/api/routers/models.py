"""Models and versions: list, show, lineage, stage history, version at time T, promote,
rollback; four-eyes promotion requests; what still blocks a promotion."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from ordinis.engines.learning.api import convert, reads
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Approver, Operator, Reader
from ordinis.engines.learning.api.deps import Engine, Limit, Offset

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models", response_model=s.Page[s.ModelOut])
async def list_models(
    engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0
) -> dict[str, object]:
    """Every registered model with its version count and production version."""
    return reads.models_page(engine, limit, offset)


@router.get("/models/{name}/versions", response_model=s.Page[s.VersionOut])
async def list_versions(
    name: str, engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0
) -> dict[str, object]:
    """The versions of one model, oldest first."""
    return reads.versions_page(engine, name, limit, offset)


@router.get("/models/{name}/history", response_model=s.Page[s.StageChangeOut])
async def stage_history(
    name: str, engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0
) -> dict[str, object]:
    """Every stage change of the model: when, which version, from/to, who and why."""
    return await asyncio.to_thread(reads.history_page, engine, name, limit, offset)


@router.get("/models/{name}/at", response_model=s.VersionOut)
async def version_at(
    name: str, engine: Engine, who: Reader,
    t: Annotated[datetime, Query(description="time with zone, ISO 8601")],
    stage: str = "production",
) -> s.VersionOut:
    """The version that held ``stage`` at time ``t``."""
    return await asyncio.to_thread(reads.version_at, engine, name, t, stage)


@router.post("/models/{name}/rollback", response_model=s.VersionOut)
async def rollback(name: str, body: s.RollbackIn, engine: Engine, who: Operator) -> s.VersionOut:
    """Restore the previous production version."""
    reads.known_model(engine, name)
    return convert.version(await engine.rollback(name, body.reason, actor=who.name))


@router.get("/versions/{version_id}", response_model=s.VersionOut)
async def show_version(version_id: str, engine: Engine, who: Reader) -> s.VersionOut:
    """One version (``name:version``): stage, metrics, parameters, lineage, artifact hash."""
    return reads.show_version(engine, version_id)


@router.get("/versions/{version_id}/lineage", response_model=dict[str, str])
async def lineage(version_id: str, engine: Engine, who: Reader) -> dict[str, str]:
    """Where the version came from: data hash, code version, job, parent."""
    return reads.lineage(engine, version_id)


@router.post("/versions/{version_id}/promote", response_model=s.VersionOut)
async def promote(
    version_id: str, body: s.PromoteIn, engine: Engine, who: Operator
) -> s.VersionOut:
    """Move a version to a stage, through the governance policies (a refusal is a 409)."""
    mv = engine.get_model_version(version_id)
    out = await engine.promote_model(
        mv.model_name, mv.version_id, body.stage, actor=who.name, reason=body.reason
    )
    return convert.version(out)


@router.get("/versions/{version_id}/blockers", response_model=list[s.PolicyVerdict])
async def explain(
    version_id: str, engine: Engine, who: Reader, stage: str = "production"
) -> list[s.PolicyVerdict]:
    """What still blocks promoting the version to ``stage`` now (empty: nothing)."""
    found = await asyncio.to_thread(engine.explain_promotion, version_id, stage, who.name)
    return [convert.verdict(r) for r in found]


@router.post("/promotions", response_model=s.PromotionRequestOut, status_code=201)
async def request_promotion(
    body: s.PromotionRequestIn, engine: Engine, who: Operator
) -> s.PromotionRequestOut:
    """Ask for a promotion; an approver other than the requester approves it."""
    req = await engine.request_promotion(body.version_id, body.stage, who.name, body.reason)
    return convert.request(req)


@router.get("/promotions", response_model=s.Page[s.PromotionRequestOut])
async def list_requests(
    engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0,
    model_name: str | None = None, pending: bool = False,
) -> dict[str, object]:
    """Promotion requests, oldest first."""
    return await asyncio.to_thread(reads.requests_page, engine, limit, offset, model_name,
                                   pending)


@router.get("/promotions/{request_id}", response_model=s.PromotionRequestOut)
async def show_request(request_id: str, engine: Engine, who: Reader) -> s.PromotionRequestOut:
    return convert.request(await asyncio.to_thread(engine.get_promotion_request, request_id))


@router.post("/promotions/{request_id}/approve", response_model=s.VersionOut)
async def approve(
    request_id: str, body: s.DecisionIn, engine: Engine, who: Approver
) -> s.VersionOut:
    """Approve and promote; refused (409) when the approver requested it."""
    return convert.version(await engine.approve_promotion(request_id, who.name, body.reason))


@router.post("/promotions/{request_id}/reject", response_model=s.PromotionRequestOut)
async def reject(
    request_id: str, body: s.RejectIn, engine: Engine, who: Approver
) -> s.PromotionRequestOut:
    """Close the request without promoting."""
    return convert.request(await engine.reject_promotion(request_id, who.name, body.reason))
