"""Data and prediction drift of production models: references set on promotion, live checks."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import NotFoundError
from ordinis.engines.learning.core.models import DriftAlert, ModelStage
from ordinis.engines.learning.engine.feature_rows import (
    lineage_features,
    lineage_time,
    live_window,
    window_features,
)
from ordinis.engines.learning.events.store import EventStore

if TYPE_CHECKING:
    from ordinis.engines.learning.drift.monitor import DriftMonitor
    from ordinis.engines.learning.engine.offload import Offload
    from ordinis.engines.learning.registry import ModelRegistry, StageChange

log = logging.getLogger(__name__)

# The live window compared with the production reference, and the rows it needs.
_LIVE_DATA_DAYS = 60
_MIN_LIVE_ROWS = 50


class DriftReferences:
    """Profiles each production version's training data and compares live data with it."""

    def __init__(
        self, store: EventStore, clock: Clock, registry: ModelRegistry, drift: DriftMonitor,
        offload: Offload | None = None,
    ) -> None:
        self.offload = offload  # reads a reference window in the store-read helper
        self.store = store
        self.clock = clock
        self.registry = registry
        self.drift = drift
        self._reference_of: dict[str, str] = {}
        for name in registry.list_models():  # references survive restarts; rebind them
            prod = registry.get_production_model(name)
            if prod is not None and self._has_reference(name):
                self._reference_of[name] = prod.version_id

    def _has_reference(self, model_name: str) -> bool:
        try:
            self.drift.reference(model_name)
        except NotFoundError:
            return False
        return True

    async def on_stage_change(self, change: StageChange) -> None:
        """A new production version: its training window becomes the drift reference.

        Profiling reads the window and runs the model, so it runs in a worker thread.
        """
        if change.to_stage is not ModelStage.PRODUCTION:
            return
        try:
            await asyncio.to_thread(
                self.set_production_reference,
                change.model_name,
                f"{change.model_name}:{change.version}",
            )
        except Exception:
            log.exception("could not set the drift reference of %s", change.version)

    def set_production_reference(self, model_name: str, version_id: str) -> bool:
        """Profile the version's training features and its predictions on them (persisted)."""
        mv = self.registry.get_model_version(version_id)
        start = lineage_time(mv.lineage.get("window_start"))
        end = lineage_time(mv.lineage.get("window_end"))
        if end is None:
            return False
        model = self.registry.load_model(version_id)
        names = lineage_features(mv.lineage) or tuple(getattr(model, "feature_names", ()) or ())
        args = (self.store, start, end + timedelta(microseconds=1), names or None)
        features = (self.offload.call(window_features, *args) if self.offload is not None
                    else window_features(*args))
        if features is None or features.empty:
            return False
        features = features.dropna()
        predictions = np.asarray(model.predict(features), dtype=float)
        self.drift.set_reference(model_name, features, predictions)
        self._reference_of[model_name] = version_id
        return True

    def check_live_data(self) -> list[DriftAlert]:
        """Recent features and predictions of each production model vs its reference.

        Alerts go to the monitor's listeners like every other drift alert (and so to the loop).
        """
        alerts: list[DriftAlert] = []
        live = [
            name
            for name, version_id in self._reference_of.items()
            if (prod := self.registry.get_production_model(name)) is not None
            and prod.version_id == version_id
        ]
        if not live:
            return alerts
        end = self.clock.now()
        args = (self.store, end - timedelta(days=_LIVE_DATA_DAYS), end)
        # the same recent rows serve every model
        frame, signals = (self.offload.call(live_window, *args) if self.offload is not None
                          else live_window(*args))
        for model_name in live:
            names = lineage_features(
                self.registry.get_model_version(self._reference_of[model_name]).lineage)
            features = None if frame is None else (
                frame.reindex(columns=list(names)) if names else frame).dropna()
            if features is not None and len(features) >= _MIN_LIVE_ROWS:
                alerts += self.drift.check_data_drift(model_name, features)
            predictions = signals.get(model_name, [])
            if len(predictions) >= _MIN_LIVE_ROWS:
                alerts += self.drift.check_prediction_drift(model_name, np.asarray(predictions))
        return alerts
