"""DriftMonitor: performance, data, prediction and concept drift of production models.

It keeps per-model baselines (bounds precomputed), training references, one streaming detector
per (model, stream) and the open drift episodes; every alert is persisted in the event store,
counted in Prometheus and handed to listeners (the engine's retraining policy). Synchronous:
the store calls are short and the engine runs them in its worker thread.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.clock import Clock, ScheduledTask, Scheduler
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import (
    FieldProblem,
    NotFoundError,
    StoreError,
    ValidationError,
)
from ordinis.engines.learning.core.models import (
    DriftAlert,
    DriftSeverity,
    DriftType,
    MetricDrift,
)
from ordinis.engines.learning.drift.baselines import (
    MetricCheck,
    MetricDirection,
    PerformanceBaseline,
    no_baseline,
    stored_baselines,
)
from ordinis.engines.learning.drift.cusum import AutocorrelatedCUSUM
from ordinis.engines.learning.drift.data_drift import (
    REFERENCE_KIND,
    DataDriftThresholds,
    FeatureDriftResult,
    ReferenceProfile,
    build_profile,
    compare_feature,
)
from ordinis.engines.learning.drift.detectors import DriftDetector
from ordinis.engines.learning.drift.hysteresis import (
    EPISODE_KIND,
    Episode,
    EpisodeBook,
    EpisodeEvent,
)
from ordinis.engines.learning.drift.records import drift_alert_to_record, stored_alerts
from ordinis.engines.learning.drift.tracker import LivePerformanceTracker
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.tracing import traced_check

DEFAULT_STREAM_DETECTOR: Callable[[], DriftDetector] = AutocorrelatedCUSUM
"""The streaming detector a monitor builds per stream unless given one: the detector that
won the held-out evaluation of ``benchmarks/drift_detection.py`` (docs/drift.md)."""

log = logging.getLogger(__name__)

AlertListener = Callable[[DriftAlert], None]


class DriftMonitor:
    """Detects drift of production models and raises one alert per drift episode.

    ``recovery_checks`` consecutive checks inside the recovery band (``recovery_fraction`` of
    the threshold) close an episode; a stream's episode closes after ``stream_cooldown``
    updates without a detection. ``min_live_samples`` outcomes are needed before live metrics
    are compared with the baseline.
    """

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        metrics: LearningMetrics,
        config: LearningEngineConfig,
        detector_factory: Callable[[], DriftDetector] | None = None,
        *,
        recovery_checks: int = 3,
        recovery_fraction: float = 0.5,
        stream_cooldown: int = 50,
        min_live_samples: int = 30,
        data_thresholds: DataDriftThresholds | None = None,
        directions: Mapping[str, MetricDirection] | None = None,
    ) -> None:
        problems: list[FieldProblem] = []
        if recovery_checks < 1:
            problems.append(FieldProblem("recovery_checks", recovery_checks, "must be >= 1"))
        if not 0 <= recovery_fraction < 1:
            problems.append(FieldProblem("recovery_fraction", recovery_fraction,
                                         "must be in [0, 1)"))
        if stream_cooldown < 1:
            problems.append(FieldProblem("stream_cooldown", stream_cooldown, "must be >= 1"))
        if problems:
            raise ValidationError("DriftMonitor settings", problems)
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.config = config
        self.detector_factory: Callable[[], DriftDetector] = (
            detector_factory or DEFAULT_STREAM_DETECTOR
        )
        self.recovery_fraction = recovery_fraction
        self.min_live_samples = min_live_samples
        self.data_thresholds = data_thresholds or DataDriftThresholds()
        self.directions: dict[str, MetricDirection] = dict(directions or {})
        self._baselines: dict[str, PerformanceBaseline] = {}
        self._references: dict[str, ReferenceProfile] = {}
        self._detectors: dict[tuple[str, str], DriftDetector] = {}
        self._episodes = EpisodeBook(recovery_checks)
        self._stream_episodes = EpisodeBook(stream_cooldown)
        self._listeners: list[AlertListener] = []
        self._tracker: LivePerformanceTracker | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ lifecycle
    def load(self) -> None:
        """Restore baselines, references and open episodes from the store (call on start)."""
        baselines = stored_baselines(
            self.store, self.config.drift_threshold_pct, self.recovery_fraction)
        refs = [ReferenceProfile.from_record(r) for r in self.store.list_records(REFERENCE_KIND)]
        episodes = [Episode.from_record(r) for r in self.store.list_records(EPISODE_KIND)]
        with self._lock:
            self._baselines.update(baselines)
            self._references.update({p.model_name: p for p in refs})
            self._episodes.load([e for e in episodes if e.drift_type is not DriftType.CONCEPT])
            self._stream_episodes.load([e for e in episodes if e.drift_type is DriftType.CONCEPT])

    def add_listener(self, callback: AlertListener) -> None:
        """Call ``callback(alert)`` for every alert raised (after it is persisted)."""
        self._listeners.append(callback)

    # ------------------------------------------------------------------ performance drift
    def set_baseline(self, model_name: str, metrics: dict[str, float]) -> None:
        """Set (replace) the model's baseline metrics; bounds are computed now, persisted first.

        Open performance episodes of the model were measured against the old baseline: they
        end, so the next check under the new one alerts afresh instead of staying silent."""
        baseline = PerformanceBaseline.create(
            model_name, metrics, self.config.drift_threshold_pct, self.clock.now(),
            {k: v for k, v in self.directions.items() if k in metrics}, self.recovery_fraction,
        )
        self._put(baseline.to_record(self.clock.now()), "baseline")
        with self._lock:
            self._baselines[model_name] = baseline
            measured = [e for e in self._episodes.open_episodes(model_name)
                        if e.drift_type is DriftType.PERFORMANCE]
        self.metrics.model_baseline_age_seconds.labels(model_name=model_name).set(0.0)
        for episode in measured:  # measured against the old baseline: they end with it
            try:
                self.store.delete_record(EPISODE_KIND, episode.key)
            except Exception as exc:
                raise StoreError(
                    f"baseline of {model_name!r} set, but its open episode {episode.key} could "
                    f"not be ended: {exc}; set the baseline again once the store is back"
                ) from exc
            with self._lock:
                self._episodes.end(episode.key)

    def baseline(self, model_name: str) -> PerformanceBaseline:
        """The model's baseline; NotFoundError when none was set."""
        with self._lock:
            b = self._baselines.get(model_name)
        if b is None:
            raise no_baseline(model_name)
        return b

    def baselines(self) -> dict[str, PerformanceBaseline]:
        """Every model's baseline by name (the checks' own, whether the model is registered
        here or not)."""
        with self._lock:
            return dict(self._baselines)

    def baseline_metrics(self, model_name: str) -> dict[str, float]:
        """The model's baseline metrics ({} when none was set): what the loop compares with."""
        with self._lock:
            b = self._baselines.get(model_name)
        return {} if b is None else dict(b.metrics)

    def has_baseline(self, model_name: str) -> bool:
        with self._lock:
            return model_name in self._baselines

    @traced_check("learning.drift.check")
    def check_drift(self, model_name: str, current_metrics: dict[str, float]) -> list[DriftAlert]:
        """Compare current metrics with the baseline; returns the alerts raised by this check.

        Metrics without a baseline and NaN values are ignored; a model without a baseline
        gives no alert. Within an open episode nothing is raised except an escalation.
        """
        current = _numbers(current_metrics, "current_metrics")
        with self._lock:
            baseline = self._baselines.get(model_name)
            if baseline is None:
                return []
            now = self.clock.now()
            self.metrics.model_baseline_age_seconds.labels(model_name=model_name).set(
                max((now - baseline.set_at).total_seconds(), 0.0)
            )
            raised: list[DriftAlert] = []
            for name, value in current.items():
                chk = baseline.check(name, value)
                if chk is None:
                    continue
                self.metrics.model_drift_ratio.labels(model_name=model_name, metric_name=name).set(
                    chk.ratio
                )
                alert = self._episode_step(
                    model_name, name, DriftType.PERFORMANCE, chk.severity, chk.recovered, now,
                    _performance_alert(model_name, chk, baseline, now),
                )
                if alert is not None:
                    raised.append(alert)
        self._notify(raised)
        return raised

    def check_live(self, model_name: str, tracker: LivePerformanceTracker) -> list[DriftAlert]:
        """Compare the tracker's rolling live metrics with the model's baseline."""
        with self._lock:
            baseline = self._baselines.get(model_name)
        if baseline is None:
            return []
        live = tracker.metrics(model_name)
        if live.n < self.min_live_samples:
            return []
        current = {k: v for k, v in live.as_dict().items() if k in baseline.metrics}
        return self.check_drift(model_name, current)

    def update_live(self, model_name: str) -> list[DriftAlert]:
        """``check_live`` against the tracker given to ``schedule``/``attach_tracker``."""
        if self._tracker is None:
            raise NotFoundError(
                "DriftMonitor has no live tracker; call attach_tracker(tracker) or "
                "schedule(scheduler, tracker) first"
            )
        return self.check_live(model_name, self._tracker)

    def attach_tracker(self, tracker: LivePerformanceTracker) -> None:
        self._tracker = tracker

    # ------------------------------------------------------------------ data / prediction drift
    def set_reference(
        self, model_name: str, features: pd.DataFrame, predictions: np.ndarray | None = None
    ) -> ReferenceProfile:
        """Profile the training features (and predictions) once; persisted before it is used."""
        profile = build_profile(model_name, features, predictions, self.clock.now())
        self._put(profile.to_record(self.clock.now()), "reference")
        with self._lock:
            self._references[model_name] = profile
        return profile

    def reference(self, model_name: str) -> ReferenceProfile:
        with self._lock:
            ref = self._references.get(model_name)
        if ref is None:
            raise NotFoundError(
                f"no drift reference for model {model_name!r}; call set_reference(model_name, "
                "training_features, predictions) first"
            )
        return ref

    def data_drift_report(
        self, model_name: str, features: pd.DataFrame
    ) -> list[FeatureDriftResult]:
        """Per-feature PSI, KS and Wasserstein against the reference (no alert, no state)."""
        ref = self.reference(model_name)
        if not isinstance(features, pd.DataFrame):
            raise ValidationError(
                "data drift check",
                [FieldProblem("features", type(features).__name__, "must be a pandas DataFrame")],
            )
        missing = [c for c in ref.features if c not in features.columns]
        if missing:
            raise ValidationError(
                f"data drift check of model {model_name!r}",
                [FieldProblem("features", missing,
                              "columns of the reference are missing from the live batch")],
            )
        return [
            compare_feature(fr, features[name].to_numpy(dtype=float), self.data_thresholds)
            for name, fr in ref.features.items()
        ]

    @traced_check("learning.drift.check_data")
    def check_data_drift(self, model_name: str, features: pd.DataFrame) -> list[DriftAlert]:
        """Alerts for the features whose distribution moved away from the training reference."""
        results = self.data_drift_report(model_name, features)
        return self._distribution_alerts(model_name, DriftType.DATA, results)

    def prediction_drift_report(self, model_name: str, predictions: Any) -> FeatureDriftResult:
        ref = self.reference(model_name)
        if ref.predictions is None:
            raise NotFoundError(
                f"model {model_name!r} has no prediction reference; pass the training "
                "predictions to set_reference(model_name, features, predictions)"
            )
        return compare_feature(ref.predictions, predictions, self.data_thresholds)

    @traced_check("learning.drift.check_prediction")
    def check_prediction_drift(self, model_name: str, predictions: Any) -> list[DriftAlert]:
        """Alert when the distribution of the model's outputs moved away from training."""
        result = self.prediction_drift_report(model_name, predictions)
        return self._distribution_alerts(model_name, DriftType.PREDICTION, [result])

    def _distribution_alerts(
        self, model_name: str, drift_type: DriftType, results: list[FeatureDriftResult]
    ) -> list[DriftAlert]:
        now = self.clock.now()
        raised: list[DriftAlert] = []
        with self._lock:
            for r in results:
                metric = "prediction" if drift_type is DriftType.PREDICTION else r.feature
                self.metrics.model_drift_ratio.labels(
                    model_name=model_name, metric_name=f"{drift_type.value}:{metric}"
                ).set(r.psi.statistic)
                alert = self._episode_step(
                    model_name, metric, drift_type, r.severity, r.recovered, now,
                    _distribution_alert(model_name, drift_type, metric, r, now),
                )
                if alert is not None:
                    raised.append(alert)
        self._notify(raised)
        return raised

    # ------------------------------------------------------------------ streaming (concept) drift
    def update_stream(self, model_name: str, stream: str, value: float) -> DriftAlert | None:
        """Feed one value of a model's stream ("error", "pnl", ...) to its detector.

        A detection opens a concept-drift episode (WARNING); another detection inside it
        escalates once (CRITICAL); ``stream_cooldown`` quiet updates close it.
        """
        key = (model_name, stream)
        det = self._detectors.get(key)
        if det is None:
            if not model_name or not stream:
                raise ValidationError(
                    "stream update",
                    [FieldProblem("model_name/stream", (model_name, stream), "must be non-empty")],
                )
            det = self._detectors[key] = self.detector_factory()
        det.update(value)
        detected = det.drift_detected
        book = self._stream_episodes
        if not detected and not book.any_open:  # hot path: nothing to do
            return None
        with self._lock:
            ep_key = f"{model_name}|{stream}|{DriftType.CONCEPT.value}"
            if not detected and book.get(ep_key) is None:
                return None
            sev = None
            if detected:
                sev = DriftSeverity.CRITICAL if book.get(ep_key) else DriftSeverity.WARNING
            now = self.clock.now()
            ref = getattr(det, "reference", None)
            baseline_value = float(ref[0]) if isinstance(ref, tuple) and ref else math.nan
            alert = self._episode_step(
                model_name, stream, DriftType.CONCEPT, sev, not detected, now,
                _stream_alert(model_name, stream, float(value), baseline_value, det, now),
                book=book,
            )
        if alert is not None:
            self._notify([alert])
        return alert

    def detector(self, model_name: str, stream: str) -> DriftDetector | None:
        return self._detectors.get((model_name, stream))

    # ------------------------------------------------------------------ alerts
    def alerts(
        self,
        model_name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        severity: DriftSeverity | str | None = None,
        drift_type: DriftType | str | None = None,
    ) -> list[DriftAlert]:
        """Persisted alerts, oldest first; time bounds are inclusive start, exclusive end."""
        sev = DriftSeverity(severity) if severity is not None else None
        dt = DriftType(drift_type) if drift_type is not None else None
        out = stored_alerts(self.store, model_name, start, end)
        return [a for a in out if (sev is None or a.severity is sev)
                and (dt is None or a.drift_type is dt)]

    def compare(self, model_name: str, current_metrics: dict[str, float]) -> list[MetricDrift]:
        """Where each reported metric stands against the baseline, with its open episode;
        changes nothing and raises no alert. Metrics without a baseline and NaNs are left out."""
        current = _numbers(current_metrics, "current_metrics")
        with self._lock:
            baseline = self._baselines.get(model_name)
            if baseline is None:
                return []
            episodes = {e.metric: e for e in self._episodes.open_episodes(model_name)
                        if e.drift_type is DriftType.PERFORMANCE}
            out: list[MetricDrift] = []
            for name, value in current.items():
                chk = baseline.check(name, value)
                if chk is None:
                    continue
                ep = episodes.get(name)
                out.append(MetricDrift(
                    metric=name, value=chk.value, baseline=chk.baseline, ratio=chk.ratio,
                    threshold=chk.threshold, severity=chk.severity,
                    episode_severity=ep.severity if ep else None,
                    episode_opened_at=ep.opened_at if ep else None,
                ))
        return out

    def open_episodes(self, model_name: str | None = None) -> list[Episode]:
        with self._lock:
            return (self._episodes.open_episodes(model_name)
                    + self._stream_episodes.open_episodes(model_name))

    # ------------------------------------------------------------------ schedule
    def schedule(self, scheduler: Scheduler, tracker: LivePerformanceTracker) -> ScheduledTask:
        """Check every model with a baseline against the tracker every drift_check_interval."""
        self.attach_tracker(tracker)

        def tick() -> None:
            self.run_scheduled_checks()

        return scheduler.every(self.config.drift_check_interval_seconds, tick,
                               name="drift_monitor.check")

    def run_scheduled_checks(self) -> list[DriftAlert]:
        """One round of live checks (what the scheduled task runs)."""
        if self._tracker is None or not self.config.enable_drift_detection:
            return []
        with self._lock:
            models = list(self._baselines)
        raised: list[DriftAlert] = []
        for model in models:
            raised.extend(self.check_live(model, self._tracker))
        return raised

    # ------------------------------------------------------------------ internals
    def _episode_step(
        self,
        model_name: str,
        metric: str,
        drift_type: DriftType,
        severity: DriftSeverity | None,
        recovered: bool,
        now: datetime,
        make_alert: AlertFactory,
        book: EpisodeBook | None = None,
    ) -> DriftAlert | None:
        """Advance the episode; persist the alert and episode change, or roll back on failure."""
        book = book or self._episodes
        key = f"{model_name}|{metric}|{drift_type.value}"
        before = book.snapshot(key)
        event, ep = book.observe(model_name, metric, drift_type, severity, recovered, now)
        if event is None or ep is None:
            return None
        try:
            if event is EpisodeEvent.CLOSED:
                self.store.delete_record(EPISODE_KIND, key)
                return None
            alert = make_alert(ep.severity, event)
            self.store.put_record(drift_alert_to_record(alert))
            ep.last_alert_id = alert.alert_id
            self.store.put_record(ep.to_record(now))
        except Exception as exc:
            book.restore(key, before)
            raise StoreError(f"could not persist drift state of {key}: {exc}") from exc
        self.metrics.drift_alerts_total.labels(
            model_name=model_name, severity=alert.severity.value, drift_type=drift_type.value
        ).inc()
        if event is EpisodeEvent.OPENED:
            self.metrics.drift_episodes_total.labels(
                model_name=model_name, drift_type=drift_type.value
            ).inc()
        return alert

    def _notify(self, alerts: list[DriftAlert]) -> None:
        for alert in alerts:
            for cb in list(self._listeners):
                try:
                    cb(alert)
                except Exception:  # a listener's bug must not stop drift detection
                    log.exception("drift alert listener %r failed on %s", cb, alert.alert_id)

    def _put(self, record: Any, what: str) -> None:
        try:
            self.store.put_record(record)
        except Exception as exc:
            raise StoreError(f"could not persist drift {what} of {record.key}: {exc}") from exc


def _numbers(values: Mapping[str, Any], field_name: str) -> dict[str, float]:
    if not isinstance(values, Mapping):
        raise ValidationError(
            "drift check",
            [FieldProblem(field_name, type(values).__name__, "must be a dict of metric: number")],
        )
    out: dict[str, float] = {}
    problems: list[FieldProblem] = []
    for name, value in values.items():
        try:
            out[str(name)] = float(value)
        except (TypeError, ValueError):
            problems.append(FieldProblem(f"{field_name}.{name}", value, "must be a number"))
    if problems:
        raise ValidationError("drift check", problems)
    return out


AlertFactory = Callable[[DriftSeverity, EpisodeEvent], DriftAlert]


def _performance_alert(
    model_name: str, chk: MetricCheck, baseline: PerformanceBaseline, now: datetime
) -> AlertFactory:
    def make(severity: DriftSeverity, event: EpisodeEvent) -> DriftAlert:
        return DriftAlert(
            model_name=model_name, drift_type=DriftType.PERFORMANCE, severity=severity,
            metric=chk.metric, current_value=chk.value, baseline_value=chk.baseline,
            threshold=chk.threshold, detected_at=now,
            details={
                "drift_ratio": chk.ratio,
                "critical_threshold": 2.0 * chk.threshold,
                "direction": baseline.bounds[chk.metric].direction.value,
                "episode": event.value,
            },
        )

    return make


def _distribution_alert(
    model_name: str, drift_type: DriftType, metric: str, r: FeatureDriftResult, now: datetime
) -> AlertFactory:
    def make(severity: DriftSeverity, event: EpisodeEvent) -> DriftAlert:
        return DriftAlert(
            model_name=model_name, drift_type=drift_type, severity=severity, metric=metric,
            current_value=r.psi.statistic, baseline_value=0.0, threshold=r.psi.threshold,
            detected_at=now,
            details={
                "episode": event.value,
                "n_current": r.n_current,
                "tests": {
                    t.test: {"statistic": t.statistic, "p_value": t.p_value,
                             "threshold": t.threshold, "drifted": t.drifted}
                    for t in (r.psi, r.ks, r.wasserstein)
                },
                **r.details,
            },
        )

    return make


def _stream_alert(
    model_name: str, stream: str, value: float, baseline_value: float, det: DriftDetector,
    now: datetime,
) -> AlertFactory:
    def make(severity: DriftSeverity, event: EpisodeEvent) -> DriftAlert:
        return DriftAlert(
            model_name=model_name, drift_type=DriftType.CONCEPT, severity=severity,
            metric=stream, current_value=value, baseline_value=baseline_value,
            threshold=math.nan, detected_at=now,
            details={
                "episode": event.value,
                "detector": type(det).__name__,
                "n_detections": det.n_detections,
                "statistic": getattr(det, "last_alarm_statistic", ""),
                "change_point": getattr(det, "change_point", None),
            },
        )

    return make
