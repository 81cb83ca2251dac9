"""The audit log: the newest records, and a check of the hash chain."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from ordinis.engines.learning.api import reads
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Reader
from ordinis.engines.learning.api.deps import Engine, Limit

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=list[s.AuditOut])
async def tail(engine: Engine, who: Reader, limit: Limit = 50) -> list[s.AuditOut]:
    """The newest ``limit`` records, oldest first."""
    return await asyncio.to_thread(reads.audit_tail, engine, limit)


@router.get("/verify", response_model=s.AuditVerifyOut)
async def verify(engine: Engine, who: Reader) -> s.AuditVerifyOut:
    """Recompute the hash chain end to end."""
    return await asyncio.to_thread(reads.audit_verify, engine)
