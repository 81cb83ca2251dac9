"""Executor overhead per training job: queue -> start -> finish -> result, on warm local workers.

Run: ``python benchmarks/training_overhead.py [--jobs N]``

(a) baseline: the same trainer called in this process (``run_payload``), no executor: the
    trainer's own time.
(b) executor: ``submit`` -> ``wait`` through TrainingExecutor + LocalProcessBackend (2 warm
    workers) + SQLite job records (every transition committed) + a no-op on_complete hook,
    with the SystemClock. Overhead = (b) - (a), per job, sequential jobs.
(c) a cold process per job (``subprocess`` running the trainer after importing the same
    libraries the warm workers preload): what a non-pooled design would pay.

The trainer is ``test_sleep`` with 0 s of work, so the figures are pure overhead. The goal is
< 200 ms per job including the registration the engine adds (MLflow, not measured here).
The last line is ``RESULT overhead_p50_ms=... overhead_p95_ms=... cold_process_ms=...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ordinis.engines.learning.core.clock import SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import TrainingJob, TrainingStatus
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.training.execution import TrainingPayload, run_payload
from ordinis.engines.learning.training.executor import TrainingExecutor
from ordinis.engines.learning.training.local_backend import DEFAULT_PRELOAD, LocalProcessBackend
from ordinis.engines.learning.training.trainers import TrainingOutcome

# The test trainers live in tests/training (never shipped with the package).
_TRAINERS = Path(__file__).resolve().parents[1] / "tests" / "training"
sys.path.insert(0, str(_TRAINERS))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(_TRAINERS), os.environ.get("PYTHONPATH", "")) if p
)
from testing_trainers import TEST_TRAINER_SPECS, make_testing_registry  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def baseline_ms(jobs: int, out: Path) -> list[float]:
    times = []
    for i in range(jobs):
        job = TrainingJob(f"b{i}", "bench", "test_sleep", config={})
        spec = TEST_TRAINER_SPECS["test_sleep"]
        payload = TrainingPayload(job, spec, None, str(out / job.job_id))
        t0 = time.perf_counter()
        run_payload(payload, lambda f, m: None, pin_cpus=False)
        times.append((time.perf_counter() - t0) * 1000)
    return times


async def executor_ms(jobs: int, d: Path) -> list[float]:
    store = SQLiteEventStore(f"sqlite:///{d / 'events.db'}")
    store.open()
    backend = LocalProcessBackend(max_workers=2)

    async def on_complete(job: TrainingJob, outcome: TrainingOutcome) -> str:
        return f"{job.model_name}:{job.job_id}"

    cfg = LearningEngineConfig.create(data_dir=d, max_concurrent_jobs=2)
    ex = TrainingExecutor(cfg, store, SystemClock(), LearningMetrics(), backend,
                          make_testing_registry(), on_complete=on_complete)
    await ex.start()
    try:
        await asyncio.to_thread(backend.wait_ready)  # warm-up is paid once, at engine start
        for _ in range(3):  # first use of each worker imports the trainer module
            await ex.wait((await ex.submit("bench", "test_sleep", {})).job_id)
        times = []
        for _ in range(jobs):
            t0 = time.perf_counter()
            job = await ex.submit("bench", "test_sleep", {})
            done = await ex.wait(job.job_id)
            times.append((time.perf_counter() - t0) * 1000)
            assert done.status is TrainingStatus.COMPLETED, done.error_message
        return times
    finally:
        await ex.stop()
        store.close()


def cold_process_ms(runs: int) -> list[float]:
    code = "import " + ", ".join(DEFAULT_PRELOAD)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        base = baseline_ms(args.jobs, d / "baseline")
        execd = asyncio.run(executor_ms(args.jobs, d))
    cold = cold_process_ms(args.cold_runs)
    base_med = statistics.median(base)
    overhead = [t - base_med for t in execd]
    print(f"trainer alone (in process):  median {base_med:8.2f} ms")
    print(f"through the executor:        p50 {pct(execd, .5):8.2f} ms  "
          f"p95 {pct(execd, .95):8.2f} ms  max {max(execd):8.2f} ms  ({args.jobs} sequential jobs)")
    print(f"executor overhead:           p50 {pct(overhead, .5):8.2f} ms  "
          f"p95 {pct(overhead, .95):8.2f} ms  (goal < 200 ms with registration)")
    print(f"cold process + imports:      median {statistics.median(cold):8.2f} ms (no pool)")
    print(
        f"RESULT overhead_p50_ms={pct(overhead, .5):.1f} overhead_p95_ms={pct(overhead, .95):.1f} "
        f"baseline_ms={base_med:.2f} cold_process_ms={statistics.median(cold):.0f} jobs={args.jobs}"
    )


if __name__ == "__main__":
    main()
