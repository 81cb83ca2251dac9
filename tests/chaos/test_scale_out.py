"""The scale-out configuration, for real: a PostgreSQL event store, an MLflow tracking server
(``mlflow server`` on loopback, backed by PostgreSQL, artifacts served from a temp dir), a local
Ray cluster and two engines sharing the store, one of them the leader.

The loop runs on the leader (train on Ray, register in the server, evaluate, promote); the
follower ingests beside it; when the leader goes the follower takes over, loads the production
model from the server (hashes verified) and retrains through the loop's manual trigger.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from ownership_helpers import engine_config

from ordinis.engines.learning import LearningEngine, ModelStage, SimulatedClock, TrainingStatus
from ordinis.engines.learning.core.errors import NotLeaderError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.features.bar_features import FEATURE_NAMES

pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.postgres]
MODEL = "scale"
DAY0 = datetime(2015, 1, 5, tzinfo=UTC)
# what a training task of this test imports ("signal" trainer, "logistic" algorithm)
WARM_MODULES = (
    "ordinis.engines.learning.training.execution",
    "ordinis.engines.learning.training.signal_trainer",
    "sklearn.linear_model",
    "sklearn.pipeline",
)
LOOSE_GATES = """
name: scale-loose
default:
  gates:
    - {name: max_drawdown, metric: max_drawdown, type: safety, comparison: lte, threshold: 1.0}
"""


def _require_postgres() -> str:
    """The PostgreSQL test server; absent: a failure in CI, a skip elsewhere."""
    url = os.environ.get("ORDINIS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        with psycopg.connect(url, connect_timeout=3):
            return url
    except psycopg.Error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but {url} is not reachable")
        pytest.skip(f"PostgreSQL not reachable at {url}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on loopback (PostgreSQL backend store of its own, artifacts served
    from a temp dir) and a local Ray cluster, started side by side; yields the tracking URI."""
    ray = pytest.importorskip("ray")
    pg_url = _require_postgres()
    db = f"ordinis_mlflow_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    port = _free_port()
    artifacts = tmp_path_factory.mktemp("mlflow-artifacts")
    backend = pg_url.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
    log = (artifacts / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"{backend}/{db}",
         "--serve-artifacts", "--artifacts-destination", str(artifacts / "store"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT,
        # no job runner: it serves GenAI scorers this test never calls, and its extra process
        # (importing MLflow beside the server's) slowed start-up and took ~20 s to terminate
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # while MLflow boots; one CPU: one training job runs at a time (max_concurrent_jobs=1),
        # so Ray prestarts one worker process, not one per core
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
        # the worker imports the trainer's libraries while MLflow is still booting, as the
        # warm workers of a long-lived cluster have (the first job then trains, not imports)
        # (a lambda: Ray ships it by value; this test module is not importable in the worker)
        warm = ray.remote(lambda names: len([importlib.import_module(n) for n in names])).remote(
            WARM_MODULES)
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start; see {log.name}")
            time.sleep(0.25)
        ray.get(warm, timeout=300)
        yield url
    finally:
        if ray.is_initialized():
            ray.shutdown()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _history(seed: int, source: str, n_days: int, first_day: int = 0) -> list[LearningEvent]:
    """Signal events whose outcome leans on the first feature (a learnable edge)."""
    rng = np.random.default_rng(seed)
    out = []
    for d in range(first_day, first_day + n_days):
        for sym in ("AAA", "BBB", "CCC"):
            x = rng.normal(size=len(FEATURE_NAMES))
            y = 0.004 * np.sign(x[0]) + rng.normal(scale=0.01)
            out.append(LearningEvent(
                EventType.SIGNAL_GENERATED, source, symbol=sym,
                timestamp=DAY0 + timedelta(days=d),
                payload={"features": dict(zip(FEATURE_NAMES, map(float, x), strict=True))},
                outcome=float(y),
            ))
    return out


async def test_two_engines_share_postgres_mlflow_server_and_ray(
    services: str, pg_url: str, tmp_path: Path
) -> None:
    mlflow_server = services
    gates = tmp_path / "gates.yaml"
    gates.write_text(LOOSE_GATES)
    schema = f"t_scale_{uuid.uuid4().hex[:10]}"
    now = DAY0 + timedelta(days=400)
    engines = []
    for name in ("a", "b"):
        cfg = engine_config(
            tmp_path / name, store_url=f"{pg_url}?schema={schema}",
            mlflow_tracking_uri=mlflow_server, training_backend="ray",
            min_samples_for_training=200, require_eval_pass=False,
        )
        eng = LearningEngine(cfg, clock=SimulatedClock(now))
        await eng.initialize()
        engines.append(eng)
    a, b = engines
    try:
        assert (a.role, b.role) == ("leader", "follower")
        # both ingest: each engine records half of the history into the one store
        for ev in _history(1, "engine_a", 200):
            a.record_event(ev)
        for ev in _history(2, "engine_b", 200):
            b.record_event(ev)
        await asyncio.gather(a.flush_events(), b.flush_events())
        assert len(a.get_events(EventType.SIGNAL_GENERATED, limit=None)) == 1200

        # the leader runs the loop: train on Ray, register in the server, evaluate, promote
        with pytest.raises(NotLeaderError):
            await b.submit_training_job(MODEL, "signal", {"algorithm": "logistic"})
        job = await a.submit_training_job(MODEL, "signal", {"algorithm": "logistic"})
        job = await a.wait_for_training_job(job.job_id, timeout=120)
        assert job.status is TrainingStatus.COMPLETED, job.error_message
        v1 = job.model_version_id
        assert v1 == f"{MODEL}:v1"
        result = await a.evaluate_model(v1, ["pack_01_bull"], gate_set=str(gates))
        assert a.get_evaluations(v1)[-1].evaluation_id == result.evaluation_id  # leader ran it
        await a.promote_model(MODEL, v1, ModelStage.STAGING)
        await a.promote_model(MODEL, v1, ModelStage.PRODUCTION)

        # the leader leaves; the follower takes over and sees everything the leader did
        await a.shutdown()
        assert await b.check_leadership() is True and b.role == "leader"
        prod = b.get_production_model(MODEL)
        assert prod is not None and prod.version_id == v1
        model = b.load_model(v1)  # downloaded from the server, SHA-256 checked
        assert hasattr(model, "predict")
        for ev in _history(3, "engine_b", 89, first_day=311):  # new data since the last train
            b.record_event(ev)
        await b.flush_events()
        trigger = await b.trigger_retraining(MODEL, "failover drill")
        await b.drain()
        trigger = b.get_retraining_trigger(trigger.trigger_id) or trigger
        assert trigger.job_id is not None, (trigger.status, trigger.safeguard,
                                            trigger.refusal_reason)
        job2 = await b.wait_for_training_job(trigger.job_id, timeout=120)
        assert job2.status is TrainingStatus.COMPLETED, job2.error_message
        assert job2.model_version_id == f"{MODEL}:v2"  # numbered store-wide, never v1 twice

        import mlflow

        client = mlflow.MlflowClient(tracking_uri=mlflow_server)
        tags = sorted(v.tags.get("version", "")
                      for v in client.search_model_versions(f"name='{MODEL}'"))
        assert tags == ["v1", "v2"]
    finally:
        for eng in engines:
            await eng.shutdown()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
