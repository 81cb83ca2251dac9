"""Shared dependencies of the routers: the engine and pagination parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from ordinis.engines.learning import LearningEngine


async def get_engine(request: Request) -> LearningEngine:
    """The one engine this app serves (async: FastAPI runs a plain ``def`` dependency in its
    thread pool, a thread hop per request for a dict lookup)."""
    engine: LearningEngine = request.app.state.engine
    return engine


Engine = Annotated[LearningEngine, Depends(get_engine)]
Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")]
