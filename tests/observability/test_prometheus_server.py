"""A real Prometheus server (Debian's binary) scrapes the engine while a short replay runs.

Prometheus on loopback with a temporary storage directory and a 1 s scrape interval; the engine
serves its own endpoint (``metrics_port=0``). The replay records events (some invalid), trips a
breaker and raises a drift alert on a simulated clock; the test then asks Prometheus' HTTP API
whether the series exist, whether the counters equal what the engine did, and whether the alert
rules loaded (CircuitBreakerOpen pending for the tripped breaker).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from obs_helpers import DEPLOY

from ordinis.engines.learning import (
    EventType,
    LearningEngine,
    LearningEngineConfig,
    LearningEvent,
    SimulatedClock,
)
from ordinis.engines.learning.core.errors import InvalidEventError

N_EVENTS = 300
N_INVALID = 3
SCRAPE = "1s"
DEADLINE_SECONDS = 15.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


class Prometheus:
    """The HTTP API of the server under test."""

    def __init__(self, base: str) -> None:
        self.base = base

    def query(self, expr: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"query": expr})
        body = _get(f"{self.base}/api/v1/query?{q}")
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return None if not result else float(result[0]["value"][1])

    def wait_for(self, expr: str, expected: float) -> None:
        """Poll (real time: the server scrapes every second) until ``expr`` equals ``expected``."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        got = None
        while time.monotonic() < deadline:
            got = self.value(expr)
            if got == expected:
                return
            time.sleep(0.25)
        raise AssertionError(f"{expr} = {got}, expected {expected} within {DEADLINE_SECONDS} s")


@pytest.fixture
def prometheus_factory(
    prometheus_bin: str, tmp_path: Path
) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(target_port: int) -> Prometheus:
        port = _free_port()
        config = {
            "global": {"scrape_interval": SCRAPE, "evaluation_interval": SCRAPE},
            "rule_files": [str(DEPLOY / "prometheus" / "alerts.yaml")],
            "scrape_configs": [
                {"job_name": "learning",
                 "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}
            ],
        }
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(yaml.safe_dump(config))
        log = (tmp_path / "prometheus.log").open("wb")
        proc = subprocess.Popen(
            [prometheus_bin, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return Prometheus(base)
            except OSError:
                time.sleep(0.2)
        raise AssertionError("prometheus did not become ready: "
                             + (tmp_path / "prometheus.log").read_text()[-2000:])

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _events(clock: SimulatedClock) -> list[LearningEvent]:
    start = clock.now() - timedelta(minutes=N_EVENTS)
    return [
        LearningEvent(
            EventType.SIGNAL_GENERATED if i % 3 else EventType.ORDER_FILLED,
            "signal" if i % 3 else "execution",
            symbol="AAPL",
            timestamp=start + timedelta(minutes=i),
            payload={"i": i},
        )
        for i in range(N_EVENTS)
    ]


async def test_prometheus_scrapes_the_engine_during_a_replay(
    data_dir: Path, prometheus_factory: Any
) -> None:
    clock = SimulatedClock(datetime(2024, 3, 1, 14, tzinfo=UTC))
    metrics_port = _free_port()
    config = LearningEngineConfig.create(
        data_dir=data_dir, metrics_port=metrics_port, loop_lag_probe_seconds=0.2,
        max_payload_bytes=1024,
    )
    prom = prometheus_factory(metrics_port)  # starts before the engine; first scrapes fail
    async with LearningEngine(config, clock=clock) as engine:
        assert engine.telemetry.metrics_url == f"http://127.0.0.1:{metrics_port}/metrics"
        # the replay: events (a few invalid), a manual breaker trip, one drift alert
        events = _events(clock)
        for ev in events:
            engine.record_event(ev)
        for _ in range(N_INVALID):
            with pytest.raises(InvalidEventError):
                engine.record_event(LearningEvent(
                    EventType.SIGNAL_GENERATED, "signal", symbol="AAPL",
                    timestamp=clock.now(), payload={"blob": "x" * 4096},
                ))
        await engine.flush_events()
        assert engine.breakers.trip("execution", "replay: broker desync", by="ops")
        engine.set_baseline("alpha", {"sharpe": 1.5})
        assert len(engine.check_drift("alpha", {"sharpe": -1.0})) == 1
        await engine.drain()
        await engine.flush_events()
        fills = sum(1 for e in events if e.event_type is EventType.ORDER_FILLED)

        # the counters in Prometheus equal what the engine did (a scrape every second)
        await asyncio.to_thread(
            prom.wait_for,
            'sum(learning_events_total{job="learning",status="stored"})', float(N_EVENTS),
        )
        assert prom.value('up{job="learning"}') == 1
        assert prom.value(
            'learning_events_total{event_type="order_filled",source_engine="execution",'
            'status="stored"}'
        ) == fills
        assert prom.value('sum(learning_events_total{status="rejected"})') == N_INVALID
        assert prom.value('circuit_breaker_state{engine="execution"}') == 1  # open
        assert prom.value('circuit_breaker_state{engine="signal"}') == 0
        assert prom.value(
            'circuit_breaker_trips_total{engine="execution",error_type="manual"}'
        ) == 1
        assert prom.value('sum(drift_alerts_total{model_name="alpha"})') == 1
        assert prom.value('learning_event_buffer_size{engine="learning"}') == 0
        assert prom.value(
            'sum(learning_event_processing_duration_seconds_count{event_type="order_filled"})'
        ) >= 1  # type: ignore[operator]
        assert prom.value("sum(learning_event_loop_lag_seconds_count)") >= 1  # type: ignore[operator]

        # the alert rules loaded, and the open breaker is pending (for: 1m)
        rules = _get(f"{prom.base}/api/v1/rules")["data"]["groups"]
        loaded = {r["name"]: r["health"] for g in rules for r in g["rules"]}
        with (DEPLOY / "prometheus" / "alerts.yaml").open() as f:
            expected = {r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]}
        assert set(loaded) == expected and set(loaded.values()) == {"ok"}

        def pending() -> list[dict[str, Any]]:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while time.monotonic() < deadline:
                alerts = _get(f"{prom.base}/api/v1/alerts")["data"]["alerts"]
                found = [a for a in alerts if a["labels"]["alertname"] == "CircuitBreakerOpen"]
                if found:
                    return found
                time.sleep(0.25)
            return []

        found = await asyncio.to_thread(pending)
        assert [(a["labels"]["engine"], a["state"]) for a in found] == [("execution", "pending")]
