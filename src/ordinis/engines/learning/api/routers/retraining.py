"""Retraining: an operator's manual retrain through the loop's safeguards, and the ledger of
every trigger (manual, drift, degradation, losses, schedule) with what became of it."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from ordinis.engines.learning.api import convert, reads
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Operator, Reader
from ordinis.engines.learning.api.deps import Engine, Limit, Offset

router = APIRouter(prefix="/v1", tags=["retraining"])


@router.post("/models/{name}/retrain", response_model=s.TriggerOut, status_code=202)
async def retrain(name: str, body: s.RetrainIn, engine: Engine, who: Operator) -> s.TriggerOut:
    """Ask the loop to retrain a model: the safeguards decide, then data validation, training,
    evaluation, gates, staging and the rollout run in the background; poll the trigger."""
    reason = f"{body.reason} (by {who.name})"
    return convert.trigger(await engine.trigger_retraining(name, reason, wait=False))


@router.get("/triggers", response_model=s.Page[s.TriggerOut])
async def list_triggers(
    engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0,
    model_name: str | None = None,
) -> dict[str, object]:
    """Retraining triggers, oldest first, with their status and every step's outcome."""
    return await asyncio.to_thread(reads.triggers_page, engine, limit, offset, model_name)


@router.get("/triggers/{trigger_id}", response_model=s.TriggerOut)
async def show_trigger(trigger_id: str, engine: Engine, who: Reader) -> s.TriggerOut:
    """One retraining trigger: where its chain is, or how it ended and why."""
    return reads.trigger(engine, trigger_id)
