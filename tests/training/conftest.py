"""Fixtures of the training tests: real market-data events, a shared warm backend, executors."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.features.bar_features import (
    FEATURE_NAMES,
    compute_bar_features,
    next_return,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.training.backends import ExecutionBackend, LocalProcessBackend
from ordinis.engines.learning.training.executor import DatasetBuilder, OnComplete, TrainingExecutor
from ordinis.engines.learning.training.trainers import TrainerRegistry

# The misbehaving test trainers live beside this file; worker processes and Ray tasks import
# them by spec, so this folder goes on their path (local workers inherit sys.path, Ray the env).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_HERE, os.environ.get("PYTHONPATH", "")) if p
)

from testing_trainers import make_testing_registry  # noqa: E402

SYMBOLS = ("AAPL", "JPM", "XOM")
DAYS = 420  # the last DAYS trading days per symbol; the first 60 have incomplete features


def market_signal_events(
    symbols: tuple[str, ...] = SYMBOLS, days: int = DAYS
) -> list[LearningEvent]:
    """SIGNAL_GENERATED events from the S&P 500 stocks shipped in skfolio, one per stock-day.

    Features come from features/bar_features.py; a NaN feature is sent as null (JSON has no
    NaN), the outcome is the realised next return (None on the last day).
    """
    from skfolio.datasets import load_sp500_dataset

    prices = load_sp500_dataset()
    events: list[LearningEvent] = []
    for sym in symbols:
        close = prices[sym].dropna().iloc[-days:]
        feats = compute_bar_features(close)
        target = next_return(close)
        for ts, row in feats.iterrows():
            stamp = pd.Timestamp(ts).tz_localize(UTC).to_pydatetime()
            values = {n: (None if math.isnan(v) else float(v)) for n, v in row.items()}
            nxt = target.loc[ts]
            events.append(LearningEvent(
                event_type=EventType.SIGNAL_GENERATED,
                source_engine="signal_engine",
                symbol=sym,
                timestamp=stamp,
                payload={"features": values, "signal": 0.0},
                outcome=None if math.isnan(nxt) else float(nxt),
            ))
    return events


@pytest.fixture(scope="session")
def market_events() -> list[LearningEvent]:
    return market_signal_events()


@pytest.fixture(scope="session")
def feature_names() -> tuple[str, ...]:
    return FEATURE_NAMES


@pytest.fixture(scope="session")
def local_backend() -> Iterator[LocalProcessBackend]:
    """Two warm workers (numpy, pandas, sklearn, LightGBM preloaded) shared by every test."""
    backend = LocalProcessBackend(max_workers=2)
    backend.start()
    assert backend.wait_ready(timeout=120), "training workers did not start"
    yield backend
    backend.stop()


@pytest.fixture(scope="session")
def registry() -> TrainerRegistry:
    return make_testing_registry()


@dataclass
class Harness:
    """An executor with the store, clock and metrics it was built with."""

    executor: TrainingExecutor
    store: SQLiteEventStore
    clock: SimulatedClock
    metrics: LearningMetrics
    config: LearningEngineConfig


MakeExecutor = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_executor(
    tmp_path: Path, local_backend: LocalProcessBackend, registry: TrainerRegistry
) -> AsyncIterator[MakeExecutor]:
    """Build started executors on a fresh SQLite store; all are stopped after the test."""
    made: list[Harness] = []
    stores: list[SQLiteEventStore] = []

    async def make(
        backend: ExecutionBackend | None = None,
        on_complete: OnComplete | None = None,
        dataset_builder: DatasetBuilder | None = None,
        store: SQLiteEventStore | None = None,
        trainers: TrainerRegistry | None = None,
        executor_kwargs: dict[str, Any] | None = None,
        **config: Any,
    ) -> Harness:
        if store is None:
            store = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
            store.open()
            stores.append(store)
        cfg = LearningEngineConfig.create(data_dir=tmp_path / "learning", **config)
        clock = SimulatedClock()
        metrics = LearningMetrics()
        kwargs = {"retry_backoff_seconds": 0.01, **(executor_kwargs or {})}
        ex = TrainingExecutor(
            cfg, store, clock, metrics, backend or local_backend, trainers or registry,
            on_complete=on_complete, dataset_builder=dataset_builder, **kwargs,
        )
        await ex.start()
        h = Harness(ex, store, clock, metrics, cfg)
        made.append(h)
        return h

    yield make
    for h in made:
        await h.executor.stop()
    for s in stores:
        s.close()
