"""The loop of one warm worker process of LocalProcessBackend.

Spawned once with heavy libraries preloaded, it receives job payloads over its pipe, runs
them and sends back progress, then one result. Messages (tuples):
parent -> worker: ("run", TrainingPayload) | None (exit);
worker -> parent: ("ready", pid) | ("progress", job_id, fraction, message)
| ("done", job_id, TrainingOutcome) | ("error", job_id, TrainerFailure).
"""

from __future__ import annotations

import importlib
import os
import signal
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


def worker_main(conn: Connection, preload: Sequence[str], parent_pid: int) -> None:
    """Preload, announce readiness, then serve jobs until told to exit or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the engine, which decides
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # optional library missing: the trainer that needs it reports the error
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
            outcome = run_payload(payload, progress)
            reply: tuple[Any, ...] = ("done", job_id, outcome)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the engine
            reply = ("error", job_id, TrainerFailure.from_exception(exc))
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable model
            failure = TrainerFailure(
                "failed", f"the trainer's result could not be sent back (not picklable?): "
                f"{type(exc).__name__}: {exc}")
            conn.send(("error", job_id, failure))
