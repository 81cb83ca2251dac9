"""The FastAPI app of one engine: routers per resource, bearer auth, problem details, and an
audit record (with the caller's identity) for every mutating call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

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
)

ROUTERS = (health, events, feedback, jobs, models, evaluations, drift, breakers, audit)
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
) -> FastAPI:
    """The app serving ``engine``; with ``manage_engine`` it initializes and shuts it down.

    ``insecure_local`` lets requests without a token in as the identity ``local`` with every
    role; ``serve`` allows it on loopback only.
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
    app.state.auth = AuthSettings(tokens or TokenBook({}), insecure_local)
    problems.install(app)
    for r in ROUTERS:
        app.include_router(r.router)

    @app.middleware("http")
    async def audit_mutations(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.method in _MUTATING and response.status_code < 400 and engine.is_running:
            who = getattr(request.state, "identity", None)
            await asyncio.to_thread(
                engine.audit, who or "anonymous", f"api.{request.method.lower()}",
                request.url.path, "allow", f"HTTP {response.status_code}", {},
            )
        return response

    return app
