"""Feature frames read back from stored signal events (for data validation and drift).

Each frame is in the columns of one version's own feature set (its lineage ``feature_names``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.events.store import EventQuery, EventStore
from ordinis.engines.learning.features import (
    DISCOVERED_SET,
    LISTED_SET,
    feature_frame,
    lineage_feature_names,
)

# At most this many rows of features are read back for one check.
MAX_FEATURE_ROWS = 50_000


def signal_events(
    store: EventStore, start: datetime | None, end: datetime | None
) -> list[LearningEvent]:
    """The newest signal events of ``[start, end)``, at most MAX_FEATURE_ROWS."""
    return store.query_events(
        EventQuery(
            event_type=EventType.SIGNAL_GENERATED,
            start=start,
            end=end,
            limit=MAX_FEATURE_ROWS,
            descending=True,
        )
    )


def window_features(
    store: EventStore, start: datetime | None, end: datetime | None,
    names: Sequence[str] | None = None,
) -> pd.DataFrame | None:
    """Features of the signal events of ``[start, end)`` (in ``names``' columns when given)."""
    return feature_frame(signal_events(store, start, end), names)


def live_window(
    store: EventStore, start: datetime | None, end: datetime | None
) -> tuple[pd.DataFrame | None, dict[str, list[float]]]:
    """One read of recent signal events: their feature frame and each model's numeric signals
    (the live drift check's inputs; built in the store-read helper, off the host's heap)."""
    events = signal_events(store, start, end)
    signals: dict[str, list[float]] = {}
    for e in events:
        name, value = e.payload.get("model_name"), e.payload.get("signal")
        if isinstance(name, str) and isinstance(value, int | float):
            signals.setdefault(name, []).append(float(value))
    return feature_frame(events), signals


def lineage_features(lineage: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The feature names a version was trained on (None for versions from before sets)."""
    return lineage_feature_names(lineage)


def retrain_feature_config(lineage: Mapping[str, Any]) -> dict[str, Any]:
    """Job config keys that keep a model's feature set on retrain (named version or its list)."""
    name = lineage.get("feature_set")
    version = lineage.get("feature_set_version")
    if name and version and name not in (DISCOVERED_SET, LISTED_SET):
        return {"feature_set": f"{name}@v{version}"}
    names = lineage_feature_names(lineage)
    return {"features": list(names)} if names else {}


def lineage_time(value: Any) -> datetime | None:
    """A lineage timestamp (ISO-8601; a naive one is UTC), or None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
