"""Registry benchmark: production lookup hot path, promotion, listing 1,000 versions, job overhead.

Runs the real ModelRegistry on the MLflow sqlite backend in a temporary data_dir.
Baselines measured in the same run: a plain dict lookup (for the hot path) and the same
MLflow writes a promotion makes, through the public MlflowClient verbs (for promote latency).

Job overhead: sequential jobs of a no-op trainer through a LearningEngine (local process
backend, governance preflight, audit, job records, MLflow registration, SystemClock); per job,
submit -> registered minus the trainer's own time measured inside the worker, i.e. "queue to
start" plus "finish to registered". Baseline: the same trainer called in this process.

    python benchmarks/registry.py [--versions 1000] [--lookups 200000] [--promotions 30] [--jobs 30]

Last line: RESULT get_production_p99_us=… promote_ms=… list_1000_ms=… job_overhead_ms=…
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import logging
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import pandas as pd

from ordinis.engines.learning.core.clock import SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import (
    EventType,
    LearningEvent,
    ModelStage,
    ModelVersion,
    TrainingJob,
    TrainingStatus,
)
from ordinis.engines.learning.engine.facade import LearningEngine
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.features.bar_features import (
    FEATURE_NAMES,
    compute_bar_features,
    next_return,
)
from ordinis.engines.learning.governance import AuditLog, PolicyEngine, default_policies
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.registry import ModelRegistry
from ordinis.engines.learning.training.execution import TrainingPayload, run_payload
from ordinis.engines.learning.training.trainers import (
    TrainingContext,
    TrainingLineage,
    TrainingOutcome,
)

NOOP_TYPE = "bench_noop"
NOOP_SPEC = "registry:NoopTrainer"  # this file, as workers import it (benchmarks/ on sys.path)


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


class NoopTrainer:
    """The job-overhead benchmark's trivial trainer: a 2-byte artifact, its own start/end stamped.

    Workers import it as ``registry:NoopTrainer`` (the local backend hands them this process's
    sys.path, which holds benchmarks/). The stamps are wall-clock (``time.time``) so they compare
    across processes; they let the executor's overhead be separated from the trainer's work.
    """

    model_type = NOOP_TYPE

    def train(self, ctx: TrainingContext) -> TrainingOutcome:
        t_start = time.time()
        path = Path(ctx.output_dir) / "model.json"
        path.write_text("{}", encoding="utf-8")
        t_end = time.time()
        return TrainingOutcome(
            model={"noop": True},
            artifact_path=str(path),
            metrics={"t_start": t_start, "t_end": t_end},
            params={},
            lineage=TrainingLineage(None, None, "none", 0, job_id=ctx.job.job_id),
        )


@dataclass(frozen=True)
class JobTiming:
    """One job through a LearningEngine, wall-clock ms (0 = the submit call)."""

    running_ms: float  # submit -> status RUNNING (preflight, audit, job record, queue)
    trainer_start_ms: float  # submit -> the trainer starts in a worker (adds dataset, dispatch)
    trainer_ms: float  # the trainer's own work, measured inside the worker
    registered_ms: float  # submit -> COMPLETED with model_version_id (MLflow registration done)

    @property
    def overhead_ms(self) -> float:
        """Everything but the trainer's own work: queue to start, finish to registered."""
        return self.registered_ms - self.trainer_ms

    @property
    def finish_to_registered_ms(self) -> float:
        return self.registered_ms - self.trainer_start_ms - self.trainer_ms


def noop_baseline_ms(out: Path, runs: int) -> list[float]:
    """The same trivial trainer called in this process (run_payload), no executor, no registry."""
    times = []
    for i in range(runs):
        job = TrainingJob(f"base{i}", "bench", NOOP_TYPE, config={})
        payload = TrainingPayload(job, NOOP_SPEC, None, str(out / job.job_id))
        t0 = time.perf_counter()
        run_payload(payload, lambda f, m: None, pin_cpus=False)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def bar_signal_events(n: int) -> list[LearningEvent]:
    """``n`` real AAPL daily bars (skfolio, 2019) as signal events: the jobs' tiny dataset."""
    from skfolio.datasets import load_sp500_dataset

    close = load_sp500_dataset()["AAPL"].sort_index()
    feats = compute_bar_features(close)
    feats["target"] = next_return(close)
    feats = feats.loc["2019-01-01":].dropna().iloc[:n]
    return [
        LearningEvent(
            EventType.SIGNAL_GENERATED,
            "signal",
            symbol="AAPL",
            timestamp=datetime.combine(day.date(), dt_time(21), tzinfo=UTC),
            payload={"features": {k: float(row[k]) for k in FEATURE_NAMES}},
            outcome=float(row["target"]),
        )
        for day, row in zip(pd.DatetimeIndex(feats.index), feats.to_dict("records"), strict=True)
    ]


async def job_overhead(data_dir: Path, jobs: int) -> list[JobTiming]:
    """Sequential no-op jobs through a LearningEngine (local backend, MLflow registration)."""
    config = LearningEngineConfig.create(
        data_dir=data_dir,
        min_samples_for_training=20,
        event_retention_days=36500,
        enable_drift_detection=False,
        allowed_model_types=[*LearningEngineConfig().allowed_model_types, NOOP_TYPE],
    )
    seen: dict[str, dict[TrainingStatus, float]] = {}

    def on_progress(job: TrainingJob) -> None:
        seen.setdefault(job.job_id, {}).setdefault(job.status, time.time())

    async with LearningEngine(config) as engine:  # SystemClock: real time is measured
        engine.register_trainer(NOOP_TYPE, NOOP_SPEC)
        engine.add_training_progress_listener(on_progress)
        for ev in bar_signal_events(40):
            engine.record_event(ev)
        await engine.flush_events()
        await engine.wait_for_training_workers()  # warm-up is paid once, at start
        # warm-up: both workers import this module, MLflow creates the registered models.
        # Distinct names: two jobs of one model finishing together race for the same version.
        warm = [await engine.submit_training_job(f"warm{i}", NOOP_TYPE) for i in range(2)]
        warm.append(await engine.submit_training_job("noop", NOOP_TYPE))
        for job in warm:
            done = await engine.wait_for_training_job(job.job_id, timeout=120)
            assert done.status is TrainingStatus.COMPLETED, done.error_message
        timings = []
        for _ in range(jobs):
            t0 = time.time()
            job = await engine.submit_training_job("noop", NOOP_TYPE)
            done = await engine.wait_for_training_job(job.job_id, timeout=120)
            assert done.status is TrainingStatus.COMPLETED, done.error_message
            assert done.model_version_id, "the job finished without a registered version"
            marks = seen[job.job_id]
            timings.append(
                JobTiming(
                    running_ms=(marks[TrainingStatus.RUNNING] - t0) * 1000,
                    trainer_start_ms=(done.metrics["t_start"] - t0) * 1000,
                    trainer_ms=(done.metrics["t_end"] - done.metrics["t_start"]) * 1000,
                    registered_ms=(marks[TrainingStatus.COMPLETED] - t0) * 1000,
                )
            )
    return timings


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

    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        base_ms = noop_baseline_ms(Path(tmp) / "baseline", args.jobs)
        timings = await job_overhead(Path(tmp) / "learning", args.jobs)
    overhead = [t.overhead_ms for t in timings]
    job_ms = statistics.median(overhead)
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
    print(f"job overhead through LearningEngine (local backend, {len(timings)} sequential jobs): "
          f"p50 {job_ms:.1f} ms, p95 {pct(overhead, 0.95):.1f} ms, max {max(overhead):.1f} ms")
    print(f"  submit -> RUNNING p50 {statistics.median(t.running_ms for t in timings):.1f} ms; "
          f"-> trainer starts in a worker p50 "
          f"{statistics.median(t.trainer_start_ms for t in timings):.1f} ms; "
          f"trainer end -> registered in MLflow p50 "
          f"{statistics.median(t.finish_to_registered_ms for t in timings):.1f} ms")
    print(f"  trainer's own work in the worker p50 "
          f"{statistics.median(t.trainer_ms for t in timings):.3f} ms "
          f"(baseline, same trainer in-process: p50 {statistics.median(base_ms):.3f} ms)")
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
    parser.add_argument("--jobs", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
