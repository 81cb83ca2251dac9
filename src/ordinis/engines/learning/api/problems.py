"""Errors as RFC 9457 problem details carrying the library's field/fix messages."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ordinis.engines.learning import (
    ArtifactIntegrityError,
    BufferFullError,
    EngineNotRunningError,
    LearningEngineError,
    NotFoundError,
    PolicyDeniedError,
    SignalBlockedError,
    StoreError,
    ValidationError,
)

PROBLEM_JSON = "application/problem+json"


class FieldIssue(BaseModel):
    """One invalid field: where, what was given, what is wrong and how to fix it."""

    field: str
    value: str | None = None
    problem: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    instance: str | None = None
    errors: list[FieldIssue] = Field(default_factory=list)
    policy: str | None = None


def problem_response(
    request: Request, status: int, title: str, detail: str, **extra: Any
) -> JSONResponse:
    """A JSON response of media type application/problem+json."""
    body = Problem(
        title=title, status=status, detail=detail, instance=request.url.path, **extra
    ).model_dump(exclude_none=True)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _status_of(exc: LearningEngineError) -> tuple[int, str]:
    if isinstance(exc, ValidationError):
        return 422, "invalid input"
    if isinstance(exc, NotFoundError):
        return 404, "not found"
    if isinstance(exc, PolicyDeniedError):
        return 409, "refused by governance"
    if isinstance(exc, SignalBlockedError):
        return 409, "signals blocked"
    if isinstance(exc, BufferFullError | EngineNotRunningError | StoreError):
        return 503, "temporarily unavailable"
    if isinstance(exc, ArtifactIntegrityError):
        return 500, "artifact integrity"
    return 400, "request refused"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    async def engine_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LearningEngineError)
        status, title = _status_of(exc)
        extra: dict[str, Any] = {}
        if isinstance(exc, ValidationError):
            extra["errors"] = [
                FieldIssue(field=p.field, value=_short(p.value), problem=p.problem)
                for p in exc.problems
            ]
        if isinstance(exc, PolicyDeniedError):
            extra["policy"] = exc.policy
        return problem_response(request, status, title, str(exc), **extra)

    async def request_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        issues = [
            FieldIssue(
                field=".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body",
                value=_short(err.get("input")),
                problem=str(err.get("msg", "invalid")),
            )
            for err in exc.errors()
        ]
        detail = "; ".join(f"{i.field}: {i.problem}" for i in issues)
        return problem_response(request, 422, "invalid input", detail, errors=issues)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = {401: "unauthenticated", 403: "forbidden", 404: "not found"}.get(
            exc.status_code, "error"
        )
        response = problem_response(request, exc.status_code, title, str(exc.detail))
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

    app.add_exception_handler(LearningEngineError, engine_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _short(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "..."
