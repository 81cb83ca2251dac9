"""Rollouts and A/B tests over HTTP: readers see state, approvers approve, operators abort;
a caller without the role changes nothing, and every change names its identity."""

from __future__ import annotations

from typing import Any

import httpx
from server_helpers import Live, bearer, seed_rollout


def _get(c: httpx.Client, path: str) -> Any:
    r = c.get(path, headers=bearer("tok-reader"))
    assert r.status_code == 200, r.text
    return r.json()


def test_rollout_state_approve_and_abort_with_roles(live: Live) -> None:
    champion, candidate = seed_rollout(live, "ro")
    with httpx.Client(base_url=live.url) as c:
        assert c.get("/v1/rollouts").status_code == 401
        page = _get(c, "/v1/rollouts")
        mine = [x for x in page["items"] if x["model_name"] == "ro"]
        assert len(mine) == 1 and page["limit"] == 100
        ro = mine[0]
        assert (ro["candidate"], ro["champion"], ro["phase"], ro["active"]) == (
            candidate, champion, "shadow", True)
        assert ro["decisions"][0]["actor"] == "olga"
        before = _get(c, "/v1/rollouts/ro")
        assert before == ro

        # without the role: refused, and nothing about the rollout changes
        for path, body, tok in (("/v1/rollouts/ro/approve", {}, "tok-operator"),
                                ("/v1/rollouts/ro/approve", {}, "tok-writer"),
                                ("/v1/rollouts/ro/abort", {"reason": "x"}, "tok-approver"),
                                ("/v1/rollouts/ro/abort", {"reason": "x"}, "tok-reader")):
            r = c.post(path, json=body, headers=bearer(tok))
            assert r.status_code == 403, (path, tok, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            r = c.post(path, json=body)
            assert r.status_code == 401
        assert _get(c, "/v1/rollouts/ro") == before

        r = c.post("/v1/rollouts/ro/approve", json={"reason": "shadow looks fine"},
                   headers=bearer("tok-approver"))
        assert r.status_code == 200, r.text
        approved = r.json()
        assert ("approve", "anna") in {(d["action"], d["actor"]) for d in approved["decisions"]}

        r = c.post("/v1/rollouts/ro/abort", json={"reason": ""}, headers=bearer("tok-operator"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
        r = c.post("/v1/rollouts/ro/abort", json={"reason": "desk asked"},
                   headers=bearer("tok-operator"))
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["active"] is False and done["phase"] in ("aborted", "rolled_back")
        assert done["decisions"][-1]["actor"] == "olga"
        assert _get(c, "/v1/models")["items"][0]["production"] is not None
        assert _get(c, f"/v1/versions/{champion}")["stage"] == "production"
        assert _get(c, "/v1/rollouts?active=false")["total"] >= 1
        assert all(x["model_name"] != "ro"
                   for x in _get(c, "/v1/rollouts?active=true")["items"])

        # nothing left to abort; an unknown model is a 404 problem naming it
        r = c.post("/v1/rollouts/ro/abort", json={"reason": "again"},
                   headers=bearer("tok-operator"))
        assert r.status_code == 404 and "no rollout in progress" in r.json()["detail"]
        r = c.get("/v1/rollouts/nope", headers=bearer("tok-reader"))
        assert r.status_code == 404 and "'nope'" in r.json()["detail"]

        audit = c.get("/v1/audit", params={"limit": 500}, headers=bearer("tok-reader")).json()
        acts = {(a["actor"], a["action"], a["target"]) for a in audit}
        assert ("anna", "rollout.approve", candidate) in acts
        assert ("anna", "api.post", "/v1/rollouts/ro/approve") in acts
        assert ("olga", "api.post", "/v1/rollouts/ro/abort") in acts
        assert not any(a["target"].startswith("/v1/rollouts") and a["actor"] in ("rita", "walt")
                       for a in audit)


def test_who_started_a_rollout_cannot_approve_it(live: Live) -> None:
    seed_rollout(live, "ro4", starter="bert")
    with httpx.Client(base_url=live.url) as c:
        r = c.post("/v1/rollouts/ro4/approve", json={}, headers=bearer("tok-approver2"))
        assert r.status_code == 409 and r.json()["policy"] == "approval_required"
        assert "'bert' started rollout" in r.json()["detail"]
        assert "approve" not in {d["action"] for d in _get(c, "/v1/rollouts/ro4")["decisions"]}
        r = c.post("/v1/rollouts/ro4/approve", json={}, headers=bearer("tok-approver"))
        assert r.status_code == 200, r.text


def test_ab_tests_listed_and_stopped_by_an_operator_only(live: Live) -> None:
    ab = live.engine.ab_tests
    test = ab.create_test("sizing", min_samples=2)
    for i in range(10):
        ab.record_result(test.test_id, "control", 0.01 * (i % 3 - 1))
        ab.record_result(test.test_id, "treatment", 0.01 * (i % 3))
    with httpx.Client(base_url=live.url) as c:
        listed = _get(c, "/v1/ab-tests")["items"]
        shown = _get(c, f"/v1/ab-tests/{test.test_id}")
        assert shown in listed
        assert [v["n"] for v in shown["stats"]] == [10, 10] and shown["status"] == "running"
        for tok in ("tok-reader", "tok-writer", "tok-approver"):
            r = c.post(f"/v1/ab-tests/{test.test_id}/stop", json={"reason": "x"},
                       headers=bearer(tok))
            assert r.status_code == 403
        assert _get(c, f"/v1/ab-tests/{test.test_id}")["status"] == "running"
        r = c.post(f"/v1/ab-tests/{test.test_id}/stop", json={"reason": "enough"},
                   headers=bearer("tok-operator"))
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "stopped" and "olga" in r.json()["stop_reason"]
        r = c.post(f"/v1/ab-tests/{test.test_id}/stop", json={"reason": "again"},
                   headers=bearer("tok-operator"))
        assert r.status_code == 422
        assert _get(c, "/v1/ab-tests?status=running")["total"] == 0
        r = c.get("/v1/ab-tests/none", headers=bearer("tok-reader"))
        assert r.status_code == 404
