"""Drift over HTTP: a check raises one alert per episode; the compare read says where each
metric stands inside the episode, for a reader, without alerting or auditing anything."""

from __future__ import annotations

import httpx
from server_helpers import Live, bearer


def test_compare_reads_where_metrics_stand_inside_an_open_episode(live: Live) -> None:
    with httpx.Client(base_url=live.url, headers=bearer("tok-operator")) as op:
        assert op.put("/v1/drift/baselines/omega", json={"metrics": {"sharpe": 1.5}}).is_success
        first = op.post("/v1/drift/check/omega", json={"metrics": {"sharpe": -1.0}}).json()
        assert [a["severity"] for a in first] == ["critical"]
        assert op.post("/v1/drift/check/omega", json={"metrics": {"sharpe": -1.0}}).json() == []
    with httpx.Client(base_url=live.url, headers=bearer("tok-reader")) as reader:
        r = reader.get("/v1/drift/compare/omega", params={"sharpe": "-1", "other": "2"})
        assert r.status_code == 200, r.text
        [sharpe] = r.json()  # 'other' has no baseline: left out
        assert (sharpe["metric"], sharpe["severity"], sharpe["episode_severity"]) == (
            "sharpe", "critical", "critical")
        assert sharpe["episode_opened_at"] == first[0]["detected_at"]
        r = reader.get("/v1/drift/compare/omega", params={"sharpe": "high", "win": "nan"})
        assert r.status_code == 422
        assert "sharpe='high': must be a finite number" in r.text and "win='nan'" in r.text
        r = reader.get("/v1/drift/compare/omega")
        assert r.status_code == 422 and "e.g. ?sharpe=0.4" in r.text
        assert reader.get("/v1/drift/compare/nobody", params={"sharpe": "1"}).status_code == 404
    # a read: nothing audited (a POST would have written api.post records for these paths)
    assert not [a for a in live.engine.audit_records() if "/drift/compare" in a.target]
    assert len(live.engine.get_drift_alerts("omega")) == 1
