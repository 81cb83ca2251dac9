"""Fixtures of the evaluation tests: real S&P 500 data, small scikit-learn models, an evaluator."""

from __future__ import annotations

import pandas as pd
import pytest
from evaluation_helpers import SklearnSignal
from sklearn.linear_model import LogisticRegression

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.evaluation import BenchmarkRegistry, ModelEvaluator
from ordinis.engines.learning.evaluation.benchmarks import sp500_index_close
from ordinis.engines.learning.features.bar_features import (
    compute_bar_features,
    next_return,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics


def training_frame(end: str = "1999-12-31") -> tuple[pd.DataFrame, pd.Series]:
    close = sp500_index_close()[:end]
    X = compute_bar_features(close)
    y = next_return(close)
    ok = X.notna().all(axis=1) & y.notna()
    return X[ok], y[ok]


@pytest.fixture(scope="session")
def train_xy() -> tuple[pd.DataFrame, pd.Series]:
    return training_frame()


@pytest.fixture(scope="session")
def logit_model(train_xy: tuple[pd.DataFrame, pd.Series]) -> SklearnSignal:
    X, y = train_xy
    clf = LogisticRegression(C=1.0, max_iter=500).fit(X, (y > 0).astype(int))
    return SklearnSignal(clf)


@pytest.fixture(scope="session")
def registry() -> BenchmarkRegistry:
    return BenchmarkRegistry()


@pytest.fixture
def evaluator(registry: BenchmarkRegistry, sim_clock: SimulatedClock) -> ModelEvaluator:
    config = LearningEngineConfig.create(bootstrap_resamples=2000)
    return ModelEvaluator(config, sim_clock, LearningMetrics(), registry)
