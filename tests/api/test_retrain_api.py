"""An operator's retrain over HTTP: 202 with the pending trigger at once, the chain in the
background, the trigger followed to its end; readers may look but not ask."""

from __future__ import annotations

import time

import httpx
from server_helpers import Live, bearer


def test_an_operator_retrain_is_accepted_then_ends_with_the_safeguards_reason(
    live: Live,
) -> None:
    live.call(live.engine.register_model_version("rt", "v1", metrics={"sharpe": 1.0}))
    with httpx.Client(base_url=live.url, headers=bearer("tok-reader")) as reader:
        r = reader.post("/v1/models/rt/retrain", json={"reason": "peek"})
        assert r.status_code == 403
        assert reader.get("/v1/triggers", params={"model_name": "rt"}).json()["total"] == 0
    with httpx.Client(base_url=live.url, headers=bearer("tok-operator")) as op:
        r = op.post("/v1/models/rt/retrain", json={"reason": "weekly review"})
        assert r.status_code == 202, r.text
        trigger = r.json()
        assert trigger["reason"] == "weekly review (by olga)"
        assert trigger["trigger_type"] == "manual"
        deadline = time.monotonic() + 60
        while trigger["status"] not in ("refused", "failed", "gated_out", "promoted",
                                        "completed"):
            assert time.monotonic() < deadline, trigger
            time.sleep(0.1)
            trigger = op.get(f"/v1/triggers/{trigger['trigger_id']}").json()
        # the service's store holds no signal events: the sample safeguard refuses it
        assert (trigger["status"], trigger["safeguard"]) == ("refused", "min_samples")
        assert "needed (min_samples)" in trigger["refusal_reason"]
        listed = op.get("/v1/triggers", params={"model_name": "rt"}).json()
        assert [t["trigger_id"] for t in listed["items"]] == [trigger["trigger_id"]]

        r = op.post("/v1/models/nosuch/retrain", json={"reason": "typo"})
        assert r.status_code == 404 and "known models" in r.json()["detail"]
        r = op.post("/v1/models/rt/retrain", json={"reason": ""})
        assert r.status_code == 422
        r = op.get("/v1/triggers/no-such-trigger")
        assert r.status_code == 404 and "models retrains" in r.json()["detail"]
