"""The loop's state (drift alerts and baselines, retraining triggers, promotion requests,
rollouts, A/B tests) is read from the store alone by the CLI's in-process reads: the JSON a
server sends, without opening the full engine (MLflow, scipy, the router)."""

from __future__ import annotations

import random
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordinis.engines.learning import EngineReader, LearningEngineConfig, NotFoundError
from ordinis.engines.learning.api.local import answer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from server_helpers import live_server, seed_rollout


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The data dir's SQLite file, or a PostgreSQL schema of the test's own (dropped after)."""
    if request.param == "sqlite":
        yield None
        return
    import psycopg

    pg: str = request.getfixturevalue("pg_url")
    schema = f"t_loop_{uuid.uuid4().hex[:12]}"
    yield f"{pg}?schema={schema}"
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_loop_state_read_from_the_store_is_what_the_server_sends(
    tmp_path: Path, store_url: str | None
) -> None:
    data = tmp_path / "learning"
    with live_server(data, store_url=store_url, approval="manual", auto_retrain_enabled=False,
                     require_eval_pass=False) as live:
        eng = live.engine
        seed_rollout(live, "cro")  # a shadow rollout and an approved promotion request
        ab = eng.ab_tests.create_test("sizing", variants=("flat", "kelly"), min_samples=2)
        rng = random.Random(7)
        eng.ab_tests.record_results(ab.test_id, [
            (v, rng.gauss(0.1 if v == "kelly" else 0.0, 1.0), None)
            for v in ("flat", "kelly") * 30])
        eng.set_baseline("cro", {"sharpe": 1.2, "win_rate": 0.55})
        eng.set_baseline("desk-model", {"sharpe": 0.9})  # checked here, registered elsewhere
        assert eng.check_drift("cro", {"sharpe": -0.5, "win_rate": 0.40})  # alerts, stored
        trigger = live.call(eng.trigger_retraining("cro", "desk asked", wait=False))
        rollout_started = eng.get_rollout("cro").started_at.isoformat()

        queries: list[tuple[str, dict[str, Any]]] = [
            ("/v1/drift/alerts", {}), ("/v1/drift/alerts", {"model_name": "cro", "limit": 1}),
            ("/v1/drift/alerts", {"start": rollout_started}),
            ("/v1/drift/alerts", {"model_name": "nope"}),
            ("/v1/drift/baselines", {}), ("/v1/drift/baselines/cro", {}),
            ("/v1/triggers", {}), ("/v1/triggers", {"model_name": "cro"}),
            (f"/v1/triggers/{trigger.trigger_id}", {}),
            ("/v1/promotions", {}), ("/v1/promotions", {"pending": True}),
            ("/v1/promotions", {"model_name": "cro", "pending": "false"}),
            ("/v1/rollouts", {}), ("/v1/rollouts", {"active": True}),
            ("/v1/rollouts", {"active": "false"}), ("/v1/rollouts/cro", {}),
            ("/v1/ab-tests", {}), ("/v1/ab-tests", {"status": "stopped"}),
            (f"/v1/ab-tests/{ab.test_id}", {}),
        ]
        requests = [r["request_id"] for r in answer_of(live.url, "/v1/promotions")["items"]]
        queries.append((f"/v1/promotions/{requests[0]}", {}))
        headers = {"Authorization": "Bearer tok-reader"}
        cfg = LearningEngineConfig.create(data_dir=data, store_url=store_url)
        with EngineReader(cfg) as reader, httpx.Client(base_url=live.url, headers=headers) as http:
            for path, params in queries:
                served = http.get(path, params=params)
                assert served.status_code == 200, (path, served.text)
                assert answer(reader, path, params) == served.json(), (path, params)
            # the pages hold what was made, so the comparison above compared something
            assert answer(reader, "/v1/drift/alerts", {})["total"] >= 2
            assert answer(reader, "/v1/drift/baselines", {}) == {
                "cro": {"sharpe": 1.2, "win_rate": 0.55}, "desk-model": {"sharpe": 0.9}}
            assert answer(reader, "/v1/rollouts", {"active": True})["total"] == 1
            assert answer(reader, "/v1/rollouts", {"active": False})["total"] == 0
            (abt,) = answer(reader, "/v1/ab-tests", {})["items"]
            assert sum(v["n"] for v in abt["stats"]) == 60
            mine = [t for t in answer(reader, "/v1/triggers", {})["items"]
                    if t["trigger_id"] == trigger.trigger_id]
            assert [t["reason"] for t in mine] == [trigger.reason]
            # what a server refuses, the store's reads refuse with the same kind of error
            for path, params, status in (
                ("/v1/rollouts/nope", {}, 404), ("/v1/ab-tests/nope", {}, 404),
                ("/v1/triggers/nope", {}, 404), ("/v1/drift/baselines/nope", {}, 404),
                ("/v1/promotions/nope", {}, 404), ("/v1/rollouts", {"active": "maybe"}, 422),
                ("/v1/drift/alerts", {"start": "soon"}, 422),
            ):
                assert http.get(path, params=params).status_code == status, path
                with pytest.raises(Exception) as err:
                    answer(reader, path, params)
                assert type(err.value).__name__ in ("NotFoundError", "ValidationError"), path
            with pytest.raises(NotFoundError, match="never had a rollout"):
                answer(reader, "/v1/rollouts/nope", {})


def answer_of(url: str, path: str) -> Any:
    return httpx.get(url + path, headers={"Authorization": "Bearer tok-reader"}).json()
