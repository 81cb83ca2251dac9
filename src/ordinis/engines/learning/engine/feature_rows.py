"""Feature frames read back from stored signal events (for data validation and drift)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.events.store import EventQuery, EventStore
from ordinis.engines.learning.features.bar_features import FEATURE_NAMES

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


def feature_frame(events: list[LearningEvent]) -> pd.DataFrame | None:
    """The bar features carried by signal events, as a frame with FEATURE_NAMES columns."""
    rows = [e.payload["features"] for e in events if isinstance(e.payload.get("features"), dict)]
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[c for c in FEATURE_NAMES if c in frame.columns])


def window_features(
    store: EventStore, start: datetime | None, end: datetime | None
) -> pd.DataFrame | None:
    """Features of the signal events of ``[start, end)``."""
    return feature_frame(signal_events(store, start, end))


def lineage_time(value: Any) -> datetime | None:
    """A lineage timestamp (ISO-8601), or None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
