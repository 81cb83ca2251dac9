"""ShadowRunner: the unserved version predicts on the same features, off the serving path.

``predict`` only queues the served request; ``run`` (at the next outcome, ``update`` or tick)
records its MODEL_PREDICTION event and gives it to the shadow version, if any (requests of one
``predict_batch`` share their batch: the shadow predicts it in one call). A shadow
therefore never changes a served signal, nor its latency; its errors and non-finite outputs
are reported, and its sign agreement with the served signal is counted for
``shadow_agreement_ratio``. A full queue drops its oldest request and counts it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from ordinis.engines.learning.rollout.router import RoutedModel

_MAX_QUEUE = 100_000


@dataclass(frozen=True, slots=True)
class ShadowRequest:
    """One served request: what was served, and the shadow version to replay it on (if any)."""

    prediction_id: str
    model_name: str
    key: str
    features: Any
    at: datetime
    served: RoutedModel
    served_value: float
    shadow: RoutedModel | None
    row: int | None = None  # set: ``features`` is a whole batch and this request is its row

    @property
    def served_version(self) -> str:
        return self.served.version_id


@dataclass(frozen=True, slots=True)
class ShadowResult:
    """What the shadow version said (``error`` set when it raised or returned non-finite)."""

    request: ShadowRequest
    value: float | None
    error: str | None
    non_finite: bool = False

    @property
    def ran(self) -> bool:
        """False when the request had no shadow version."""
        return self.request.shadow is not None

    @property
    def agrees(self) -> bool:
        """Same direction as the served signal (both flat counts as agreement)."""
        v = self.value
        if v is None:
            return False
        s = self.request.served_value
        return (v > 0) == (s > 0) and (v < 0) == (s < 0)


class ShadowRunner:
    """A bounded queue of requests for shadow versions; the oldest are dropped when full."""

    def __init__(self, max_queue: int = _MAX_QUEUE) -> None:
        self._queue: deque[ShadowRequest] = deque(maxlen=max_queue)
        self.max_queue = max_queue
        self.dropped = 0

    def submit(self, request: ShadowRequest) -> int:
        """Queue a request; returns the queue length (the oldest is dropped, counted, if full)."""
        q = self._queue
        if len(q) >= self.max_queue:
            self.dropped += 1
        q.append(request)
        return len(q)

    def __len__(self) -> int:
        return len(self._queue)

    def run(self, limit: int | None = None) -> list[ShadowResult]:
        """Predict every queued request (up to ``limit``) with its shadow version."""
        out: list[ShadowResult] = []
        batches: dict[tuple[int, str], tuple[np.ndarray | None, str | None]] = {}
        q = self._queue
        while q and (limit is None or len(out) < limit):
            try:
                req = q.popleft()
            except IndexError:  # drained by another thread meanwhile
                break
            if req.shadow is None:
                out.append(ShadowResult(req, None, None))
                continue
            if req.row is not None:
                out.append(_from_batch(req, req.shadow, req.row, batches))
                continue
            try:
                value = scalar(req.shadow.model.predict(req.features))
            except Exception as exc:
                out.append(ShadowResult(req, None, f"{type(exc).__name__}: {exc}"))
                continue
            if not math.isfinite(value):
                out.append(ShadowResult(req, None, f"non-finite output {value}", True))
                continue
            out.append(ShadowResult(req, value, None))
        return out


def _from_batch(
    req: ShadowRequest,
    shadow: RoutedModel,
    row: int,
    batches: dict[tuple[int, str], tuple[np.ndarray | None, str | None]],
) -> ShadowResult:
    """The shadow's value for one row of a batch, the whole batch predicted once per run."""
    key = (id(req.features), shadow.version_id)
    done = batches.get(key)
    if done is None:
        try:
            values = np.asarray(shadow.model.predict(req.features), dtype=float).reshape(-1)
            done = (values, None)
        except Exception as exc:
            done = (None, f"{type(exc).__name__}: {exc}")
        batches[key] = done
    got, error = done
    if got is None or row >= got.shape[0]:
        return ShadowResult(req, None, error or f"returned too few values for row {row}")
    value = float(got[row])
    if not math.isfinite(value):
        return ShadowResult(req, None, f"non-finite output {value}", True)
    return ShadowResult(req, value, None)


def scalar(output: Any) -> float:
    """The single signal of a model's output (a number, or a one-element array or list)."""
    if isinstance(output, float | int):
        return float(output)
    try:
        return float(output[0])
    except (TypeError, IndexError, KeyError):
        return float(output)
