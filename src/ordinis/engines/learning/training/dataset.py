"""Training datasets built from stored events: features in, realised next return as target.

A SIGNAL_GENERATED event whose ``outcome`` is the realised next return is one training row.
Its features are those of the job's feature set (see ``features.selection``): the event's
``payload["features"]`` (any names), or, for a store-sourced set, the FeatureStore's values
as of the event's time (an ASOF join on symbol and time). Everything else is counted and
reported, never silently used.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.errors import (
    FieldProblem,
    InsufficientDataError,
    ValidationError,
)
from ordinis.engines.learning.core.models import EventType, LearningEvent, TrainingJob
from ordinis.engines.learning.events.store import EventQuery, EventStore
from ordinis.engines.learning.features import (
    FEATURE_NAMES,
    FeatureSelection,
    FeatureSetRegistry,
    FeatureSource,
    FeatureStore,
    default_feature_sets,
    select_features,
    validate_feature_config,
)

DEFAULT_FEATURE_SET = "bar_features"

USABLE_EVENTS = (
    "SIGNAL_GENERATED events whose payload['features'] holds every feature as a finite number "
    "and whose outcome (the realised next return) is a finite number"
)


@dataclass(slots=True)
class Dataset:
    """A supervised, time-ordered training set: one row per usable signal event."""

    X: pd.DataFrame
    y: pd.Series
    timestamps: pd.Series
    symbols: pd.Series
    window_start: datetime | None
    window_end: datetime | None
    feature_set: str = DEFAULT_FEATURE_SET
    n_dropped: int = 0
    drop_reasons: dict[str, int] = field(default_factory=dict)
    feature_set_version: int = 1
    feature_report: str = ""

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.X.columns)

    @property
    def n_samples(self) -> int:
        return len(self.X)

    def fingerprint(self) -> str:
        """SHA-256 of features, target and timestamps: identifies the exact data trained on."""
        h = hashlib.sha256()
        h.update(pd.util.hash_pandas_object(self.X, index=False).to_numpy().tobytes())
        h.update(pd.util.hash_pandas_object(self.y, index=False).to_numpy().tobytes())
        h.update(pd.util.hash_pandas_object(self.timestamps, index=False).to_numpy().tobytes())
        return h.hexdigest()


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def build_signal_dataset(
    events: Sequence[LearningEvent],
    min_samples: int,
    feature_names: Sequence[str] = FEATURE_NAMES,
    feature_set: str = DEFAULT_FEATURE_SET,
    feature_set_version: int = 1,
    feature_report: str = "",
) -> Dataset:
    """Turn SIGNAL_GENERATED events into a time-ordered Dataset (features from the payload).

    Raises InsufficientDataError (saying how many rows are usable, how many are needed and
    which events count) when fewer than ``min_samples`` rows survive.
    """
    names = [str(n) for n in feature_names]
    if not names:
        raise ValueError("feature_names: must name at least one feature")
    reasons: dict[str, int] = {}
    rows: list[list[float]] = []
    targets: list[float] = []
    stamps: list[datetime] = []
    syms: list[str] = []
    ids: list[str] = []

    def drop(reason: str) -> None:
        reasons[reason] = reasons.get(reason, 0) + 1

    for ev in events:
        if ev.event_type is not EventType.SIGNAL_GENERATED:
            drop("not a SIGNAL_GENERATED event")
            continue
        outcome = _finite(ev.outcome)
        if outcome is None:
            drop("no finite outcome (realised next return)")
            continue
        feats = ev.payload.get("features") if isinstance(ev.payload, Mapping) else None
        if not isinstance(feats, Mapping):
            drop("no payload['features'] mapping")
            continue
        values = [_finite(feats.get(n)) for n in names]
        if any(v is None for v in values):
            drop("missing or non-finite features")
            continue
        rows.append([v for v in values if v is not None])
        targets.append(outcome)
        stamps.append(ev.timestamp)
        syms.append(ev.symbol or "")
        ids.append(ev.event_id)

    _require_rows(len(rows), min_samples, len(events), reasons, names)
    return _assemble(rows, targets, stamps, syms, ids, names, reasons,
                     feature_set, feature_set_version, feature_report)


def _require_rows(n: int, min_samples: int, n_events: int, reasons: dict[str, int],
                  names: Sequence[str]) -> None:
    if n >= min_samples:
        return
    n_dropped = sum(reasons.values())
    detail = ", ".join(f"{k} {r}" for r, k in sorted(reasons.items())) or "none dropped"
    raise InsufficientDataError(
        f"insufficient training data: {n} usable samples, at least {min_samples} "
        f"needed (min_samples). Usable samples are {USABLE_EVENTS} (features: "
        f"{', '.join(names)}). Of {n_events} events given, {n_dropped} were dropped ({detail}). "
        "Record more signal events with features and outcomes, widen the data window, or "
        "lower min_samples."
    )


def _assemble(
    rows: list[list[float]], targets: list[float], stamps: list[datetime], syms: list[str],
    ids: list[str], names: Sequence[str], reasons: dict[str, int], feature_set: str,
    feature_set_version: int, feature_report: str,
) -> Dataset:
    # Time order (ties by symbol, then event id) so holdouts and CV splits never look ahead.
    order = sorted(range(len(rows)), key=lambda i: (stamps[i], syms[i], ids[i]))
    X = pd.DataFrame([rows[i] for i in order], columns=list(names), dtype=float)
    y = pd.Series([targets[i] for i in order], name="next_return", dtype=float)
    ts = pd.Series(pd.to_datetime([stamps[i] for i in order], utc=True), name="timestamp")
    symbols = pd.Series([syms[i] for i in order], name="symbol", dtype=object)
    return Dataset(
        X=X,
        y=y,
        timestamps=ts,
        symbols=symbols,
        window_start=stamps[order[0]] if order else None,
        window_end=stamps[order[-1]] if order else None,
        feature_set=feature_set,
        n_dropped=sum(reasons.values()),
        drop_reasons=reasons,
        feature_set_version=feature_set_version,
        feature_report=feature_report,
    )


def build_store_dataset(
    events: Sequence[LearningEvent],
    min_samples: int,
    selection: FeatureSelection,
    store: FeatureStore,
) -> Dataset:
    """Labelled signal events joined point-in-time to a store-sourced set's stored values.

    Each row takes, per feature, the latest value of its symbol stamped at or before the
    event (within the set's TTL); rows left without every feature are dropped and counted.
    """
    fs = selection.feature_set
    reasons: dict[str, int] = {}

    def drop(reason: str) -> None:
        reasons[reason] = reasons.get(reason, 0) + 1

    labelled: list[LearningEvent] = []
    for ev in events:
        if ev.event_type is not EventType.SIGNAL_GENERATED:
            drop("not a SIGNAL_GENERATED event")
        elif _finite(ev.outcome) is None:
            drop("no finite outcome (realised next return)")
        elif not ev.symbol:
            drop("no symbol (the feature store's entity)")
        else:
            labelled.append(ev)
    rows: list[list[float]] = []
    targets: list[float] = []
    stamps: list[datetime] = []
    syms: list[str] = []
    ids: list[str] = []
    if labelled:
        keys = pd.DataFrame({"entity": [e.symbol for e in labelled],
                             "timestamp": [e.timestamp for e in labelled]})
        values = store.get_historical_features(fs.name, keys, version=fs.version)
        matrix = values[list(fs.names)].to_numpy(dtype=float)
        complete = np.isfinite(matrix).all(axis=1)
        for ev, ok, row in zip(labelled, complete, matrix, strict=True):
            if not ok:
                drop("no stored value at or before the event (within the TTL) for every feature")
                continue
            rows.append([float(v) for v in row])
            targets.append(float(ev.outcome))  # type: ignore[arg-type]
            stamps.append(ev.timestamp)
            syms.append(ev.symbol or "")
            ids.append(ev.event_id)
    _require_rows(len(rows), min_samples, len(events), reasons, fs.names)
    return _assemble(rows, targets, stamps, syms, ids, fs.names, reasons, fs.name, fs.version,
                     selection.report)


def dataset_for_job(
    config: Mapping[str, Any],
    events: Sequence[LearningEvent],
    min_samples: int,
    feature_sets: FeatureSetRegistry,
    feature_store: FeatureStore | None = None,
) -> Dataset:
    """The job's dataset: its features chosen (named, listed or discovered), then built."""
    selection = select_features(config, feature_sets, events)
    fs = selection.feature_set
    if fs.source is FeatureSource.STORE:
        if feature_store is None:
            raise ValidationError("training job config", [FieldProblem(
                "config.feature_set", fs.ref,
                "is read from the feature store, but this engine has none; enable it "
                "(LearningEngine feature store) or use a payload feature set")])
        return build_store_dataset(events, min_samples, selection, feature_store)
    return build_signal_dataset(events, min_samples, fs.names, fs.name, fs.version,
                                selection.report)


def validate_dataset_config(config: Mapping[str, Any]) -> list[FieldProblem]:
    """Problems of a job config's dataset keys (min_samples, start, end, symbols, source_engine,
    feature_set / features / min_feature_coverage)."""
    problems: list[FieldProblem] = validate_feature_config(config)
    if "min_samples" in config:
        v = config["min_samples"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            problems.append(FieldProblem("config.min_samples", v, "must be an integer >= 1"))
    for key in ("start", "end"):
        if key in config and config[key] is not None:
            try:
                _parse_time(config[key])
            except ValueError:
                problems.append(
                    FieldProblem(
                        f"config.{key}", config[key],
                        "must be an ISO-8601 time, e.g. 2020-01-01T00:00:00+00:00 (naive = UTC)",
                    )
                )
    if "symbol" in config and config["symbol"] is not None and not (
        isinstance(config["symbol"], str) and config["symbol"]
    ):
        problems.append(FieldProblem("config.symbol", config["symbol"], "must be a symbol string"))
    if "symbols" in config:
        v = config["symbols"]
        if not isinstance(v, list | tuple) or not all(isinstance(s, str) and s for s in v):
            problems.append(FieldProblem("config.symbols", v, "must be a list of symbol strings"))
    if "source_engine" in config and not isinstance(config["source_engine"], str):
        problems.append(
            FieldProblem("config.source_engine", config["source_engine"], "must be a string")
        )
    return problems


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, str):
        ts = datetime.fromisoformat(value)
    else:
        raise ValueError(value)
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)  # naive means UTC


def events_dataset_builder(
    store: EventStore,
    min_samples: int,
    feature_sets: FeatureSetRegistry | None = None,
    feature_store: FeatureStore | None = None,
) -> Callable[[TrainingJob], Dataset]:
    """A ``dataset_builder`` for TrainingExecutor: reads SIGNAL_GENERATED events from the store.

    Job config keys: ``min_samples`` (default ``min_samples``), ``start``/``end`` (ISO times),
    ``symbol`` or ``symbols`` (list), ``source_engine``, and the feature keys
    (``feature_set`` or ``features``; neither: discovered from the events).
    """
    registry = feature_sets or default_feature_sets()

    def build(job: TrainingJob) -> Dataset:
        cfg = job.config
        start = _parse_time(cfg["start"]) if cfg.get("start") else None
        end = _parse_time(cfg["end"]) if cfg.get("end") else None
        symbols = list(cfg.get("symbols") or [cfg.get("symbol")])
        events: list[LearningEvent] = []
        for sym in symbols:
            events.extend(
                store.query_events(
                    EventQuery(
                        event_type=EventType.SIGNAL_GENERATED,
                        start=start,
                        end=end,
                        symbol=sym,
                        source_engine=cfg.get("source_engine"),
                        limit=None,
                    )
                )
            )
        need = int(cfg.get("min_samples", min_samples))
        return dataset_for_job(cfg, events, need, registry, feature_store)

    return build
