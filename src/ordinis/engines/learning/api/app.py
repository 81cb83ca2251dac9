"""The FastAPI app of one engine: routers per resource, bearer auth, problem details, and an
audit record (with the caller's identity) for every mutating call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordinis.engines.learning import LearningEngine
from ordinis.engines.learning.api import problems
from ordinis.engines.learning.api.auth import AuthSettings, TokenBook
from ordinis.engines.learning.api.routers import (
    audit,
    breakers,
    drift,
    evaluations,
    events,
    feedback,
    health,
    jobs,
    models,
    parity,
    retraining,
    rollouts,
)

ROUTERS = (
    health, events, feedback, jobs, models, retraining, evaluations, parity, drift, rollouts,
    breakers, audit
)
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_ERRORS: dict[int | str, str] = {
    401: "no or unknown bearer token",
    403: "the identity lacks the role",
    404: "no such thing (the detail lists what exists)",
    409: "refused by governance (the policy and its reason)",
    422: "invalid input (problem details name each field and the fix)",
    503: "temporarily unavailable (buffer full, store down)",
}


def create_app(
    engine: LearningEngine,
    tokens: TokenBook | None = None,
    insecure_local: bool = False,
    manage_engine: bool = True,
    local_identity: str = "local",
) -> FastAPI:
    """The app serving ``engine``; with ``manage_engine`` it initializes and shuts it down.

    ``insecure_local`` lets requests without a token in as ``local_identity`` with every
    role; ``serve`` allows it on loopback only (the CLI's in-process mode uses it too).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_engine:
            await engine.initialize()
        try:
            yield
        finally:
            if manage_engine:
                await engine.shutdown()

    app = FastAPI(
        title="ordinis-learning",
        version="1",
        description="The closed-loop LearningEngine of ordinis, as a service.",
        lifespan=lifespan,
        responses={
            code: {
                "description": text,
                "model": problems.Problem,
                "content": {problems.PROBLEM_JSON: {"schema": _PROBLEM_REF}},
            }
            for code, text in _ERRORS.items()
        },
    )
    app.state.engine = engine
    app.state.auth = AuthSettings(tokens or TokenBook({}), insecure_local, local_identity)
    problems.install(app)
    for r in ROUTERS:
        app.include_router(r.router)

    app.add_middleware(AuditMutations, engine=engine)
    return app


class AuditMutations:
    """ASGI middleware: one audit record, with the caller's identity, per successful mutating
    request (pure ASGI: no body buffering on the ingestion path)."""

    def __init__(self, app: ASGIApp, engine: LearningEngine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _MUTATING:
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, send_status)
        if status < 400 and self.engine.is_running:
            who = scope.get("state", {}).get("identity", "anonymous")
            await asyncio.to_thread(
                self.engine.audit, who, f"api.{scope['method'].lower()}", scope["path"], "allow",
                f"HTTP {status}", {},
            )
