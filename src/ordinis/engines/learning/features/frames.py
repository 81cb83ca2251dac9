"""Feature frames of stored events, and the feature names a version's lineage records.

Data validation, drift references and live drift checks read a version's own features
through these, so a host's feature names work wherever the built-in ones do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from ordinis.engines.learning.core.models import LearningEvent


def feature_frame(
    events: Iterable[LearningEvent], names: Sequence[str] | None = None
) -> pd.DataFrame | None:
    """``payload["features"]`` of the events as a frame (None when no event carries any).

    With ``names`` the frame has exactly those columns (absent values NaN), in that order.
    """
    rows = [e.payload["features"] for e in events
            if isinstance(e.payload.get("features"), Mapping)]
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    if names is None:
        return frame
    return frame.reindex(columns=list(names))


def lineage_feature_names(lineage: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The feature names a version was trained on (lineage ``feature_names``), or None."""
    raw = lineage.get("feature_names")
    if not raw:
        return None
    if isinstance(raw, str):
        return tuple(n for n in raw.split(",") if n)
    return tuple(str(n) for n in raw)
