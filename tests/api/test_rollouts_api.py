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


def test_ab_tests_created_assigned_and_recorded_over_http(live: Live) -> None:
    def count() -> int:
        return len(live.engine.ab_tests.tests)

    body = {"name": "stops", "variants": ["tight", "wide"], "min_samples": 2}
    with httpx.Client(base_url=live.url) as c:
        before = count()
        for tok in ("tok-reader", "tok-writer", "tok-approver"):
            assert c.post("/v1/ab-tests", json=body, headers=bearer(tok)).status_code == 403
        assert c.post("/v1/ab-tests", json=body).status_code == 401
        for bad, field in (({"weights": [0.7, 0.2]}, "weights"),
                           ({"variants": ["only"]}, "variants"),
                           ({"max_samples": 3}, "max_samples"),
                           ({"design_samples": 0}, "design_samples")):
            r = c.post("/v1/ab-tests", json={**body, **bad}, headers=bearer("tok-operator"))
            assert r.status_code == 422, r.text
            assert r.json()["errors"][0]["field"] == field
        assert count() == before  # nothing refused was created

        r = c.post("/v1/ab-tests", json=body, headers=bearer("tok-operator"))
        assert r.status_code == 201, r.text
        t = r.json()
        tid = t["test_id"]
        assert (t["name"], t["variants"], t["weights"], t["status"]) == (
            "stops", ["tight", "wide"], [0.5, 0.5], "running")
        assert [(v["n"], v["mean"]) for v in t["stats"]] == [(0, None), (0, None)]

        # assignment: sticky, the library's own answer. The test id is random, so 40 keys:
        # all in one arm of a 50/50 split has probability 2 ** -39 (6 keys left it at 3 %).
        seen = set()
        for key in (f"acct-{i}" for i in range(40)):
            a = _get(c, f"/v1/ab-tests/{tid}/variant?key={key}")
            assert a == {"test_id": tid, "key": key,
                         "variant": live.engine.ab_tests.get_variant(tid, key)}
            assert _get(c, f"/v1/ab-tests/{tid}/variant?key={key}") == a
            seen.add(a["variant"])
        assert seen == {"tight", "wide"}
        assert c.get(f"/v1/ab-tests/{tid}/variant",
                     headers=bearer("tok-reader")).status_code == 422  # no key

        # results: writers only, all or none
        good = [{"variant": "tight", "value": v} for v in (0.01, -0.02, 0.03)] + \
               [{"variant": "wide", "value": v} for v in (0.02, 0.04, -0.01)]
        r = c.post(f"/v1/ab-tests/{tid}/results", json={"results": good},
                   headers=bearer("tok-reader"))
        assert r.status_code == 403
        mixed = [good[0], {"variant": "loose", "value": 1.0}, good[1]]
        r = c.post(f"/v1/ab-tests/{tid}/results", json={"results": mixed},
                   headers=bearer("tok-writer"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "results.1.variant"
        r = c.post(f"/v1/ab-tests/{tid}/results",
                   json={"results": [{"variant": "tight", "value": "x"}]},
                   headers=bearer("tok-writer"))
        assert r.status_code == 422
        assert [v["n"] for v in _get(c, f"/v1/ab-tests/{tid}")["stats"]] == [0, 0]
        r = c.post(f"/v1/ab-tests/{tid}/results", json={"results": good},
                   headers=bearer("tok-writer"))
        assert r.status_code == 200, r.text
        stats = {v["variant"]: v for v in r.json()["stats"]}
        assert (stats["tight"]["n"], stats["wide"]["n"]) == (3, 3)
        assert abs(stats["tight"]["mean"] - 0.02 / 3) < 1e-12
        assert abs(stats["wide"]["win_rate"] - 2 / 3) < 1e-12

        # a stopped test takes no more results; an unknown one is a 404
        r = c.post(f"/v1/ab-tests/{tid}/stop", json={"reason": "done"},
                   headers=bearer("tok-operator"))
        assert r.status_code == 200
        r = c.post(f"/v1/ab-tests/{tid}/results", json={"results": good[:1]},
                   headers=bearer("tok-writer"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "test_id"
        for path in ("/v1/ab-tests/none/variant?key=a",):
            assert c.get(path, headers=bearer("tok-reader")).status_code == 404
        r = c.post("/v1/ab-tests/none/results", json={"results": good[:1]},
                   headers=bearer("tok-writer"))
        assert r.status_code == 404

        audit = c.get("/v1/audit", params={"limit": 500}, headers=bearer("tok-reader")).json()
        acts = {(a["actor"], a["action"], a["target"]) for a in audit}
        assert ("olga", "ab.create", tid) in acts and ("olga", "ab.stop", tid) in acts
        assert ("olga", "api.post", "/v1/ab-tests") in acts


def test_an_ab_test_with_three_variants_reports_each_treatment(live: Live) -> None:
    body = {"name": "sizing3", "variants": ["flat", "half", "kelly"], "min_samples": 2}
    with httpx.Client(base_url=live.url) as c:
        r = c.post("/v1/ab-tests", json=body, headers=bearer("tok-operator"))
        assert r.status_code == 201, r.text
        tid = r.json()["test_id"]
        rows = [{"variant": v, "value": x} for x in (0.01, -0.02, 0.03, 0.02)
                for v in ("flat", "half", "kelly")]
        r = c.post(f"/v1/ab-tests/{tid}/results", json={"results": rows},
                   headers=bearer("tok-writer"))
        assert r.status_code == 200, r.text
        t = r.json()
        assert [x["variant"] for x in t["comparisons"]] == ["half", "kelly"]
        assert all(abs(x["alpha"] - 0.025) < 1e-12 for x in t["comparisons"])
        assert t["leading"] in ("half", "kelly") and t["decision"] == "continue"
        lead = next(x for x in t["comparisons"] if x["variant"] == t["leading"])
        assert (t["difference"], t["lift"]) == (lead["difference"], lead["lift"])
        assert [v["n"] for v in t["stats"]] == [4, 4, 4]
