"""Drift detection: streaming detectors, performance baselines, data drift, the monitor.

Names load on first use (PEP 562): importing one light module of this package does not
import the heavy ones.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

if TYPE_CHECKING:
    from ordinis.engines.learning.drift.annotated import (
        ZERO,
        AnnotatedSeries,
        Detections,
        DetectorScores,
        detect,
        read_annotated_series,
        score_detectors,
    )
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
    from ordinis.engines.learning.drift.cusum import (
        AutocorrelatedCUSUM,
        LocatedCUSUM,
        WarmupTestedCUSUM,
    )
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
        detector_names,
        make_detector,
    )
    from ordinis.engines.learning.drift.hybrid import HybridCUSUM
    from ordinis.engines.learning.drift.hysteresis import Episode, EpisodeBook, EpisodeEvent
    from ordinis.engines.learning.drift.locate import locate_change
    from ordinis.engines.learning.drift.monitor import (
        DEFAULT_STREAM_DETECTOR,
        AlertListener,
        DriftMonitor,
    )
    from ordinis.engines.learning.drift.records import (
        drift_alert_from_record,
        drift_alert_to_record,
    )
    from ordinis.engines.learning.drift.scoring import ChangePointScore, f_measure
    from ordinis.engines.learning.drift.tracker import LiveMetrics, LivePerformanceTracker
    from ordinis.engines.learning.drift.warmup_test import WarmupShift, warmup_shift_test

_LAZY: dict[str, str] = {
    "ZERO": "ordinis.engines.learning.drift.annotated",
    "AnnotatedSeries": "ordinis.engines.learning.drift.annotated",
    "Detections": "ordinis.engines.learning.drift.annotated",
    "DetectorScores": "ordinis.engines.learning.drift.annotated",
    "detect": "ordinis.engines.learning.drift.annotated",
    "read_annotated_series": "ordinis.engines.learning.drift.annotated",
    "score_detectors": "ordinis.engines.learning.drift.annotated",
    "MetricBounds": "ordinis.engines.learning.drift.baselines",
    "MetricCheck": "ordinis.engines.learning.drift.baselines",
    "MetricDirection": "ordinis.engines.learning.drift.baselines",
    "PerformanceBaseline": "ordinis.engines.learning.drift.baselines",
    "compute_bounds": "ordinis.engines.learning.drift.baselines",
    "metric_direction": "ordinis.engines.learning.drift.baselines",
    "BOCPD": "ordinis.engines.learning.drift.bocpd",
    "ARL0Estimate": "ordinis.engines.learning.drift.calibration",
    "Calibration": "ordinis.engines.learning.drift.calibration",
    "average_run_length": "ordinis.engines.learning.drift.calibration",
    "calibrate": "ordinis.engines.learning.drift.calibration",
    "AutocorrelatedCUSUM": "ordinis.engines.learning.drift.cusum",
    "LocatedCUSUM": "ordinis.engines.learning.drift.cusum",
    "WarmupTestedCUSUM": "ordinis.engines.learning.drift.cusum",
    "locate_change": "ordinis.engines.learning.drift.locate",
    "WarmupShift": "ordinis.engines.learning.drift.warmup_test",
    "warmup_shift_test": "ordinis.engines.learning.drift.warmup_test",
    "DataDriftThresholds": "ordinis.engines.learning.drift.data_drift",
    "FeatureDriftResult": "ordinis.engines.learning.drift.data_drift",
    "FeatureReference": "ordinis.engines.learning.drift.data_drift",
    "ReferenceProfile": "ordinis.engines.learning.drift.data_drift",
    "TestResult": "ordinis.engines.learning.drift.data_drift",
    "build_profile": "ordinis.engines.learning.drift.data_drift",
    "build_reference": "ordinis.engines.learning.drift.data_drift",
    "compare_feature": "ordinis.engines.learning.drift.data_drift",
    "psi": "ordinis.engines.learning.drift.data_drift",
    "ADWINDetector": "ordinis.engines.learning.drift.detectors",
    "DriftDetector": "ordinis.engines.learning.drift.detectors",
    "KSWINDetector": "ordinis.engines.learning.drift.detectors",
    "PageHinkleyDetector": "ordinis.engines.learning.drift.detectors",
    "RiverDetector": "ordinis.engines.learning.drift.detectors",
    "make_detector": "ordinis.engines.learning.drift.detectors",
    "detector_names": "ordinis.engines.learning.drift.detectors",
    "HybridCUSUM": "ordinis.engines.learning.drift.hybrid",
    "Episode": "ordinis.engines.learning.drift.hysteresis",
    "EpisodeBook": "ordinis.engines.learning.drift.hysteresis",
    "EpisodeEvent": "ordinis.engines.learning.drift.hysteresis",
    "DEFAULT_STREAM_DETECTOR": "ordinis.engines.learning.drift.monitor",
    "AlertListener": "ordinis.engines.learning.drift.monitor",
    "DriftMonitor": "ordinis.engines.learning.drift.monitor",
    "drift_alert_from_record": "ordinis.engines.learning.drift.records",
    "drift_alert_to_record": "ordinis.engines.learning.drift.records",
    "ChangePointScore": "ordinis.engines.learning.drift.scoring",
    "f_measure": "ordinis.engines.learning.drift.scoring",
    "LiveMetrics": "ordinis.engines.learning.drift.tracker",
    "LivePerformanceTracker": "ordinis.engines.learning.drift.tracker",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "BOCPD",
    "DEFAULT_STREAM_DETECTOR",
    "ZERO",
    "ADWINDetector",
    "ARL0Estimate",
    "AlertListener",
    "AnnotatedSeries",
    "AutocorrelatedCUSUM",
    "Calibration",
    "ChangePointScore",
    "DataDriftThresholds",
    "Detections",
    "DetectorScores",
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
    "LocatedCUSUM",
    "MetricBounds",
    "MetricCheck",
    "MetricDirection",
    "PageHinkleyDetector",
    "PerformanceBaseline",
    "ReferenceProfile",
    "RiverDetector",
    "TestResult",
    "WarmupShift",
    "WarmupTestedCUSUM",
    "average_run_length",
    "build_profile",
    "build_reference",
    "calibrate",
    "compare_feature",
    "compute_bounds",
    "detect",
    "detector_names",
    "drift_alert_from_record",
    "drift_alert_to_record",
    "f_measure",
    "locate_change",
    "make_detector",
    "metric_direction",
    "psi",
    "read_annotated_series",
    "score_detectors",
    "warmup_shift_test",
]
