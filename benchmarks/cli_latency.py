"""Wall time of CLI read commands vs ``python -c pass``, in the same run.

Run: ``python benchmarks/cli_latency.py [--repeats 3]``

Measured (best of ``--repeats``, fresh processes): ``python -c pass`` (the floor),
``ordinis-learning --help``, ``audit tail`` against a running server (``--url``: the CLI never
imports the engine), ``audit tail`` in-process on a data dir (opens the event store read-only:
no MLflow, river or FastAPI), and ``models list`` in-process (MLflow's tables read-only, without
importing MLflow), ``rollouts list`` and ``drift alerts`` in-process (the loop's state, from the
store alone) against ``models blockers`` in-process (which still opens the full read-only
engine: the baseline the loop reads were at). The server and the data dir (with one registered
version) are made by this script in a temp dir. Last line:
``RESULT url_read_s=... inprocess_read_s=... python_floor_s=... help_s=... url_read_cpu_s=...
inprocess_read_cpu_s=... models_read_s=... models_read_cpu_s=... loop_read_s=...
loop_read_cpu_s=... full_engine_read_s=... full_engine_read_cpu_s=...`` (CPU = user + system
time of the command's process: on a loaded machine the wall time is mostly waiting for a core).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ordinis.engines.learning.api import hash_token

CLI = [sys.executable, "-m", "ordinis.engines.learning.cli.main"]


CPU: dict[str, float] = {}


def best(cmd: list[str], repeats: int, env: dict[str, str], name: str = "",
         ok: tuple[int, ...] = (0,)) -> float:
    """Best wall time of ``repeats`` runs; the best CPU time (user + system) goes to CPU[name]
    (on a loaded machine the wall time is mostly waiting for a core, the CPU time is not)."""
    times, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        code = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode
        if code not in ok:
            raise SystemExit(f"{' '.join(cmd[3:])} exited {code}")
        times.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    CPU[name] = min(cpus)
    return min(times)


def register_one(data: Path) -> None:
    """One registered version in the data dir (in-process, after the server stopped)."""
    from ordinis.engines.learning import LearningEngine, LearningEngineConfig

    async def run() -> None:
        cfg = LearningEngineConfig.create(data_dir=data, auto_retrain_enabled=False)
        async with LearningEngine(cfg) as engine:
            await engine.register_model_version(
                "bench", "v1", metrics={"sharpe": 1.0}, lineage={"data_hash": "x"})

    asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    env = dict(os.environ)
    env["ORDINIS_LEARNING_TOKENS"] = json.dumps(
        {hash_token("bench"): {"identity": "bench", "roles": ["reader"]}}
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "learning"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [*CLI, "serve", "--data-dir", str(data), "--port", str(port)], env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(1200):
                if server.poll() is not None:
                    raise SystemExit("the server exited; run `ordinis-learning serve` by hand")
                try:
                    if httpx.get(f"{url}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            floor = best([sys.executable, "-c", "pass"], args.repeats, env, "floor")
            helps = best([*CLI, "--help"], args.repeats, env, "help")
            remote = best([*CLI, "audit", "tail", "--url", url, "--token", "bench"],
                          args.repeats, env, "url")
        finally:
            server.terminate()
            server.wait(timeout=60)
        local = best([*CLI, "audit", "tail", "--data-dir", str(data)], args.repeats, env,
                     "local")
        register_one(data)
        models = best([*CLI, "models", "list", "--data-dir", str(data)], args.repeats, env,
                      "models")
        loop = best([*CLI, "rollouts", "list", "--data-dir", str(data)], args.repeats, env,
                    "loop")
        alerts = best([*CLI, "drift", "alerts", "--data-dir", str(data)], args.repeats, env,
                      "alerts")
        full = best([*CLI, "models", "blockers", "bench:v1", "--data-dir", str(data)],
                    args.repeats, env, "full", ok=(0, 1))  # 1: the version is blocked
    print(f"python -c pass: {floor:.2f} s (CPU {CPU['floor']:.2f} s)")
    print(f"ordinis-learning --help: {helps:.2f} s (CPU {CPU['help']:.2f} s)")
    print(f"audit tail --url (read through a server): {remote:.2f} s (CPU {CPU['url']:.2f} s)")
    print(f"audit tail --data-dir (in-process, opens the event store): {local:.2f} s "
          f"(CPU {CPU['local']:.2f} s)")
    print(f"models list --data-dir (in-process, MLflow's tables read-only): {models:.2f} s "
          f"(CPU {CPU['models']:.2f} s)")
    print(f"rollouts list --data-dir (in-process, the store alone): {loop:.2f} s "
          f"(CPU {CPU['loop']:.2f} s); drift alerts: {alerts:.2f} s (CPU {CPU['alerts']:.2f} s)")
    print(f"models blockers --data-dir (in-process, the full read-only engine): {full:.2f} s "
          f"(CPU {CPU['full']:.2f} s); ratio of the loop read to it: "
          f"{CPU['loop'] / CPU['full']:.2f} of the CPU")
    print(f"RESULT url_read_s={remote:.2f} inprocess_read_s={local:.2f} "
          f"python_floor_s={floor:.2f} help_s={helps:.2f} url_read_cpu_s={CPU['url']:.2f} "
          f"inprocess_read_cpu_s={CPU['local']:.2f} models_read_s={models:.2f} "
          f"models_read_cpu_s={CPU['models']:.2f} loop_read_s={loop:.2f} "
          f"loop_read_cpu_s={CPU['loop']:.2f} full_engine_read_s={full:.2f} "
          f"full_engine_read_cpu_s={CPU['full']:.2f}")


if __name__ == "__main__":
    main()
