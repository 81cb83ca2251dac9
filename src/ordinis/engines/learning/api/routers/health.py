"""Health and liveness (unauthenticated, for probes), status and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ordinis.engines.learning import HealthLevel
from ordinis.engines.learning.api import reads
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Reader
from ordinis.engines.learning.api.deps import Engine

router = APIRouter(tags=["health"])
PROM_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/health", response_model=s.HealthOut,
            responses={503: {"model": s.HealthOut, "description": "the engine is unhealthy"}})
async def health(engine: Engine, response: Response) -> s.HealthOut:
    """HEALTHY / DEGRADED / UNHEALTHY and why (no token needed: for load balancers and
    readiness probes). UNHEALTHY answers 503, so a probe that reads only the status code
    takes the engine out of service; DEGRADED still serves (200) and says why."""
    out = await reads.health(engine)
    if out.level == HealthLevel.UNHEALTHY.value:
        response.status_code = 503
    return out


@router.get("/livez", response_model=s.LiveOut)
async def livez() -> s.LiveOut:
    """The process answers (a liveness probe): 200 without asking the engine, so a store
    outage, which a restart cannot mend, never gets the process killed; /health says why."""
    return s.LiveOut(alive=True)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {PROM_TYPE: {"schema": {"type": "string"}}}}})
async def metrics(engine: Engine, who: Reader) -> Response:
    """The engine's Prometheus registry in the text exposition format."""
    return Response(engine.metrics.render(), media_type=PROM_TYPE)


@router.get("/v1/status", response_model=s.StatusOut)
async def status(engine: Engine, who: Reader) -> s.StatusOut:
    """What the engine holds and does right now."""
    return reads.status(engine)
