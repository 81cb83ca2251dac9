"""Fixtures of the closed-loop tests: real S&P 500 bar features, a real SQLite store, a simulated
clock, and factories for pipeline configs, LoopActions over scikit-learn, and wired loops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from feedback_loop_helpers import START, Loop, SklearnLoopActions, pipeline_mapping

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.events.factory import open_store
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.features.bar_features import compute_bar_features
from ordinis.engines.learning.feedback import PipelineSpec, pipeline_spec_from_mapping


@pytest.fixture(scope="session")
def sp500_features() -> pd.DataFrame:
    """Point-in-time bar features of the S&P 500 (arch's shipped data, 1999-2018), UTC index."""
    from arch.data import sp500

    close = sp500.load()["Adj Close"]
    feats = compute_bar_features(close).dropna()
    feats.index = pd.DatetimeIndex(feats.index).tz_localize(UTC)
    return feats


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def make_pipeline_config() -> Callable[..., PipelineSpec]:
    """The packaged pipeline with a 10-year window, 500 samples minimum and a small model."""

    def make(**stage_overrides: dict[str, Any]) -> PipelineSpec:
        base: dict[str, dict[str, Any]] = {
            "data_collection": {"window": "3650d", "min_samples": 500},
            "training": {"algorithm": "logistic_regression", "params": {"C": 1.0}},
        }
        for name, fields in stage_overrides.items():
            base.setdefault(name, {}).update(fields)
        return pipeline_spec_from_mapping(pipeline_mapping(**base), source="test")

    return make


@pytest.fixture
def make_actions(
    sp500_features: pd.DataFrame, clock: SimulatedClock
) -> Callable[..., SklearnLoopActions]:
    def make(**kwargs: Any) -> SklearnLoopActions:
        return SklearnLoopActions(sp500_features, clock, **kwargs)

    return make


@pytest.fixture
def make_loop(
    store: EventStore,
    clock: SimulatedClock,
    make_pipeline_config: Callable[..., PipelineSpec],
    make_actions: Callable[..., SklearnLoopActions],
) -> Callable[..., Loop]:
    def make(
        config: LearningEngineConfig | None = None,
        pipeline_config: PipelineSpec | None = None,
        actions: SklearnLoopActions | None = None,
        store_override: EventStore | None = None,
    ) -> Loop:
        return Loop(
            config or LearningEngineConfig.create(),
            store_override or store,
            clock,
            pipeline_config or make_pipeline_config(),
            actions or make_actions(),
        )

    return make
