"""Evaluations: run (benchmark packs and gates), show the history, compare two versions."""

from __future__ import annotations

from fastapi import APIRouter

from ordinis.engines.learning.api import convert
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Operator, Reader
from ordinis.engines.learning.api.deps import Engine, Limit, Offset

router = APIRouter(prefix="/v1", tags=["evaluations"])


@router.post("/versions/{version_id}/evaluations", response_model=s.EvaluationOut, status_code=201)
async def evaluate(
    version_id: str, body: s.EvaluateIn, engine: Engine, who: Operator
) -> s.EvaluationOut:
    """Evaluate a version and pass it through a gate set (``passed`` says the verdict)."""
    engine.get_model_version(version_id)
    result = await engine.evaluate_model(
        version_id, body.benchmarks, metrics=body.metrics, thresholds=body.thresholds,
        gate_set=body.gate_set,
    )
    return convert.evaluation(result)


@router.get("/versions/{version_id}/evaluations", response_model=s.Page[s.EvaluationOut])
async def evaluations(
    version_id: str, engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0
) -> dict[str, object]:
    """Every stored evaluation of the version, oldest first (a history, per gate set)."""
    engine.get_model_version(version_id)
    return s.page([convert.evaluation(r) for r in engine.get_evaluations(version_id)],
                  limit, offset)


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
