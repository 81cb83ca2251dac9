"""Durable event throughput of the public pipeline vs raw and naive SQLite; record() latency.

Run: ``python benchmarks/event_throughput.py [--events N] [--repeats R]``

(a) public path: EventPipeline (default LearningEngineConfig) + SQLiteEventStore; ``record()``
    every event (falling back to ``await record_async()`` when the 10k buffer is full, the
    documented backpressure pattern), then ``await flush()``: events/s until committed.
(b) raw limit: one ``sqlite3.executemany`` of the same pre-serialised rows into the same
    schema, in one transaction.
(c) naive: one INSERT + COMMIT per event (smaller N, reported as events/s).
(d) ``record()`` latency: perf_counter_ns around each call, buffer large enough to never fill.

Each throughput figure is the best of ``--repeats`` runs on fresh files in a temp dir (the
disk of a shared VM is noisy; best-of applies to every path alike). The last line is
``RESULT events_per_s=... ratio_to_raw=... ratio_to_naive=... record_p99_us=...``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ordinis.engines.learning.core.clock import SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import BufferFullError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.pipeline import EventPipeline
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventRow
from ordinis.engines.learning.observability.metrics import LearningMetrics

SYMBOLS = ("AAPL", "MSFT", "AMZN", "GOOGL", "NVDA", "JPM", "XOM", "JNJ", "PG", "KO", "BAC", "WMT")
FEATURES = ("ret_1", "ret_5", "ret_20", "vol_20", "rsi_14", "macd", "volume_z", "range_pct")
STRATEGIES = ("momentum", "mean_reversion", "breakout")


def make_events(n: int, seed: int = 7) -> list[LearningEvent]:
    """Signal events as the signal engine emits them: 8 float features, labels, an outcome."""
    rng = random.Random(seed)
    t0 = datetime(2020, 1, 2, 14, 30, tzinfo=UTC)
    out = []
    for i in range(n):
        payload: dict[str, object] = {f: rng.gauss(0.0, 1.0) for f in FEATURES}
        payload["direction"] = "long" if rng.random() < 0.55 else "short"
        payload["confidence"] = rng.random()
        out.append(
            LearningEvent(
                event_type=EventType.SIGNAL_GENERATED,
                source_engine="signal_engine",
                symbol=rng.choice(SYMBOLS),
                timestamp=t0 + timedelta(milliseconds=37 * i),
                payload=payload,
                labels={"strategy": rng.choice(STRATEGIES), "model": "lgbm_v3"},
                outcome=rng.gauss(0.0, 0.01),
            )
        )
    return out


async def public_path(events: list[LearningEvent], path: Path) -> float:
    """Seconds to record every event and have the store commit them all."""
    store = SQLiteEventStore(f"sqlite:///{path}")
    store.open()
    pipeline = EventPipeline(store, LearningEngineConfig(data_dir=path.parent), SystemClock(),
                             LearningMetrics())
    await pipeline.start()
    record, record_async = pipeline.record, pipeline.record_async
    t0 = time.perf_counter()
    for ev in events:
        try:
            record(ev)
        except BufferFullError:
            await record_async(ev)
    await pipeline.flush()
    elapsed = time.perf_counter() - t0
    await pipeline.stop()
    stored = store.count_events()
    store.close()
    if stored != len(events):
        raise SystemExit(f"public path stored {stored} of {len(events)} events")
    return elapsed


def _fresh_store(path: Path) -> sqlite3.Connection:
    store = SQLiteEventStore(f"sqlite:///{path}")
    store.open()  # creates the same schema and pragmas as the pipeline's store
    store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


_INSERT = (
    "INSERT OR IGNORE INTO events (event_id, event_type, source_engine, symbol, ts_us, payload, "
    "labels, outcome) VALUES (?,?,?,?,?,?,?,?)"
)


def raw_path(rows: list[EventRow], path: Path) -> float:
    """Seconds for one executemany of pre-serialised rows in one transaction."""
    conn = _fresh_store(path)
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(_INSERT, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def naive_path(rows: list[EventRow], path: Path) -> float:
    """Seconds for one INSERT + COMMIT per event."""
    conn = _fresh_store(path)
    t0 = time.perf_counter()
    for row in rows:
        conn.execute("BEGIN")
        conn.execute(_INSERT, row)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def record_latency(events: list[LearningEvent], path: Path) -> tuple[float, float, float]:
    """p50, p99, p99.9 of record() in µs, with a buffer that never fills (no flusher running)."""
    store = SQLiteEventStore(f"sqlite:///{path}")
    store.open()
    config = LearningEngineConfig(
        data_dir=path.parent, max_events_memory=len(events) + 1, flush_batch_size=len(events) + 1
    )
    pipeline = EventPipeline(store, config, SystemClock(), LearningMetrics())
    record = pipeline.record
    clock = time.perf_counter_ns
    samples = []
    append = samples.append
    for ev in events:
        t0 = clock()
        record(ev)
        append(clock() - t0)
    store.close()
    samples.sort()
    n = len(samples)
    return (samples[n // 2] / 1000, samples[int(n * 0.99)] / 1000, samples[int(n * 0.999)] / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--naive-events", type=int, default=3_000)
    parser.add_argument("--latency-calls", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"building {args.events} signal events ...", flush=True)
    # fresh events (fresh ids) for every run of the public path, built before timing
    runs = [make_events(args.events, seed=100 + r) for r in range(args.repeats)]
    rows = [encode_event(ev, 64 * 1024) for ev in runs[0]]
    latency_events = make_events(args.latency_calls, seed=3)
    # The pre-built events stand in for objects a producer would create and drop at once;
    # freezing them keeps the GC from rescanning this harness-only heap during the runs.
    gc.collect()
    gc.freeze()
    with tempfile.TemporaryDirectory(prefix="ordinis-bench-") as tmp:
        d = Path(tmp)
        public, raw = [], []
        for r in range(args.repeats):
            public.append(asyncio.run(public_path(runs[r], d / f"public{r}.db")))
            raw.append(raw_path(rows, d / f"raw{r}.db"))
            print(f"  run {r}: public {args.events / public[-1]:,.0f} ev/s, "
                  f"raw {args.events / raw[-1]:,.0f} ev/s", flush=True)
        naive = naive_path(rows[: args.naive_events], d / "naive.db")
        p50, p99, p999 = record_latency(latency_events, d / "lat.db")

    events_per_s = args.events / min(public)
    raw_per_s = args.events / min(raw)
    naive_per_s = args.naive_events / naive
    print(f"public path (record + flush, durable): {events_per_s:>12,.0f} events/s "
          f"(median {args.events / statistics.median(public):,.0f})")
    print(f"raw executemany, one transaction:      {raw_per_s:>12,.0f} events/s "
          f"(median {args.events / statistics.median(raw):,.0f})")
    print(f"naive insert+commit per event:         {naive_per_s:>12,.0f} events/s")
    print(f"record() latency: p50 {p50:.2f} µs, p99 {p99:.2f} µs, p99.9 {p999:.2f} µs")
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}")
    print(
        f"RESULT events_per_s={events_per_s:.0f} ratio_to_raw={events_per_s / raw_per_s:.2f} "
        f"ratio_to_naive={events_per_s / naive_per_s:.1f} record_p99_us={p99:.2f}"
    )


if __name__ == "__main__":
    main()
