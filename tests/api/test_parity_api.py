"""A first production version through the service alone, with the production gates on: its
production verdict waits for parity; the operator gives the host's backtest and the staging
run's daily returns; the engine measures parity itself, and production opens only once it
passes. Readers may look but not write; bad input is refused naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from server_helpers import Live, bearer, live_server

from ordinis.engines.learning import ModelStage
from planted_edge import EDGE_WINDOW, MomentumRule, planted_edge_close


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data_dir = tmp_path_factory.mktemp("parity") / "learning"
    with live_server(data_dir, approval="auto", auto_retrain_enabled=False,
                     bootstrap_resamples=200) as srv:  # require_eval_pass: on (the default)
        yield srv


def test_a_first_production_version_gets_its_parity_through_the_service(strict: Live) -> None:
    engine = strict.engine
    engine.register_benchmark("planted_edge", planted_edge_close())
    vid = strict.call(engine.register_model_version(
        "edge", "v1", model=MomentumRule(), lineage=EDGE_WINDOW)).version_id
    strict.call(engine.promote_model("edge", vid, ModelStage.STAGING))
    backtest = np.random.default_rng(5).normal(0.002, 0.01, 400)
    with httpx.Client(base_url=strict.url, headers=bearer("tok-operator")) as op:
        r = op.post(f"/v1/versions/{vid}/evaluations", json={"benchmarks": ["planted_edge"]})
        assert r.status_code == 201 and not r.json()["passed"], r.text
        blockers = op.get(f"/v1/versions/{vid}/blockers").json()
        assert "waiting for live evidence (parity)" in blockers[0]["reason"]

        # no backtest yet: parity cannot be measured, and the error says how to give one
        r = op.post(f"/v1/versions/{vid}/parity", json={"returns": [0.001] * 30})
        assert r.status_code == 422 and "PUT /v1/versions/{id}/backtest" in r.text
        assert op.get(f"/v1/versions/{vid}/backtest").status_code == 404

        with httpx.Client(base_url=strict.url, headers=bearer("tok-reader")) as reader:
            r = reader.put(f"/v1/versions/{vid}/backtest", json={"returns": backtest.tolist()})
            assert r.status_code == 403
        r = op.put(f"/v1/versions/{vid}/backtest", json={"returns": [0.01] * 9})
        assert r.status_code == 422 and "returns" in r.text
        r = op.put(f"/v1/versions/{vid}/backtest",
                   json={"returns": [0.01] * 12, "times": ["2020-01-01T00:00:00Z"]})
        assert r.status_code == 422 and "one time per return" in r.text
        days = [f"2020-01-{d:02d}T00:00:00" for d in range(1, 13)]
        r = op.put(f"/v1/versions/{vid}/backtest",
                   json={"returns": [0.01] * 12, "times": days[::-1]})
        assert r.status_code == 422 and "record.returns.index" in r.text, r.text
        assert "sort by time and keep one return per period" in r.text
        assert op.get(f"/v1/versions/{vid}/backtest").status_code == 404  # nothing kept
        # a time without a zone is UTC; one with an offset is converted, mixing is fine
        zoned = [days[0], "2020-01-02T02:00:00+02:00", *days[2:]]
        r = op.put(f"/v1/versions/{vid}/backtest",
                   json={"returns": [0.01] * 12, "times": zoned})
        assert r.status_code == 200, r.text
        assert r.json()["first"].startswith("2020-01-01T00:00:00")

        r = op.put(f"/v1/versions/{vid}/backtest", json={"returns": backtest.tolist()})
        assert r.status_code == 200, r.text
        given = r.json()
        assert (given["source"], given["periods"], given["periods_per_year"]) == (
            "host", 400, 252.0)
        assert op.get(f"/v1/versions/{vid}/backtest").json() == given

        # a staging run that lost what the backtest made: parity fails, production stays shut
        r = op.post(f"/v1/versions/{vid}/parity", json={"returns": (-backtest).tolist()})
        assert r.status_code == 201, r.text
        failed = r.json()
        assert not failed["passed"] and failed["parity_ratio"] == pytest.approx(-1.0)
        assert failed["source"] == "olga"
        assert "parity" in op.get(f"/v1/versions/{vid}/blockers").json()[0]["reason"]
        r = op.post(f"/v1/versions/{vid}/promote", json={"stage": "production"})
        assert r.status_code == 409

        # the same days at half the size: the same Sharpe, parity passes and production opens
        r = op.post(f"/v1/versions/{vid}/parity", json={"returns": (0.5 * backtest).tolist()})
        assert r.status_code == 201, r.text
        passed = r.json()
        assert passed["passed"] and passed["parity_ratio"] == pytest.approx(1.0)
        assert {c["name"]: c["verdict"] for c in passed["checks"]} == {
            "sharpe_ratio": "PASS", "win_rate_diff": "PASS", "drawdown_ratio": "PASS"}
        assert op.get(f"/v1/versions/{vid}/blockers").json() == []
        r = op.post(f"/v1/versions/{vid}/promote", json={"stage": "production"})
        assert r.status_code == 200, r.text
    assert engine.get_production_model("edge").version_id == vid  # type: ignore[union-attr]
    parity = [r for r in engine.audit_records() if r.action == "model.parity"]
    assert [(r.actor, r.decision) for r in parity] == [("olga", "deny"), ("olga", "allow")]


def test_parity_of_an_unknown_version_is_a_404(strict: Live, tmp_path: Path) -> None:
    with httpx.Client(base_url=strict.url, headers=bearer("tok-operator")) as op:
        r = op.post("/v1/versions/edge:v9/parity", json={"returns": [0.001] * 30})
        assert r.status_code == 404 and "known versions" in r.text
        r = op.post("/v1/versions/edge:v1/parity", json={"returns": [0.001] * 3})
        assert r.status_code == 422 and "returns" in r.text
