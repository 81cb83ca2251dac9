"""Keeps full garbage collections short while an engine runs: its start-up heap is frozen.

A full (oldest-generation) collection walks every tracked object with the GIL held. After the
engine starts, the process holds about half a million of them (pandas, scikit-learn, MLflow,
SQLAlchemy and the host's own), so each full collection stalls the host's event loop for
0.3-1 s on a small machine. ``gc.freeze()`` moves the objects alive at start (modules, classes,
caches: they live as long as the process) out of the collector's walk; later collections see
only what was allocated since. The last engine to stop unfreezes (``gc.unfreeze()``), so
nothing frozen stays out of the collector's reach once no engine runs.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_holders = 0


def freeze() -> None:
    """Freeze the heap as it is now (cheap: no collection) unless an engine already holds a
    freeze (then what a later engine left behind stays collectable); pair with ``release``."""
    global _holders
    with _lock:
        _holders += 1
        if _holders == 1:
            gc.freeze()


def release() -> None:
    """One engine no longer needs the freeze; the last one unfreezes."""
    global _holders
    with _lock:
        if _holders == 0:
            return
        _holders -= 1
        if _holders == 0:
            gc.unfreeze()
