"""Four eyes over HTTP: the requester's approval is refused, another approver's promotes."""

from __future__ import annotations

import httpx
from server_helpers import Live, bearer


def _seed(live: Live, version: str) -> str:
    """A registered version with a passed evaluation, in staging."""
    live.call(live.engine.register_model_version("fx", version, metrics={"sharpe": 1.2}))
    vid = f"fx:{version}"
    with httpx.Client(base_url=live.url, headers=bearer("tok-approver2")) as c:
        r = c.post(f"/v1/versions/{vid}/evaluations",
                   json={"metrics": {"sharpe": 1.2}, "thresholds": {"sharpe": 1.0}})
        assert r.status_code == 201, r.text
        assert r.json()["passed"] is True
        r = c.post(f"/v1/versions/{vid}/promote", json={"stage": "staging", "reason": "try"})
        assert r.status_code == 200, r.text
    return vid


def test_requester_cannot_approve_and_another_approver_promotes(live: Live) -> None:
    vid = _seed(live, "v1")
    with httpx.Client(base_url=live.url) as c:
        # the operator may not promote to production directly: approval is manual
        r = c.post(f"/v1/versions/{vid}/promote", json={"stage": "production"},
                   headers=bearer("tok-approver2"))
        assert r.status_code == 409
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert problem["policy"] == "approval_required"
        blockers = c.get(f"/v1/versions/{vid}/blockers", headers=bearer("tok-reader")).json()
        assert [b["policy"] for b in blockers] == ["approval_required"]

        r = c.post("/v1/promotions", json={"version_id": vid, "reason": "beats champion"},
                   headers=bearer("tok-approver2"))
        assert r.status_code == 201, r.text
        req = r.json()
        assert req["requested_by"] == "bert" and req["status"] == "pending"

        # the requester (also an approver) approving their own request: refused, nothing moves
        r = c.post(f"/v1/promotions/{req['request_id']}/approve", json={},
                   headers=bearer("tok-approver2"))
        assert r.status_code == 409
        assert "cannot approve" in r.json()["detail"]
        assert c.get(f"/v1/versions/{vid}", headers=bearer("tok-reader")).json()["stage"] == (
            "staging"
        )
        # a reader cannot approve at all
        r = c.post(f"/v1/promotions/{req['request_id']}/approve", json={},
                   headers=bearer("tok-reader"))
        assert r.status_code == 403

        r = c.post(f"/v1/promotions/{req['request_id']}/approve", json={"reason": "ok"},
                   headers=bearer("tok-approver"))
        assert r.status_code == 200, r.text
        assert r.json()["stage"] == "production"
        done = c.get(f"/v1/promotions/{req['request_id']}", headers=bearer("tok-reader")).json()
        assert done["status"] == "promoted" and done["decided_by"] == "anna"
        # an approved request cannot be approved again
        r = c.post(f"/v1/promotions/{req['request_id']}/approve", json={},
                   headers=bearer("tok-approver"))
        assert r.status_code == 422

        audit = c.get("/v1/audit", params={"limit": 200}, headers=bearer("tok-reader")).json()
        approvals = [(a["actor"], a["decision"]) for a in audit
                     if a["action"] == "promotion.approve"]
        assert approvals == [("bert", "deny"), ("anna", "allow")]
        promoted = [a for a in audit if a["action"] == "model.promote"
                    and a["target"] == vid and a["decision"] == "allow"]
        assert promoted[-1]["actor"] == "bert"  # the requester; the approver is in details
        # every successful mutating call is audited with the caller's identity
        calls = {(a["actor"], a["target"]) for a in audit if a["action"] == "api.post"}
        assert ("bert", "/v1/promotions") in calls
        assert ("anna", f"/v1/promotions/{req['request_id']}/approve") in calls
        assert ("bert", f"/v1/promotions/{req['request_id']}/approve") not in calls
