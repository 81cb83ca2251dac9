"""The host's SignalEngine: every bar it asks the engine which model serves and what it says.

With a production version, the engine serves: ``engine.predict_batch(model, symbols, frame)``
routes each symbol (the router picks champion or canary candidate, shadows run off the path),
predicts each version's rows in one call and records each prediction with its serving version.
While no version holds production (the staging path, labelled so in the console and the
report), the version the demo's operator staged serves: loaded through ``engine.load_model``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ordinis.engines.learning import LearningEngine, LearningEngineError, ModelVersion


@dataclass(frozen=True, slots=True)
class ServedSignal:
    """One symbol's signal of one bar and who gave it (``rule`` when no model serves)."""

    symbol: str
    value: float
    version_id: str
    prediction_id: str | None = None


class _StagingPath:
    """The serving version when the engine serves none: the version the operator staged.

    ``serving`` is the production version when there is one (then the engine serves), else the
    staged version, predicted here in one batch per bar.
    """

    def __init__(self, engine: LearningEngine, model_name: str) -> None:
        self.engine = engine
        self.model_name = model_name
        self.staged: str | None = None
        self._loaded: tuple[str, Any] | None = None

    def serving(self) -> ModelVersion | None:
        prod = self.engine.get_production_model(self.model_name)
        if prod is not None:
            return prod
        return self.engine.get_model_version(self.staged) if self.staged else None

    def predict(self, symbols: list[str], frame: pd.DataFrame) -> list[ServedSignal] | None:
        mv = self.serving()
        if mv is None:
            return None
        if self._loaded is None or self._loaded[0] != mv.version_id:
            self._loaded = (mv.version_id, self.engine.load_model(mv.version_id))
        values = np.asarray(self._loaded[1].predict(frame), dtype=float)
        return [
            ServedSignal(sym, float(v), mv.version_id)
            for sym, v in zip(symbols, values, strict=True)
        ]


class SignalEngine:
    """Signals of every symbol of a bar: the engine's serving model, else the host's own rule."""

    def __init__(
        self,
        engine: LearningEngine,
        model_name: str,
        feature_names: tuple[str, ...],
        fallback: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        self.engine = engine
        self.model_name = model_name
        self.feature_names = feature_names
        self._columns = pd.Index(feature_names)  # built once: a list costs ~10x per frame
        self.fallback = fallback
        self.adapter = _StagingPath(engine, model_name)

    def stage(self, version_id: str | None) -> None:
        """The staging path: serve this staged version while no version holds production."""
        self.adapter.staged = version_id

    def serving_version(self) -> str | None:
        """The version that serves now (None: the host's rule trades)."""
        mv = self.adapter.serving()
        return None if mv is None else mv.version_id

    def bar(self, symbols: list[str], features: np.ndarray) -> list[ServedSignal]:
        """One signal per symbol for this bar's feature rows (rows of NaN never reach a model)."""
        rows = np.where(np.isfinite(features), features, 0.0)  # a row of NaN is never traded
        frame = pd.DataFrame(rows, columns=self._columns, copy=False)
        served = self._from_engine(symbols, frame)
        if served is not None:
            return served
        values = self.fallback(features)
        return [ServedSignal(s, float(v), "rule") for s, v in zip(symbols, values, strict=True)]

    def _from_engine(self, symbols: list[str], frame: pd.DataFrame) -> list[ServedSignal] | None:
        if self.engine.get_production_model(self.model_name) is None:
            return self.adapter.predict(symbols, frame)
        try:
            batch = self.engine.predict_batch(self.model_name, symbols, frame)
        except LearningEngineError:
            return None
        return [ServedSignal(p.key, float(p.value), p.version_id, p.prediction_id) for p in batch]
