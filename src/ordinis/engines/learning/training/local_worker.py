"""The loop of one warm worker process of LocalProcessBackend.

Started once (``python -c "...local_worker import main; main()" FD PARENT_PID PRELOAD PIN``,
so the host's ``__main__`` is never re-imported) with heavy libraries preloaded, it receives
job payloads over its pipe, runs them and sends back progress, then one result. Messages (tuples):
parent -> worker: ("run", TrainingPayload) | None (exit);
worker -> parent: ("ready", pid) | ("progress", job_id, fraction, message)
| ("done", job_id, TrainingOutcome) | ("error", job_id, TrainerFailure).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any


def _watch_parent(parent_pid: int) -> None:
    """Exit when the parent process is gone, so no worker outlives a killed engine."""
    while True:
        time.sleep(1.0)  # wall-clock polling of the parent's liveness, not a decision
        if os.getppid() != parent_pid:
            os._exit(3)


def worker_main(
    conn: Connection, preload: Sequence[str], parent_pid: int, pin_cpus: bool = True
) -> None:
    """Preload, announce readiness, then serve jobs until told to exit or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the engine, which decides
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    for name in preload:
        # An optional library may be missing: the trainer that needs it reports the error.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from ordinis.engines.learning.training.execution import TrainerFailure, run_payload

    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg: Any = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        _, payload = msg
        job_id = payload.job.job_id

        def progress(fraction: float, message: str, _job_id: str = job_id) -> None:
            conn.send(("progress", _job_id, max(0.0, min(1.0, float(fraction))), str(message)))

        try:
            outcome = run_payload(payload, progress, pin_cpus=pin_cpus)
            reply: tuple[Any, ...] = ("done", job_id, outcome)
        except BaseException as exc:
            reply = ("error", job_id, TrainerFailure.from_exception(exc))
        try:
            conn.send(reply)
        except Exception as exc:
            failure = TrainerFailure(
                "failed", f"the trainer's result could not be sent back (not picklable?): "
                f"{type(exc).__name__}: {exc}")
            conn.send(("error", job_id, failure))


def main() -> None:
    """Entry point of the worker process: argv = [pipe fd, parent pid, preload csv, pin 0|1]."""
    fd, parent_pid, preload = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    worker_main(Connection(fd), [m for m in preload.split(",") if m], parent_pid,
                pin_cpus=sys.argv[4] == "1")
