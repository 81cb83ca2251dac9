"""Store reads that allocate a lot, run in a warm helper process instead of the host's threads.

Decoding tens of thousands of stored events into objects and building frames from them holds
the GIL for long stretches and fills the host's heap, so a full garbage collection (over the
host's whole heap, with the GIL held) stalls the trading host's event loop for up to a second.
``Offload.call`` runs such a function in one helper process that opens the same event store
read-only; only the result (a few numpy-backed frames) comes back. The function is the same
one the host would run, on the same committed rows, so the results are the same.

Anything the helper cannot do (an in-memory store, an argument that does not pickle, a helper
that will not start or died) runs in the calling thread instead, as before: slower for the
loop, never different. The helper is started on first use, niced like the training workers,
exits when its pipe closes or the host dies, and is killed by ``close``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from ordinis.engines.learning.engine.offload_worker import StoreRef, preload
from ordinis.engines.learning.events.store import EventStore

log = logging.getLogger(__name__)

T = TypeVar("T")

# As low as the training workers: the helper's work is background work; the host's loop first.
HELPER_NICENESS = 10
_BOOT = (
    "import os, contextlib\n"
    f"with contextlib.suppress(OSError): os.nice({HELPER_NICENESS})\n"
    "from ordinis.engines.learning.engine.offload_worker import main; main()"
)


def offloadable_url(url: str | None) -> str | None:
    """The store URL when another process can open the same store (a file or a server)."""
    if not url:
        return None
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):].partition("?")[0]
        return None if path in ("", ":memory:") else url
    if url.startswith(("postgresql://", "postgres://")):
        return url
    return None


class OffloadUnavailableError(RuntimeError):
    """The helper could not run the call (not started, died, or the call did not pickle)."""


class Offload:
    """One warm helper process for allocation-heavy store reads; see the module doc.

    ``call(fn, *args)`` blocks the calling thread (run it off the event loop, e.g. in
    ``asyncio.to_thread``); an argument that is the engine's ``store`` is sent as a
    ``StoreRef`` and opened read-only in the helper. Calls are serialised.
    """

    def __init__(self, store: EventStore, store_url: str | None, enabled: bool = True) -> None:
        self.store = store
        url = offloadable_url(store_url) if enabled else None
        self.ref = StoreRef(url) if url else None
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._closed = False
        self.calls = 0  # calls the helper answered (tests and benchmarks read it)
        self.fallbacks = 0  # calls that ran in the calling thread instead

    @property
    def available(self) -> bool:
        """Whether calls go to the helper (a store another process can open, not closed)."""
        return self.ref is not None and not self._closed

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the helper when possible, else in this thread (same result)."""
        if self.available:
            try:
                return self._remote(fn, args)
            except OffloadUnavailableError as exc:
                log.warning("store read %s runs in the host instead of the helper: %s",
                            getattr(fn, "__name__", fn), exc)
        self.fallbacks += 1
        return fn(*args)

    def warm(self) -> None:
        """Start the helper and load the modules its calls use (start-up cost paid once)."""
        if self.available:
            self.call(preload)

    def _remote(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        sent = tuple(self.ref if a is self.store else a for a in args)
        try:
            data = pickle.dumps((fn, sent), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise OffloadUnavailableError(f"the call does not pickle: {exc}") from exc
        with self._lock:
            if self._closed:
                raise OffloadUnavailableError("closed")
            conn = self._ensure_started()
            try:
                conn.send_bytes(data)
                reply = conn.recv_bytes()  # the GIL is released while waiting
            except (EOFError, OSError) as exc:
                self._stop_locked()
                raise OffloadUnavailableError(f"the helper died: {exc!r}") from exc
        try:
            status, value = pickle.loads(reply)
        except Exception as exc:
            raise OffloadUnavailableError(f"the reply does not unpickle: {exc}") from exc
        if status == "ok":
            self.calls += 1
            return value  # type: ignore[no-any-return]
        if status == "error":
            self.calls += 1
            raise value
        raise OffloadUnavailableError(str(value))  # "unavailable": e.g. an unpicklable error

    def _ensure_started(self) -> Connection:
        """The helper's pipe, starting the helper if needed. Lock held."""
        if self._conn is not None and self._process is not None and self._process.poll() is None:
            return self._conn
        self._stop_locked()
        parent_sock, child_sock = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(child_sock.fileno()), str(os.getpid())],
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # its own group: the host's Ctrl-C is the host's
            )
        except OSError as exc:
            parent_sock.close()
            raise OffloadUnavailableError(f"could not start the helper: {exc}") from exc
        finally:
            child_sock.close()
        self._conn = Connection(parent_sock.detach())
        return self._conn

    def _stop_locked(self) -> None:
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()
        if process is not None:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5.0)  # real time: reaping a killed process

    def close(self) -> None:
        """Kill the helper (a call in flight falls back to its thread). Idempotent."""
        self._closed = True
        process = self._process
        if process is not None:  # unblock a caller waiting on the pipe, then reap
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
        with self._lock:
            self._stop_locked()

    def pid(self) -> int | None:
        """The helper's pid while it runs (for health checks and tests)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None
