"""Drift: alerts, baselines, an on-demand check of reported metrics."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Request

from ordinis.engines.learning.api import convert, reads
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Operator, Reader
from ordinis.engines.learning.api.deps import Engine, Limit, Offset

router = APIRouter(prefix="/v1/drift", tags=["drift"])


@router.get("/alerts", response_model=s.Page[s.AlertOut])
async def alerts(
    engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0,
    model_name: str | None = None, start: datetime | None = None, end: datetime | None = None,
) -> dict[str, object]:
    """Drift alerts, oldest first."""
    return await asyncio.to_thread(
        reads.drift_alerts_page, engine, limit, offset, model_name, start, end)


@router.get("/baselines", response_model=dict[str, dict[str, s.Num]])
async def baselines(engine: Engine, who: Reader) -> dict[str, dict[str, float | None]]:
    """Every model's drift baseline metrics."""
    return reads.baselines(engine)


@router.get("/baselines/{model_name}", response_model=dict[str, s.Num])
async def baseline(model_name: str, engine: Engine, who: Reader) -> dict[str, float | None]:
    return s.nums(engine.get_baseline(model_name))


@router.put("/baselines/{model_name}", response_model=dict[str, s.Num])
async def set_baseline(
    model_name: str, body: s.MetricsIn, engine: Engine, who: Operator
) -> dict[str, float | None]:
    """Set the performance baseline drift checks compare with."""
    await asyncio.to_thread(engine.set_baseline, model_name, body.metrics)
    return s.nums(engine.get_baseline(model_name))


@router.post("/check/{model_name}", response_model=list[s.AlertOut])
async def check(
    model_name: str, body: s.MetricsIn, engine: Engine, who: Operator
) -> list[s.AlertOut]:
    """Compare reported metrics with the baseline; alerts also go to the closed loop."""
    engine.get_baseline(model_name)
    found = await asyncio.to_thread(engine.check_drift, model_name, body.metrics)
    return [convert.alert(a) for a in found]


@router.get("/compare/{model_name}", response_model=list[s.MetricDriftOut])
async def compare(
    model_name: str, request: Request, engine: Engine, who: Reader
) -> list[s.MetricDriftOut]:
    """Where each metric, given as a query parameter (``?sharpe=0.4&win_rate=0.55``), stands
    against the baseline now, with its open drift episode (a check inside an open episode
    raises nothing); a read: it changes nothing and alerts nothing."""
    engine.get_baseline(model_name)
    metrics = reads.metrics_query(request.query_params)
    found = await asyncio.to_thread(engine.compare_with_baseline, model_name, metrics)
    return [convert.metric_drift(m) for m in found]
