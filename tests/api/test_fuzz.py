"""Schemathesis against the live service: every operation, with no token, an unknown token and
each role's token. No 5xx, responses conform to the schema, and nothing mutates without the
role the operation requires. A live rollout and a running A/B test are seeded, and every case
of their operations is also sent at them (generated names rarely hit a real one): a caller
without the role leaves their state as it was."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_helpers import TOKENS, Live, bearer, seed_rollout

from ordinis.engines.learning.api import Role

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CALLERS: list[tuple[str | None, frozenset[Role]]] = [
    (None, frozenset()),
    ("not-a-known-token", frozenset()),
    *((tok, roles) for tok, (_, roles) in TOKENS.items()),
]


@pytest.fixture(scope="module")
def api_schema(live: Live) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{live.url}/openapi.json")


@pytest.fixture(scope="module")
def required_roles(live: Live) -> dict[tuple[str, str], Role | None]:
    """The role each operation requires, read from the live app's routes."""
    from fastapi.routing import APIRoute

    from ordinis.engines.learning.api.app import ROUTERS

    out: dict[tuple[str, str], Role | None] = {}
    for route in (r for module in ROUTERS for r in module.router.routes):
        if not isinstance(route, APIRoute):
            continue
        role = None
        for dep in route.dependant.dependencies:
            name = getattr(dep.call, "__name__", "")
            if name.startswith("require_"):
                role = Role(name.removeprefix("require_"))
        for method in route.methods:
            out[(method, route.path)] = role
    return out


SEEDED_MODEL = "fz"


@pytest.fixture(scope="module")
def seeded(live: Live) -> dict[str, str]:
    """Path parameters that name real things: a model in a rollout, a running A/B test."""
    seed_rollout(live, SEEDED_MODEL)
    test = live.engine.ab_tests.create_test("fuzzed", min_samples=2)
    return {"model_name": SEEDED_MODEL, "test_id": test.test_id}


def _state(live: Live) -> object:
    """What a mutation of the seeded rollout or A/B tests would change."""
    ro = live.engine.get_rollout(SEEDED_MODEL)
    tests = sorted((t.test_id, t.status) for t in live.engine.ab_tests.tests.values())
    return (ro.phase, ro.step, len(ro.decisions), ro.candidate, tests)


def _exercise(
    case: schemathesis.Case, required_roles: dict[tuple[str, str], Role | None],
    live: Live, seeded: dict[str, str],
) -> None:
    method, path = case.operation.method.upper(), case.operation.path
    assert (method, path) in required_roles, f"{method} {path} has no route"
    needed = required_roles[(method, path)]
    variants = [dict(case.path_parameters or {})]
    if path.startswith(("/v1/rollouts/", "/v1/ab-tests/")):
        variants.append({**variants[0], **{k: v for k, v in seeded.items()
                                           if k in variants[0]}})
    for params in variants:
        case.path_parameters = params
        for token, roles in CALLERS:
            case.headers = {k: v for k, v in (case.headers or {}).items()
                            if k.lower() != "authorization"}
            before = _state(live)
            response = case.call(headers=bearer(token), timeout=60)
            case.validate_response(response, checks=CHECKS)
            if needed is not None and needed not in roles:
                assert response.status_code in (401, 403, 422), (
                    f"{method} {path} answered {response.status_code} to a caller without "
                    f"role {needed.value}: {response.text[:300]}"
                )
                if token is None or token == "not-a-known-token":
                    assert response.status_code in (401, 422)
                assert _state(live) == before, f"{method} {path} mutated without {needed}"


def test_every_operation_with_every_caller(
    api_schema: schemathesis.BaseSchema, required_roles: dict[tuple[str, str], Role | None],
    live: Live, seeded: dict[str, str],
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == len(required_roles)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=4, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            _exercise(case, required_roles, live, seeded)

        run()


def test_schema_lists_every_resource(live: Live) -> None:
    paths = httpx.get(f"{live.url}/openapi.json").json()["paths"]
    for prefix in ("/v1/events", "/v1/feedback", "/v1/jobs", "/v1/models", "/v1/versions",
                   "/v1/promotions", "/v1/drift", "/v1/rollouts", "/v1/ab-tests",
                   "/v1/breakers", "/v1/audit", "/health", "/metrics"):
        assert any(p.startswith(prefix) for p in paths), prefix


def test_no_token_is_401_and_wrong_role_is_403(live: Live) -> None:
    with httpx.Client(base_url=live.url) as c:
        r = c.get("/v1/models")
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["status"] == 401
        r = c.post("/v1/breakers/signal/reset", json={"reason": "x"}, headers=bearer("tok-writer"))
        assert r.status_code == 403
        assert "lacks the role 'operator'" in r.json()["detail"]
        assert c.get("/metrics", headers=bearer("tok-reader")).text.count("# HELP") > 5
