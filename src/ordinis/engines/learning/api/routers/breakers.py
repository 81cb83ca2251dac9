"""Circuit breakers: state, and a manual reset that must say why."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from ordinis.engines.learning import NotFoundError
from ordinis.engines.learning.api import convert, reads
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Operator, Reader
from ordinis.engines.learning.api.deps import Engine

router = APIRouter(prefix="/v1/breakers", tags=["breakers"])


@router.get("", response_model=list[s.BreakerOut])
async def breakers(engine: Engine, who: Reader) -> list[s.BreakerOut]:
    """Every breaker: closed, open or half-open, and why."""
    return reads.breakers(engine)


@router.post("/{engine_name}/reset", response_model=s.BreakerOut)
async def reset(engine_name: str, body: s.ResetIn, engine: Engine, who: Operator) -> s.BreakerOut:
    """Close a breaker by hand; the reason and the identity are audited."""
    states = engine.breaker_states()
    if engine_name not in states:
        raise NotFoundError(f"no breaker {engine_name!r}; known: {', '.join(sorted(states))}")
    snap = await asyncio.to_thread(engine.reset_breaker, engine_name, who.name, body.reason)
    return convert.breaker(engine_name, snap)
