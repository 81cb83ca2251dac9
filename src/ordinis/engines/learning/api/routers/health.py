"""Health (unauthenticated, for probes), status and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Reader
from ordinis.engines.learning.api.deps import Engine

router = APIRouter(tags=["health"])
PROM_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/health", response_model=s.HealthOut)
async def health(engine: Engine) -> s.HealthOut:
    """HEALTHY / DEGRADED / UNHEALTHY and why (no token needed: for load balancers)."""
    h = await engine.health_check()
    return s.HealthOut(level=h.level.value, message=h.message, duration_ms=s.num(h.latency_ms))


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {PROM_TYPE: {"schema": {"type": "string"}}}}})
async def metrics(engine: Engine, who: Reader) -> Response:
    """The engine's Prometheus registry in the text exposition format."""
    return Response(engine.metrics.render(), media_type=PROM_TYPE)


@router.get("/v1/status", response_model=s.StatusOut)
async def status(engine: Engine, who: Reader) -> s.StatusOut:
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
