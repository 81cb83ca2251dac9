"""Registry benchmark: the production lookup hot path, promotion latency, listing 1,000 versions.

Runs the real ModelRegistry on the MLflow sqlite backend in a temporary data_dir.
Baselines measured in the same run: a plain dict lookup (for the hot path) and the same
MLflow writes a promotion makes, through the public MlflowClient verbs (for promote latency).

    python benchmarks/registry.py [--versions 1000] [--lookups 200000] [--promotions 30]

Last line: RESULT get_production_p99_us=… promote_ms=… list_1000_ms=… job_overhead_ms=…
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import logging
import math
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from ordinis.engines.learning.core.clock import SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import ModelStage, ModelVersion
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.governance import AuditLog, PolicyEngine, default_policies
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.registry import ModelRegistry


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def build(data_dir: Path) -> tuple[ModelRegistry, SQLiteEventStore]:
    config = LearningEngineConfig.create(data_dir=data_dir)
    store = SQLiteEventStore(config.resolved_store_url)
    store.open()
    clock = SystemClock()  # benchmark: real time is what is being measured
    metrics = LearningMetrics()
    audit = AuditLog(store, clock, metrics)
    reg = ModelRegistry(
        config, store, clock, metrics, PolicyEngine(default_policies(config), metrics=metrics),
        audit,
    )
    await reg.open()
    return reg, store


async def staged(reg: ModelRegistry, name: str, version: str) -> ModelVersion:
    mv = await reg.register_model_version(name, version, model={"w": [1.0, 2.0]})
    await reg.promote_model(name, mv.version_id, ModelStage.STAGING)
    await reg.record_evaluation(mv.version_id, True, {"sharpe": 1.0}, f"e-{version}")
    return mv


def lookup_latency(reg: ModelRegistry, name: str, n: int) -> tuple[list[float], list[float]]:
    """Per-call ns of get_production_model and of a plain dict.get, same timer, interleaved."""
    baseline: dict[str, Any] = {name: reg.get_production_model(name)}
    get = reg.get_production_model
    dget = baseline.get
    clock = time.perf_counter_ns
    ours: list[float] = []
    plain: list[float] = []
    gc.disable()
    try:
        for _ in range(n):
            t0 = clock()
            get(name)
            t1 = clock()
            dget(name)
            t2 = clock()
            ours.append(t1 - t0)
            plain.append(t2 - t1)
    finally:
        gc.enable()
    return ours, plain


def raw_mlflow_promote(reg: ModelRegistry, name: str, old: str, new: str) -> float:
    """One promotion's MLflow writes (2 stage tags, 2 aliases) via the public client, in ms."""
    client = reg.mlflow_client
    t0 = time.perf_counter()
    client.set_model_version_tag(name, old, "stage", "archived")
    client.set_registered_model_alias(name, "rollback_target", old)
    client.set_model_version_tag(name, new, "stage", "production")
    client.set_registered_model_alias(name, "production", new)
    return (time.perf_counter() - t0) * 1000


def executor_overhead_ms() -> tuple[float, str]:
    """Overhead per training job of training/executor.py, if it exists and works."""
    try:
        import ordinis.engines.learning.training.executor as _executor  # noqa: F401
    except Exception as exc:
        return math.nan, f"training/executor.py not available ({type(exc).__name__}: {exc})"
    return math.nan, "training/executor.py exists but this benchmark does not drive it yet"


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        data_dir = Path(tmp) / "learning"
        t0 = time.perf_counter()
        reg, store = await build(data_dir)
        print(f"open (MLflow sqlite schema creation): {time.perf_counter() - t0:.2f} s")

        # ---- promotion latency: alternate production between fresh staged versions
        name = "hot"
        await staged(reg, name, "v0")
        await reg.promote_model(name, f"{name}:v0", ModelStage.PRODUCTION)
        promote_ms: list[float] = []
        for i in range(1, args.promotions + 1):
            mv = await staged(reg, name, f"v{i}")
            t0 = time.perf_counter()
            await reg.promote_model(name, mv.version_id, ModelStage.PRODUCTION)
            promote_ms.append((time.perf_counter() - t0) * 1000)
        raw_ms = []
        versions = reg.list_versions(name)
        for a, b in itertools.pairwise(versions):
            raw_ms.append(raw_mlflow_promote(reg, name, a.mlflow_version or "",
                                             b.mlflow_version or ""))
        # put MLflow back in line with the cache (the raw writes bypassed the registry)
        last = versions[-1]
        reg.mlflow_client.set_registered_model_alias(name, "production", last.mlflow_version)

        # ---- hot path
        ours, plain = lookup_latency(reg, name, args.lookups)
        assert reg.get_production_model(name) is not None

        # ---- 1,000 versions: register through MLflow, then list
        bulk = "bulk"
        t0 = time.perf_counter()
        for i in range(args.versions):
            await reg.register_model_version(bulk, f"v{i}", metrics={"sharpe": i / 1000})
        register_s = time.perf_counter() - t0
        list_ms: list[float] = []
        for _ in range(20):
            t0 = time.perf_counter()
            listed = reg.list_versions(bulk)
            list_ms.append((time.perf_counter() - t0) * 1000)
        assert len(listed) == args.versions
        t0 = time.perf_counter()
        dev = reg.list_versions(bulk, ModelStage.DEVELOPMENT)
        filter_ms = (time.perf_counter() - t0) * 1000
        assert len(dev) == args.versions
        # a cold rebuild of every cache from MLflow (what open() costs at this size)
        t0 = time.perf_counter()
        cold = ModelRegistry(reg.config, store, reg.clock, LearningMetrics(), reg.policies,
                             reg.audit)
        await cold.open()
        rebuild_s = time.perf_counter() - t0
        assert len(cold.list_versions(bulk)) == args.versions
        t0 = time.perf_counter()
        search = reg.mlflow_client.search_model_versions(f"name='{bulk}'", max_results=10000)
        mlflow_search_ms = (time.perf_counter() - t0) * 1000
        assert len(search) == args.versions
        await cold.close()
        await reg.close()
        store.close()

    job_ms, job_note = executor_overhead_ms()
    p50_us, p99_us = pct(ours, 0.5) / 1000, pct(ours, 0.99) / 1000
    b50_us, b99_us = pct(plain, 0.5) / 1000, pct(plain, 0.99) / 1000
    promote_p50 = statistics.median(promote_ms)
    list_p50 = statistics.median(list_ms)
    print(f"get_production_model: p50 {p50_us:.3f} µs, p99 {p99_us:.3f} µs "
          f"(plain dict.get, same timer: p50 {b50_us:.3f} µs, p99 {b99_us:.3f} µs; "
          f"{args.lookups:,} calls)")
    print(f"promote to production: p50 {promote_p50:.1f} ms, p95 {pct(promote_ms, 0.95):.1f} ms, "
          f"max {max(promote_ms):.1f} ms over {len(promote_ms)} "
          f"(baseline: the same MLflow writes via public MlflowClient verbs, p50 "
          f"{statistics.median(raw_ms):.1f} ms)")
    print(f"register {args.versions} versions through MLflow: {register_s:.1f} s "
          f"({register_s / args.versions * 1000:.1f} ms per version)")
    print(f"list_versions of {args.versions}: p50 {list_p50:.3f} ms from memory "
          f"(stage filter {filter_ms:.3f} ms; MLflow search_model_versions "
          f"{mlflow_search_ms:.0f} ms; cold open() rebuilding every cache {rebuild_s:.2f} s)")
    print(f"executor overhead per job: {job_note}")
    print(f"python {sys.version.split()[0]}")
    print(
        f"RESULT get_production_p99_us={p99_us:.3f} promote_ms={promote_p50:.1f} "
        f"list_1000_ms={list_p50:.3f} job_overhead_ms={job_ms:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--promotions", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
