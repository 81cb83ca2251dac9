"""Batched event ingestion over loopback HTTP vs the in-process path, in the same run.

Run: ``python benchmarks/http_ingest.py [--events N] [--batch 1000] [--clients 4]``

(a) in-process: one LearningEngine, ``--clients`` tasks each calling
    ``await engine.record_events(batch, durable=True)`` (returns after commit).
(b) HTTP: ``ordinis-learning``'s app under uvicorn (httptools/uvloop when installed) in its own
    process on 127.0.0.1, bearer-token auth on; ``--clients`` concurrent keep-alive connections
    POST NDJSON batches to ``/v1/events/batch`` (durable: the reply comes after commit; each
    reply must say ``committed`` and count the batch). The load generator is a raw asyncio
    HTTP/1.1 client with every request encoded before timing (as wrk does: the benchmark
    measures the server; httpx cost ten times its CPU on the 2 cores the server uses). After
    the run the server's event count must equal what was sent (nothing acknowledged and lost).
    The server's and the generator's CPU per 1,000 events while timed are printed too (CPU
    time is steadier than wall time on a loaded machine).

Both on fresh SQLite stores; the machine is a shared 2-core VM, so figures are noisy. Last
line: ``RESULT http_events_per_s=... ratio_to_inprocess=... p99_batch_ms=...``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

from ordinis.engines.learning import EventType, LearningEngine, LearningEngineConfig, LearningEvent
from ordinis.engines.learning.api import hash_token

SYMBOLS = ("AAPL", "MSFT", "AMZN", "GOOGL", "NVDA", "JPM", "XOM", "JNJ")
TOKEN = "bench-token"
SERVER = """
import sys, uvicorn
from pathlib import Path
from ordinis.engines.learning import LearningEngine, LearningEngineConfig
from ordinis.engines.learning.api import create_app
from ordinis.engines.learning.api.auth import TokenBook
cfg = LearningEngineConfig.create(data_dir=Path(sys.argv[1]), auto_retrain_enabled=False)
app = create_app(LearningEngine(cfg), TokenBook.load())
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            access_log=False)
"""


def make_dicts(n: int, seed: int = 7) -> list[dict[str, object]]:
    """Signal events as a signal engine emits them: features, labels, an outcome."""
    rng = random.Random(seed)
    t0 = datetime(2020, 1, 2, 14, 30, tzinfo=UTC)
    return [
        {
            "event_type": "signal_generated",
            "source_engine": "signal",
            "symbol": rng.choice(SYMBOLS),
            "timestamp": (t0 + timedelta(seconds=i)).isoformat(),
            "payload": {f"f{k}": round(rng.gauss(0, 1), 6) for k in range(8)},
            "labels": {"strategy": "momentum"},
            "outcome": round(rng.gauss(0, 0.01), 6),
        }
        for i in range(n)
    ]


def to_events(dicts: list[dict[str, object]]) -> list[LearningEvent]:
    return [
        LearningEvent(
            EventType(str(d["event_type"])), str(d["source_engine"]), str(d["symbol"]),
            datetime.fromisoformat(str(d["timestamp"])), dict(d["payload"]),  # type: ignore[call-overload]
            dict(d["labels"]), float(d["outcome"]),  # type: ignore[arg-type, call-overload]
        )
        for d in dicts
    ]


async def in_process(
    dicts: list[dict[str, object]], batch: int, clients: int
) -> tuple[float, float]:
    """Events per second, and the process's CPU seconds per event while timed."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = LearningEngineConfig.create(data_dir=Path(tmp), auto_retrain_enabled=False)
        async with LearningEngine(cfg) as engine:
            events = to_events(dicts)
            batches = [events[i : i + batch] for i in range(0, len(events), batch)]
            queue = list(reversed(batches))

            async def worker() -> None:
                while queue:
                    await engine.record_events(queue.pop(), durable=True)

            cpu, t0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            elapsed = time.perf_counter() - t0
            cpu = time.process_time() - cpu
            assert engine.event_stats().total == len(events)
    return len(dicts) / elapsed, cpu / len(dicts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class KeepAliveClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: the load generator costs
    little, so the benchmark measures the server (as wrk does). Requests arrive as ready
    bytes; a reply is read by its Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> KeepAliveClient:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """(status, body) of one request/reply on this connection."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = next((int(line.split(b":", 1)[1]) for line in lines[1:]
                       if line[:15].lower() == b"content-length:"), None)
        if length is None:
            raise RuntimeError(f"reply without Content-Length: {head!r}")
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batch_request(port: int, body: bytes) -> bytes:
    """One ready-to-send POST of an NDJSON batch (durable: the reply comes after commit)."""
    return (
        f"POST /v1/events/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/x-ndjson\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("ascii") + body


async def over_http(
    dicts: list[dict[str, object]], batch: int, clients: int
) -> tuple[float, float, int, float, float]:
    chunks = [dicts[i : i + batch] for i in range(0, len(dicts), batch)]
    bodies = [b"\n".join(orjson.dumps(d) for d in chunk) for chunk in chunks]
    env = dict(os.environ)
    env["ORDINIS_LEARNING_TOKENS"] = json.dumps(
        {hash_token(TOKEN): {"identity": "bench", "roles": ["writer", "reader"]}}
    )
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        requests = [(batch_request(port, b), len(c)) for b, c in zip(bodies, chunks, strict=True)]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVER, tmp, str(port), env=env
        )
        try:
            async with httpx.AsyncClient(base_url=url, timeout=120) as client:
                for _ in range(600):
                    try:
                        if (await client.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                conns = [await KeepAliveClient.open(port) for _ in range(clients)]
                # warm-up batch (connection, first commit), not timed
                status, reply = await conns[0].send(requests[0][0])
                assert status == 201, reply
                queue = list(reversed(requests[1:]))
                latencies: list[float] = []

                async def worker(conn: KeepAliveClient) -> None:
                    while queue:
                        request, n = queue.pop()
                        t = time.perf_counter()
                        status, reply = await conn.send(request)
                        latencies.append(time.perf_counter() - t)
                        assert status == 201, reply
                        doc = orjson.loads(reply)
                        assert doc["committed"] is True and doc["accepted"] == n, doc

                server_cpu, client_cpu = cpu_seconds(proc.pid), time.process_time()
                t0 = time.perf_counter()
                await asyncio.gather(*(worker(c) for c in conns))
                elapsed = time.perf_counter() - t0
                server_cpu = cpu_seconds(proc.pid) - server_cpu
                client_cpu = time.process_time() - client_cpu
                for c in conns:
                    await c.close()
                headers = {"Authorization": f"Bearer {TOKEN}"}
                stats = (await client.get("/v1/events/stats", headers=headers)).json()
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 60)
    sent = len(dicts) - len(chunks[0])
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000
    per_k = 1000 / sent
    return sent / elapsed, p99, int(stats["total"]), server_cpu * per_k, client_cpu * per_k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    dicts = make_dicts(args.events)
    base, base_cpu = asyncio.run(in_process(dicts, args.batch, args.clients))
    print(f"in-process record_events(durable): {base:,.0f} events/s "
          f"({args.events:,} events, batches of {args.batch}, {args.clients} tasks; CPU "
          f"{base_cpu * 1e6:.1f} ms per 1,000 events)")
    http, p99, stored, server_cpu, client_cpu = asyncio.run(
        over_http(dicts, args.batch, args.clients))
    print(f"HTTP NDJSON /v1/events/batch (durable): {http:,.0f} events/s, p99 batch "
          f"{p99:.1f} ms, {args.clients} clients; server stored {stored:,} of {args.events:,}")
    print(f"CPU per 1,000 events while timed: server {server_cpu * 1000:.1f} ms, load "
          f"generator {client_cpu * 1000:.1f} ms (2 cores shared: ~2,000 ms/s in all)")
    if stored != args.events:
        raise SystemExit(f"acknowledged events missing: stored {stored} of {args.events}")
    print(f"RESULT http_events_per_s={http:.0f} ratio_to_inprocess={http / base:.3f} "
          f"p99_batch_ms={p99:.1f}")


if __name__ == "__main__":
    main()
