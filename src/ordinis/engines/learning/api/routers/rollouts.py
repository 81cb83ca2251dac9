"""Rollouts and A/B tests: state (readers), start and abort (operators), approve (approvers).

A/B tests: operators create and stop them; a host assigns keys (readers: the assignment is a
pure function of the test and the key) and records outcomes (writers, like events).

Every call that changes a rollout names the caller: the library records the identity in the
rollout's decisions and the audit log, and the app's middleware audits the HTTP call too.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query

from ordinis.engines.learning import FieldProblem, ValidationError
from ordinis.engines.learning.api import convert, reads
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Approver, Operator, Reader, Writer
from ordinis.engines.learning.api.deps import Engine, Limit, Offset

router = APIRouter(prefix="/v1", tags=["rollouts"])


@router.get("/rollouts", response_model=s.Page[s.RolloutOut])
async def list_rollouts(
    engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0,
    active: bool | None = None,
) -> dict[str, object]:
    """Each model's current (or last) rollout, by model name; ``active`` filters."""
    return await asyncio.to_thread(reads.rollouts_page, engine, limit, offset, active)


@router.get("/rollouts/{model_name}", response_model=s.RolloutOut)
async def show_rollout(model_name: str, engine: Engine, who: Reader) -> s.RolloutOut:
    """The model's current (or last) rollout: phase, step, traffic, evidence, decisions."""
    return convert.rollout(await asyncio.to_thread(engine.get_rollout, model_name))


@router.post("/rollouts", response_model=s.RolloutOut | None, status_code=201)
async def start_rollout(
    body: s.RolloutStartIn, engine: Engine, who: Operator
) -> s.RolloutOut | None:
    """Start a rollout of a candidate against the production version (null: it cut over at
    once, as IMMEDIATE or as a model's first production version)."""
    mv = engine.get_model_version(body.version_id)
    report = await engine.start_rollout(
        mv.model_name, mv.version_id, body.strategy, actor=who.name, reason=body.reason
    )
    return None if report is None else convert.rollout(report)


@router.post("/rollouts/{model_name}/approve", response_model=s.RolloutOut)
async def approve_rollout(
    model_name: str, body: s.DecisionIn, engine: Engine, who: Approver
) -> s.RolloutOut:
    """Approve a rollout in shadow or awaiting approval; it moves on at once."""
    return convert.rollout(await engine.approve_rollout(model_name, who.name))


@router.post("/rollouts/{model_name}/abort", response_model=s.RolloutOut)
async def abort_rollout(
    model_name: str, body: s.AbortIn, engine: Engine, who: Operator
) -> s.RolloutOut:
    """Roll back now: the champion serves again at once and the candidate is archived."""
    return convert.rollout(await engine.abort_rollout(model_name, body.reason, actor=who.name))


@router.get("/ab-tests", response_model=s.Page[s.ABTestOut])
async def list_ab_tests(
    engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0,
    status: str | None = None,
) -> dict[str, object]:
    """Every A/B test with its results, oldest first; ``status`` (running, stopped) filters."""
    return reads.ab_tests_page(engine, limit, offset, status)


@router.post("/ab-tests", response_model=s.ABTestOut, status_code=201)
async def create_ab_test(body: s.ABTestCreateIn, engine: Engine, who: Operator) -> s.ABTestOut:
    """Start an A/B test: the first variant is the control; results come from the host."""
    test = await asyncio.to_thread(
        engine.ab_tests.create_test, body.name, body.variants, body.weights, body.alpha,
        body.min_samples, body.max_samples, body.design_samples, who.name)
    return reads.ab_test(engine, test.test_id)


@router.get("/ab-tests/{test_id}/variant", response_model=s.ABAssignmentOut)
async def assign_ab_variant(
    test_id: str, engine: Engine, who: Reader,
    key: str = Query(min_length=1, max_length=512, description="who is assigned: an account, "
                     "a symbol, a signal id"),
) -> s.ABAssignmentOut:
    """The key's variant: sticky (a hash of the test and the key), the same in every process."""
    reads.known_ab_test(engine, test_id)
    return s.ABAssignmentOut(test_id=test_id, key=key,
                             variant=engine.ab_tests.get_variant(test_id, key))


@router.post("/ab-tests/{test_id}/results", response_model=s.ABTestOut)
async def record_ab_results(
    test_id: str, body: s.ABResultsIn, engine: Engine, who: Writer
) -> s.ABTestOut:
    """Record outcomes of a running test, all or none: every one is checked before any counts."""
    reads.known_ab_test(engine, test_id)
    await asyncio.to_thread(engine.ab_tests.record_results, test_id,
                            [(r.variant, r.value, r.win) for r in body.results])
    return reads.ab_test(engine, test_id)


@router.get("/ab-tests/{test_id}", response_model=s.ABTestOut)
async def show_ab_test(test_id: str, engine: Engine, who: Reader) -> s.ABTestOut:
    """One A/B test: per-variant stats, the lift with its anytime-valid interval, decision."""
    return reads.ab_test(engine, test_id)


@router.post("/ab-tests/{test_id}/stop", response_model=s.ABTestOut)
async def stop_ab_test(
    test_id: str, body: s.AbortIn, engine: Engine, who: Operator
) -> s.ABTestOut:
    """Stop (abort) a test; its results stay readable."""
    reads.known_ab_test(engine, test_id)
    if engine.ab_tests.tests[test_id].status != "running":
        raise ValidationError("stop A/B test", [FieldProblem(
            "test_id", test_id, "the test is already stopped; its results stay readable")])
    await asyncio.to_thread(engine.ab_tests.stop, test_id, f"{who.name}: {body.reason}",
                            who.name)
    return reads.ab_test(engine, test_id)
