"""LoopLagProbe: measures how late the host's event loop runs a timer, into a histogram.

A late timer means something blocks the loop the trading host shares with the engine. The
probe measures real (wall) time on purpose: it watches the loop, not the engine's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from prometheus_client import Histogram


class LoopLagProbe:
    """Every ``interval`` seconds, observe (actual wake-up - scheduled wake-up) in ``histogram``."""

    def __init__(self, histogram: Histogram, interval: float = 0.5) -> None:
        if interval <= 0:
            raise ValueError(f"interval={interval}: must be > 0 seconds")
        self.histogram = histogram
        self.interval = interval
        self.last_lag = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start probing on the running loop (idempotent)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="learning-loop-lag-probe"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            due = time.monotonic() + self.interval
            await asyncio.sleep(self.interval)  # wall pacing of a wall measurement
            self.last_lag = max(0.0, time.monotonic() - due)
            self.histogram.observe(self.last_lag)
