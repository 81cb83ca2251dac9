"""Durable event throughput of the public path vs raw and naive writes; record() latency.

Run: ``python benchmarks/event_throughput.py [--store sqlite|postgresql] [--events N]
[--repeats R] [--no-engine] [--pg-url URL] [--engine-buffer N]``

With ``--store postgresql`` every path writes to PostgreSQL (a fresh schema per run): the
public path through the engine and the pipeline, and the raw limit as the fastest of three
COPYs of the same rows, built before the timing (no Python work per row is timed), each in
one transaction into the same schema (``json`` payload, ``jsonb`` labels): COPY text straight
into ``events`` (what the public path does while no id is stored yet; an id already stored
sends its batch the staging way), COPY binary straight into ``events``, and COPY text into
the staging table + ``INSERT ... SELECT ... ON CONFLICT (event_id) DO NOTHING`` with the
same ``::json``/``::jsonb`` casts. Naive: one INSERT + COMMIT per event.

(a) public path: a LearningEngine with the default config (SQLite store in a temp dir):
    ``engine.record_event()`` for every event (falling back to ``await
    engine.record_event_async()`` when the 10k buffer is full: the documented backpressure
    pattern), then ``await engine.flush_events()``: events/s until all are committed
    (timed after the engine's worker processes have warmed up, ``--engine-settle-seconds``).
    The same through a bare EventPipeline is reported too (the component, without the
    engine's other parts sharing the process).
(b) raw limit: one ``sqlite3.executemany`` of the same pre-serialised rows into the same
    schema, in one transaction (the issue's raw), and the store's own statement shape
    (4000-row INSERTs, one transaction); ``ratio_to_best_raw`` is against the faster one.
(c) naive: one INSERT + COMMIT per event (smaller N, reported as events/s).
(d) ``record()`` latency: perf_counter_ns around each call, buffer large enough to never
    fill; the best of 3 rounds (by p50, p99, p99.9 in that order).
(e) synchronous burst: ``--burst-events`` (default 3x the 10k buffer) ``record()`` calls in
    one synchronous loop that never yields to the event loop (the writer thread drains
    meanwhile; a full buffer blocks the producer for at most ``max_block_seconds``), then
    ``flush``: events/s until all are committed.
(f) metrics exposition on vs off (``--no-exposition`` skips it): the EventPipeline path again
    while its registry is served on a loopback ``/metrics`` endpoint (MetricsServer) and a
    scraper thread fetches it every ``--scrape-interval`` seconds, as Prometheus would;
    interleaved with (a)'s pipeline runs, best of ``--repeats`` each, reported as a ratio.

Each throughput figure is the best of ``--repeats`` runs on fresh files (the machine is a
shared 2-core VM; best-of applies to every path alike, and the CPU pressure during the run
is printed). The last line is
``RESULT events_per_s=... ratio_to_raw=... raw_path=... ratio_to_best_raw=... ratio_to_naive=...
record_p99_us=...`` followed by
the pipeline figures, the burst, ``paired_ratio_to_raw_median`` (each round's public time
against the raw time of the same round, the median over rounds: steadier under load than
the ratio of the two bests) and ``exposition_events_per_s=... exposition_ratio=... scrapes=...``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path

from ordinis.engines.learning.core.clock import SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import BufferFullError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.pipeline import EventPipeline
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventRow, EventStore
from ordinis.engines.learning.observability.exposition import MetricsServer
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


def _settle_disk() -> None:
    """Write back what earlier runs left dirty, so no run pays for another's data.

    On ext4 an fsync (a WAL checkpoint) also waits for other files' dirty pages; without this
    the run that follows 200 MB of unsynced raw-path writes measured up to 25% slower.
    """
    if hasattr(os, "sync"):
        os.sync()


def _open_store(path: Path, pg_url: str | None) -> EventStore:
    """A fresh store: SQLite at ``path``, or a new schema on the PostgreSQL server."""
    if pg_url is None:
        store: EventStore = SQLiteEventStore(f"sqlite:///{path}")
    else:
        from ordinis.engines.learning.events.postgres_store import PostgresEventStore

        store = PostgresEventStore(pg_url, schema=f"bench_{uuid.uuid4().hex[:10]}")
    store.open()
    return store


def _close_store(store: EventStore) -> None:
    drop = getattr(store, "drop_schema", None)
    if drop is not None:
        drop()
    store.close()


async def burst_path(events: list[LearningEvent], path: Path, pg_url: str | None) -> float:
    """Seconds for one synchronous loop of record() (larger than the buffer) plus a flush."""
    store = _open_store(path, pg_url)
    pipeline = EventPipeline(store, LearningEngineConfig(data_dir=path.parent), SystemClock(),
                             LearningMetrics())
    await pipeline.start()
    record = pipeline.record
    _settle_disk()
    t0 = time.perf_counter()
    for ev in events:  # never yields to the loop: only the writer thread can drain
        record(ev)
    await pipeline.flush(timeout=600)
    elapsed = time.perf_counter() - t0
    await pipeline.stop()
    stored = store.count_events()
    _close_store(store)
    if stored != len(events):
        raise SystemExit(f"burst stored {stored} of {len(events)} events")
    return elapsed


class Scraper:
    """Serves ``metrics`` on loopback and fetches ``/metrics`` every ``interval`` seconds."""

    last_render_ms: float = 0.0  # median time to render the last run's registry

    def __init__(self, metrics: LearningMetrics, interval: float) -> None:
        self.metrics = metrics
        self.server = MetricsServer(metrics.registry, "127.0.0.1", 0)
        self.interval = interval
        self.scrapes = 0
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-scraper", daemon=True)

    def start(self) -> None:
        self.server.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.stop()
        times = []
        for _ in range(51):  # what one scrape costs the process, on the filled registry
            t0 = time.perf_counter()
            self.metrics.render()
            times.append(time.perf_counter() - t0)
        Scraper.last_render_ms = statistics.median(times) * 1000

    def _run(self) -> None:
        while not self._stop.is_set():
            with urllib.request.urlopen(self.server.url, timeout=5) as resp:
                self.bytes = len(resp.read())
            self.scrapes += 1
            self._stop.wait(self.interval)  # wall pacing of the harness's scraper


async def public_path(
    events: list[LearningEvent],
    path: Path,
    scrape_interval: float | None = None,
    pg_url: str | None = None,
) -> tuple[float, int]:
    """Seconds to record every event and have the store commit them all, and the scrapes
    served meanwhile (``scrape_interval`` None: no endpoint, exposition off)."""
    store = _open_store(path, pg_url)
    metrics = LearningMetrics()
    pipeline = EventPipeline(store, LearningEngineConfig(data_dir=path.parent), SystemClock(),
                             metrics)
    scraper = Scraper(metrics, scrape_interval) if scrape_interval is not None else None
    await pipeline.start()
    if scraper is not None:
        scraper.start()
    record, record_async = pipeline.record, pipeline.record_async
    _settle_disk()
    t0 = time.perf_counter()
    for ev in events:
        try:
            record(ev)
        except BufferFullError:
            await record_async(ev)
    await pipeline.flush(timeout=600)
    elapsed = time.perf_counter() - t0
    scrapes = 0
    if scraper is not None:
        scraper.stop()
        scrapes = scraper.scrapes
    await pipeline.stop()
    stored = store.count_events()
    _close_store(store)
    if stored != len(events):
        raise SystemExit(f"public path stored {stored} of {len(events)} events")
    return elapsed, scrapes


async def engine_path(
    events: list[LearningEvent],
    data_dir: Path,
    settle_seconds: float,
    pg_url: str | None = None,
    buffer: int | None = None,
) -> float:
    """Seconds to record every event through a LearningEngine and have them all committed.

    The engine's training worker processes import their libraries for a few seconds after
    ``initialize()``; on 2 cores that warm-up would halve the figure, so it is let settle.
    """
    from ordinis.engines.learning.engine.facade import LearningEngine

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    store_url = None if pg_url is None else f"{pg_url}?schema={schema}"
    sizes = {} if buffer is None else {"max_events_memory": buffer}
    engine = LearningEngine(LearningEngineConfig(data_dir=data_dir, store_url=store_url, **sizes))
    await engine.initialize()
    await asyncio.sleep(settle_seconds)  # wall-clock wait of the harness, not engine logic
    # The start-up garbage (MLflow, scikit-learn imports) would otherwise be swept by a full
    # collection inside the timed window (~0.2 s); a long-running engine did that long ago.
    gc.collect()
    record, record_async = engine.record_event, engine.record_event_async
    _settle_disk()
    t0 = time.perf_counter()
    for ev in events:
        try:
            record(ev)
        except BufferFullError:
            await record_async(ev)
    await engine.flush_events(timeout=600)
    elapsed = time.perf_counter() - t0
    stored = engine.store.count_events()
    await engine.shutdown()
    if pg_url is not None:
        from ordinis.engines.learning.events.postgres_store import PostgresEventStore

        cleanup = PostgresEventStore(pg_url, schema=schema)
        cleanup.open()
        _close_store(cleanup)
    if stored < len(events):
        raise SystemExit(f"engine path stored {stored} of {len(events)} events")
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
    _settle_disk()
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(_INSERT, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def raw_multirow_path(rows: list[EventRow], path: Path) -> float:
    """Seconds for the store's own statement shape (4000-row INSERTs), one transaction."""
    conn = _fresh_store(path)
    _settle_disk()
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    for start in range(0, len(rows), 4000):
        chunk = rows[start : start + 4000]
        values = ",".join(["(?,?,?,?,?,?,?,?)"] * len(chunk))
        conn.execute(_INSERT.split(" VALUES ")[0] + " VALUES " + values,
                     list(chain.from_iterable(chunk)))
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def copy_text(rows: list[EventRow]) -> bytes:
    """The rows as COPY text (tab-separated, ``\\N`` for NULL, backslash escapes): the raw
    text-format variant, built before its timing."""
    def field(value: object) -> str:
        if value is None:
            return "\\N"
        text = repr(value) if type(value) is float else str(value)
        return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))

    return "".join("\t".join(map(field, row)) + "\n" for row in rows).encode()


def raw_pg_path(rows: list[EventRow], pg_url: str, how: str = "staged") -> float:
    """Seconds for one COPY of pre-built rows into the store's schema, in one transaction.

    ``how``: ``binary`` (COPY binary straight into ``events``: what the public path does when
    no id is stored yet), ``text`` (the same in COPY's text format), ``staged`` (COPY binary
    into the staging table + ``INSERT ... ON CONFLICT (event_id) DO NOTHING``, the path a
    batch takes when an id is already stored). The COPY data is built before the timing, so
    no Python work per row is timed: only the transfer and the server's work.
    """
    from ordinis.engines.learning.events.postgres_store import (
        _COPY_EVENTS,
        _COPY_STAGE,
        _MOVE_STAGE,
        COPY_BINARY_HEADER,
        COPY_BINARY_TRAILER,
        PostgresEventStore,
        copy_binary,
    )

    store = PostgresEventStore(pg_url, schema=f"bench_{uuid.uuid4().hex[:10]}")
    store.open()  # the same schema, indexes and staging table as the pipeline's store
    if how == "text":
        data, statement = copy_text(rows), _COPY_EVENTS.replace(" WITH (FORMAT binary)", "")
    else:
        data = COPY_BINARY_HEADER + copy_binary(rows) + COPY_BINARY_TRAILER
        statement = _COPY_STAGE if how == "staged" else _COPY_EVENTS
    conn = store._c
    t0 = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(statement) as copy:
            copy.write(data)
        if how == "staged":
            cur.execute(_MOVE_STAGE)
    elapsed = time.perf_counter() - t0
    stored = store.count_events()
    _close_store(store)
    if stored != len(rows):
        raise SystemExit(f"raw {how} COPY stored {stored} of {len(rows)} rows")
    return elapsed


def naive_pg_path(rows: list[EventRow], pg_url: str) -> float:
    """Seconds for one INSERT ... ON CONFLICT DO NOTHING + COMMIT per event."""
    from ordinis.engines.learning.events.postgres_store import PostgresEventStore

    store = PostgresEventStore(pg_url, schema=f"bench_{uuid.uuid4().hex[:10]}")
    store.open()
    conn = store._c
    insert = (
        "INSERT INTO events (event_id, event_type, source_engine, symbol, ts_us, payload, "
        "labels, outcome) VALUES (%s,%s,%s,%s,%s,%s::json,%s::jsonb,%s) "
        "ON CONFLICT (event_id) DO NOTHING"
    )
    t0 = time.perf_counter()
    for row in rows:
        conn.execute(insert, row)  # autocommit: one transaction each
    elapsed = time.perf_counter() - t0
    _close_store(store)
    return elapsed


def cpu_pressure() -> str:
    """The kernel's CPU pressure (share of time some task waited for a CPU), if available."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "n/a"
    return first.split()[1]  # avg10=...


def naive_path(rows: list[EventRow], path: Path) -> float:
    """Seconds for one INSERT + COMMIT per event."""
    conn = _fresh_store(path)
    _settle_disk()
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
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get(
        "ORDINIS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--naive-events", type=int, default=3_000)
    parser.add_argument("--latency-calls", type=int, default=100_000)
    parser.add_argument("--burst-events", type=int, default=30_000,
                        help="size of the synchronous burst (default 3x the 10k buffer)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-engine", action="store_true", help="skip the LearningEngine path")
    parser.add_argument("--engine-settle-seconds", type=float, default=8.0,
                        help="wait after engine.initialize() for its worker processes to warm up")
    parser.add_argument("--engine-buffer", type=int, default=None,
                        help="the engine path's max_events_memory (default: the config's, 10000)")
    parser.add_argument("--no-exposition", action="store_true",
                        help="skip (e): the pipeline path with /metrics served and scraped")
    parser.add_argument("--scrape-interval", type=float, default=1.0,
                        help="seconds between scrapes of /metrics in (e)")
    args = parser.parse_args()
    n = args.events
    pg_url: str | None = args.pg_url if args.store == "postgresql" else None

    print(f"store {args.store}; building {n} signal events per run ...", flush=True)
    # fresh events (fresh ids) for every run, built before any timing
    engine_runs = [] if args.no_engine else [
        make_events(n, seed=100 + r) for r in range(args.repeats)
    ]
    pipeline_runs = [make_events(n, seed=200 + r) for r in range(args.repeats)]
    burst_runs = [make_events(args.burst_events, seed=300 + r) for r in range(args.repeats)]
    exposed_runs = [] if args.no_exposition else [
        make_events(n, seed=400 + r) for r in range(args.repeats)
    ]
    rows = [encode_event(ev, 64 * 1024) for ev in pipeline_runs[0]]
    latency_events = make_events(args.latency_calls, seed=3)
    # The pre-built events stand in for objects a producer would create and drop at once;
    # freezing them keeps the GC from rescanning this harness-only heap during the runs.
    gc.collect()
    gc.freeze()
    engine_t: list[float] = []
    pipeline_t: list[float] = []
    burst_t: list[float] = []
    # every raw path of the store, timed each round: SQLite executemany (the raw) and
    # the store's own 4000-row statements; PostgreSQL COPY text and binary straight into
    # events, and via the staging table + ON CONFLICT
    raw_paths: dict[str, list[float]] = {}
    exposed_t: list[float] = []
    scrapes = 0
    with tempfile.TemporaryDirectory(prefix="ordinis-bench-") as tmp:
        d = Path(tmp)
        for r in range(args.repeats):
            if engine_runs:
                engine_t.append(asyncio.run(engine_path(
                    engine_runs[r], d / f"engine{r}", args.engine_settle_seconds, pg_url,
                    args.engine_buffer,
                )))
            pipeline_t.append(asyncio.run(public_path(
                pipeline_runs[r], d / f"pipe{r}.db", pg_url=pg_url
            ))[0])
            burst_t.append(asyncio.run(burst_path(burst_runs[r], d / f"burst{r}.db", pg_url)))
            if exposed_runs:
                seconds, served = asyncio.run(public_path(
                    exposed_runs[r], d / f"exposed{r}.db", args.scrape_interval, pg_url
                ))
                exposed_t.append(seconds)
                scrapes += served
            if pg_url is None:
                raw_paths.setdefault("executemany", []).append(raw_path(rows, d / f"raw{r}.db"))
                raw_paths.setdefault("multirow", []).append(
                    raw_multirow_path(rows, d / f"multi{r}.db"))
            else:
                for how in ("binary", "text", "staged"):
                    raw_paths.setdefault(how, []).append(raw_pg_path(rows, pg_url, how))
            raw_note = ", ".join(f"{k} {n / v[-1]:,.0f}" for k, v in raw_paths.items())
            engine_note = f"engine {n / engine_t[-1]:,.0f}, " if engine_t else ""
            exposed_note = f"exposed {n / exposed_t[-1]:,.0f}, " if exposed_t else ""
            print(f"  run {r}: {engine_note}pipeline {n / pipeline_t[-1]:,.0f}, {exposed_note}"
                  f"burst {args.burst_events / burst_t[-1]:,.0f}, "
                  f"raw: {raw_note} events/s (cpu pressure {cpu_pressure()})",
                  flush=True)
        if pg_url is None:
            naive = naive_path(rows[: args.naive_events], d / "naive.db")
        else:
            naive = naive_pg_path(rows[: args.naive_events], pg_url)
        # best of 3 rounds: other tenants of the VM only ever add latency
        p50, p99, p999 = min(
            record_latency(latency_events, d / f"lat{k}.db") for k in range(3)
        )

    # each public run against the raw run of the same round (the same minute of the shared
    # machine's load): the median of these is steadier than a ratio of two bests
    # The raw baseline: SQLite's executemany, as the issue defines it; on PostgreSQL the
    # fastest COPY of the pre-built rows (text or binary, straight in or staged).
    best_raw = min(raw_paths, key=lambda k: min(raw_paths[k]))
    raw_name = "executemany" if pg_url is None else best_raw
    raw_t = raw_paths[raw_name]
    public_t = engine_t or pipeline_t
    paired = statistics.median(r / p for p, r in zip(public_t, raw_t, strict=True))
    best_raw_per_s = n / min(raw_paths[best_raw])
    pipeline_per_s = n / min(pipeline_t)
    engine_per_s = n / min(engine_t) if engine_t else None
    public_per_s = engine_per_s if engine_per_s is not None else pipeline_per_s
    burst_per_s = args.burst_events / min(burst_t)
    raw_per_s = n / min(raw_t)
    naive_per_s = args.naive_events / naive
    raw_labels = {
        "executemany": "raw sqlite3 executemany, one transaction:              ",
        "multirow": "raw 4000-row INSERT statements, one transaction:      ",
        "text": "raw COPY text straight into events, one txn:          ",
        "binary": "raw COPY binary straight into events, one txn:        ",
        "staged": "raw COPY to staging + INSERT ON CONFLICT, one txn:    ",
    }
    if engine_per_s is not None:
        print(f"public path, LearningEngine.record_event + flush_events: "
              f"{engine_per_s:>10,.0f} events/s (median {n / statistics.median(engine_t):,.0f})")
    print(f"EventPipeline.record + flush (component):               {pipeline_per_s:>10,.0f} "
          f"events/s (median {n / statistics.median(pipeline_t):,.0f})")
    print(f"sync burst of {args.burst_events} record() + flush (writer thread):  "
          f"{burst_per_s:>10,.0f} events/s (median "
          f"{args.burst_events / statistics.median(burst_t):,.0f})")
    for name, times in raw_paths.items():
        mark = " <- raw baseline" if name == raw_name else ""
        print(f"{raw_labels[name]} {n / min(times):>10,.0f} events/s "
              f"(median {n / statistics.median(times):,.0f}){mark}")
    print(f"public / raw ({raw_name}) of the same round, median over rounds: {paired:.2f}")
    print(f"public / fastest raw path ({best_raw}): {public_per_s / best_raw_per_s:.2f}")
    print(f"naive INSERT + COMMIT per event:                        {naive_per_s:>10,.0f} "
          "events/s")
    print(f"record() latency: p50 {p50:.2f} µs, p99 {p99:.2f} µs, p99.9 {p999:.2f} µs")
    exposition = ""
    if exposed_t:
        exposed_per_s = n / min(exposed_t)
        render_ms = Scraper.last_render_ms
        print(f"EventPipeline with /metrics served, scraped every {args.scrape_interval:g} s: "
              f"{exposed_per_s:>10,.0f} events/s ({scrapes} scrapes); ratio to exposition off "
              f"{exposed_per_s / pipeline_per_s:.3f}")
        print(f"one scrape renders in {render_ms:.2f} ms: at most "
              f"{render_ms / 10 / args.scrape_interval:.2f} % of one core at this interval")
        exposition = (f" exposition_events_per_s={exposed_per_s:.0f} "
                      f"exposition_ratio={exposed_per_s / pipeline_per_s:.3f} scrapes={scrapes} "
                      f"scrape_render_ms={render_ms:.2f}")
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
          f"cpu pressure now {cpu_pressure()}")
    print(
        f"RESULT store={args.store} events_per_s={public_per_s:.0f} "
        f"ratio_to_raw={public_per_s / raw_per_s:.2f} raw_events_per_s={raw_per_s:.0f} "
        f"raw_path={raw_name} ratio_to_best_raw={public_per_s / best_raw_per_s:.2f} "
        f"best_raw_path={best_raw} "
        f"ratio_to_naive={public_per_s / naive_per_s:.1f} record_p99_us={p99:.2f} "
        f"pipeline_events_per_s={pipeline_per_s:.0f} "
        f"pipeline_ratio_to_raw={pipeline_per_s / raw_per_s:.2f} "
        f"burst_events_per_s={burst_per_s:.0f} paired_ratio_to_raw_median={paired:.2f}"
        f"{exposition}"
    )


if __name__ == "__main__":
    main()
