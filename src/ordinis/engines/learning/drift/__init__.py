"""Drift detection: streaming detectors, performance baselines, data drift, the monitor."""

from ordinis.engines.learning.drift.baselines import (
    MetricBounds,
    MetricCheck,
    MetricDirection,
    PerformanceBaseline,
    compute_bounds,
    metric_direction,
)
from ordinis.engines.learning.drift.bocpd import BOCPD
from ordinis.engines.learning.drift.calibration import (
    ARL0Estimate,
    Calibration,
    average_run_length,
    calibrate,
)
from ordinis.engines.learning.drift.cusum import AutocorrelatedCUSUM
from ordinis.engines.learning.drift.data_drift import (
    DataDriftThresholds,
    FeatureDriftResult,
    FeatureReference,
    ReferenceProfile,
    TestResult,
    build_profile,
    build_reference,
    compare_feature,
    psi,
)
from ordinis.engines.learning.drift.detectors import (
    ADWINDetector,
    DriftDetector,
    KSWINDetector,
    PageHinkleyDetector,
    RiverDetector,
    make_detector,
)
from ordinis.engines.learning.drift.hybrid import HybridCUSUM
from ordinis.engines.learning.drift.hysteresis import Episode, EpisodeBook, EpisodeEvent
from ordinis.engines.learning.drift.monitor import (
    DEFAULT_STREAM_DETECTOR,
    AlertListener,
    DriftMonitor,
)
from ordinis.engines.learning.drift.records import drift_alert_from_record, drift_alert_to_record
from ordinis.engines.learning.drift.scoring import ChangePointScore, f_measure
from ordinis.engines.learning.drift.tracker import LiveMetrics, LivePerformanceTracker

__all__ = [
    "BOCPD",
    "DEFAULT_STREAM_DETECTOR",
    "ADWINDetector",
    "ARL0Estimate",
    "AlertListener",
    "AutocorrelatedCUSUM",
    "Calibration",
    "ChangePointScore",
    "DataDriftThresholds",
    "DriftDetector",
    "DriftMonitor",
    "Episode",
    "EpisodeBook",
    "EpisodeEvent",
    "FeatureDriftResult",
    "FeatureReference",
    "HybridCUSUM",
    "KSWINDetector",
    "LiveMetrics",
    "LivePerformanceTracker",
    "MetricBounds",
    "MetricCheck",
    "MetricDirection",
    "PageHinkleyDetector",
    "PerformanceBaseline",
    "ReferenceProfile",
    "RiverDetector",
    "TestResult",
    "average_run_length",
    "build_profile",
    "build_reference",
    "calibrate",
    "compare_feature",
    "compute_bounds",
    "drift_alert_from_record",
    "drift_alert_to_record",
    "f_measure",
    "make_detector",
    "metric_direction",
    "psi",
]
