"""The forward holdout of a candidate: the stored signal events it has not seen, as a pack.

A candidate the engine trains is held out from the newest part of its data window at training
time; the events from the end of its (widened) training window to the clock's now become one
benchmark pack (``forward_holdout``) that the candidate is judged on, on top of the packs.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.models import EventType
from ordinis.engines.learning.evaluation.benchmarks import BenchmarkDataset, data_hash
from ordinis.engines.learning.events.store import EventQuery, EventStore

HOLDOUT_NAME = "forward_holdout"


def forward_holdout(
    store: EventStore, start: datetime, end: datetime, feature_names: list[str]
) -> BenchmarkDataset | None:
    """Signal events of ``(start, end]`` as a multi-asset pack (None when there are none).

    Each event's ``outcome`` is the return from its bar to the symbol's next bar, so it is the
    return realised at the next timestamp of the grid; features are the event's own (known at
    its close). A (timestamp, symbol) without an event is flat.
    """
    events = store.query_events(
        EventQuery(event_type=EventType.SIGNAL_GENERATED, start=start, end=end, limit=None)
    )
    rows: list[tuple[pd.Timestamp, str, list[float], float]] = []
    for ev in events:
        feats = ev.payload.get("features") if isinstance(ev.payload, dict) else None
        outcome = ev.outcome
        if ev.timestamp <= start or outcome is None or not isinstance(feats, dict):
            continue
        values = [feats.get(n) for n in feature_names]
        if any(not isinstance(v, int | float) or not np.isfinite(v) for v in values):
            continue
        if not np.isfinite(outcome):
            continue
        row = [float(v) for v in values if isinstance(v, int | float)]
        rows.append((pd.Timestamp(ev.timestamp), ev.symbol or "asset", row, float(outcome)))
    if len(rows) < 3:
        return None
    stamps = sorted({r[0] for r in rows})
    assets = sorted({r[1] for r in rows})
    pos = {t: i for i, t in enumerate(stamps)}
    col = {a: j for j, a in enumerate(assets)}
    ret = np.zeros((len(stamps), len(assets)))
    for t, a, _, outcome in rows:
        i = pos[t]
        if i + 1 < len(stamps):
            ret[i + 1, col[a]] = outcome
    index = pd.DatetimeIndex(stamps, name="timestamp")
    returns = pd.DataFrame(ret, index=index, columns=assets)
    close = (1.0 + returns).cumprod()
    feat_index = pd.MultiIndex.from_tuples(
        [(r[0], r[1]) for r in rows], names=["timestamp", "asset"]
    )
    features = pd.DataFrame([r[2] for r in rows], index=feat_index, columns=feature_names)
    features = features[~features.index.duplicated(keep="last")].sort_index()
    segments = ((pd.Timestamp(stamps[0]), pd.Timestamp(stamps[-1])),)
    return BenchmarkDataset(
        name=HOLDOUT_NAME,
        description=f"signal events after the training window, {stamps[0]:%Y-%m-%d}.."
        f"{stamps[-1]:%Y-%m-%d} (held out at training time)",
        close=close,
        returns=returns,
        features=features,
        segments=segments,
        version=data_hash(close, segments),
        asset_class="events",
        source="event store",
    )
