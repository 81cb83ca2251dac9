"""Evaluations: run (benchmark packs and gates), show the history, compare two versions."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from ordinis.engines.learning.api import convert, reads
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Operator, Reader
from ordinis.engines.learning.api.deps import Engine, Limit, Offset

router = APIRouter(prefix="/v1", tags=["evaluations"])


@router.post("/versions/{version_id}/evaluations", response_model=s.EvaluationOut, status_code=201)
async def evaluate(
    version_id: str, body: s.EvaluateIn, engine: Engine, who: Operator
) -> s.EvaluationOut:
    """Evaluate a version and pass it through a gate set (``passed`` says the verdict). Each
    evaluation is kept: it never replaces another gate set's."""
    engine.get_model_version(version_id)
    result = await engine.evaluate_model(
        version_id, body.benchmarks, metrics=body.metrics, thresholds=body.thresholds,
        gate_set=body.gate_set,
    )
    history = await asyncio.to_thread(engine.get_evaluations, version_id)
    sequence = next((i for i, r in enumerate(history, 1)
                     if r.evaluation_id == result.evaluation_id), None)
    return convert.evaluation(result, sequence)


@router.get("/versions/{version_id}/evaluations", response_model=s.Page[s.EvaluationOut])
async def evaluations(
    version_id: str, engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0,
    gate_set: str | None = None,
) -> dict[str, object]:
    """Every stored evaluation of the version, oldest first (a history, per gate set);
    ``gate_set`` keeps one gate set's."""
    return await asyncio.to_thread(
        reads.evaluations_page, engine, version_id, limit, offset, gate_set)


@router.post("/evaluations/compare", response_model=s.CompareOut)
async def compare(body: s.CompareIn, engine: Engine, who: Operator) -> s.CompareOut:
    """Challenger ``version_a`` against champion ``version_b`` on the same packs."""
    engine.get_model_version(body.version_a)
    engine.get_model_version(body.version_b)
    r = await engine.compare_models(body.version_a, body.version_b, body.benchmarks)
    return s.CompareOut(
        version_a=body.version_a, version_b=body.version_b, sharpe_diff=s.num(r.sharpe_diff),
        lower=s.num(r.lower), upper=s.num(r.upper), p_value=s.num(r.p_value),
        a_better=bool(r.a_better),
    )
