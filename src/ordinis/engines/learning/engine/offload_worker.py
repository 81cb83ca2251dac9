"""The loop of the store-read helper process (see ``engine/offload.py``).

Started as ``python -c "...offload_worker import main; main()" FD PARENT_PID`` (the host's
``__main__`` is never re-imported). Receives pickled ``(fn, args)``, opens each ``StoreRef``
argument read-only (once; the store is kept open), runs ``fn`` and sends back
``("ok", result)``, ``("error", exception)`` or ``("unavailable", why)`` when the exception
itself does not pickle (the host then runs the call itself and raises it there).
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass(frozen=True, slots=True)
class StoreRef:
    """Where the helper opens the event store (read-only): the engine's store URL."""

    url: str


def _watch_parent(parent_pid: int) -> None:
    """Exit when the host is gone, so the helper never outlives a killed engine."""
    while True:
        time.sleep(1.0)  # wall-clock polling of the parent's liveness, not a decision
        if os.getppid() != parent_pid:
            os._exit(3)


def _reply(status: str, value: Any) -> bytes:
    try:
        data = pickle.dumps((status, value), protocol=pickle.HIGHEST_PROTOCOL)
        if status == "error":
            pickle.loads(data)  # an exception that pickles but cannot be rebuilt
        return data
    except Exception as exc:
        return pickle.dumps(("unavailable", f"{type(value).__name__} does not pickle: {exc}"))


# The modules the engine's store reads live in (named, like the training workers' preload).
PRELOAD = (
    "ordinis.engines.learning.engine.feature_rows",
    "ordinis.engines.learning.engine.forward_holdout",
    "ordinis.engines.learning.engine.training_data",
    "ordinis.engines.learning.training.dataset",
)


def preload() -> None:
    """Import what the engine's store reads use (``Offload.warm`` calls this in the helper)."""
    for name in PRELOAD:
        importlib.import_module(name)


def serve(conn: Connection, parent_pid: int) -> None:
    """Answer calls until the pipe closes."""
    from ordinis.engines.learning.events.factory import open_store

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the host, which decides
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    stores: dict[str, Any] = {}
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            fn, args = pickle.loads(data)
            resolved = []
            for a in args:
                if isinstance(a, StoreRef):
                    if a.url not in stores:
                        stores[a.url] = open_store(a.url, read_only=True)
                    a = stores[a.url]
                resolved.append(a)
        except Exception as exc:  # the helper cannot serve this call; the host runs it
            out = pickle.dumps(("unavailable", f"{type(exc).__name__}: {exc}"))
        else:
            try:
                out = _reply("ok", fn(*resolved))
            except Exception as exc:
                out = _reply("error", exc)
        try:
            conn.send_bytes(out)
        except (OSError, ValueError):
            return


def main() -> None:
    """Entry point: argv = [pipe fd, parent pid]."""
    serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
