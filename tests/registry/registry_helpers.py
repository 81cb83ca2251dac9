"""Helpers for registry tests: the environment of a registry and a small scikit-learn model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.governance import AuditLog, PolicyEngine, default_policies
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.registry import ModelRegistry


@dataclass
class Env:
    config: LearningEngineConfig
    store: SQLiteEventStore
    clock: SimulatedClock
    metrics: LearningMetrics
    policies: PolicyEngine
    audit: AuditLog
    registry: ModelRegistry

    async def reopen(self) -> ModelRegistry:
        """A new registry (new caches, new MLflow client) over the same data_dir and store."""
        metrics = LearningMetrics()
        audit = AuditLog(self.store, self.clock, metrics)
        reg = ModelRegistry(
            self.config, self.store, self.clock, metrics,
            PolicyEngine(default_policies(self.config), metrics=metrics), audit,
        )
        await reg.open()
        return reg


async def make_env(data_dir: Path, **cfg: object) -> Env:
    config = LearningEngineConfig.create(data_dir=data_dir, **cfg)
    store = SQLiteEventStore(config.resolved_store_url)
    store.open()
    clock = SimulatedClock(datetime(2020, 1, 1, tzinfo=UTC))
    metrics = LearningMetrics()
    policies = PolicyEngine(default_policies(config), metrics=metrics)
    audit = AuditLog(store, clock, metrics)
    registry = ModelRegistry(config, store, clock, metrics, policies, audit)
    await registry.open()
    return Env(config, store, clock, metrics, policies, audit, registry)


def small_model(seed: int = 0) -> Ridge:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([0.5, -0.2, 0.1]) + rng.normal(scale=0.01, size=50)
    return Ridge(alpha=1.0).fit(X, y)
