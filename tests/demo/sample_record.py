"""A DemoRecord with every part filled (books, bands, marks, stages, traffic, gates, trips)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from ordinis.engines.learning.demo.record import (
    BookSeries,
    BreakerTrip,
    DemoRecord,
    GateLine,
    GateReportView,
    MarkKind,
    StageSpan,
    TimelineMark,
    TrafficStep,
)
from ordinis.engines.learning.demo.verdict import equity_band, paired_test


def sample_record(n: int = 600, seed: int = 3) -> DemoRecord:
    rng = np.random.default_rng(seed)
    days = [datetime(2000, 1, 3, 21, tzinfo=UTC) + timedelta(days=i) for i in range(n)]
    rec = DemoRecord("sample report", "synthetic", "m", ["A", "B"], days=days)
    rec.books = [
        BookSeries("closed loop", rng.normal(0.0004, 0.01, n)),
        BookSeries("first model, never retrained", rng.normal(0.0, 0.01, n)),
        BookSeries("equal-weight buy-and-hold", rng.normal(0.0003, 0.012, n)),
    ]
    rec.bands = [equity_band(b, resamples=100) for b in rec.books]
    rec.verdict = paired_test(rec.books[0], rec.books[1], resamples=200)
    at = days[100]
    rec.marks = [
        TimelineMark(days[90], MarkKind.DRIFT, "critical performance drift of sharpe"),
        TimelineMark(at, MarkKind.RETRAIN, "drift_alert -> m:v2"),
        TimelineMark(days[300], MarkKind.REFUSED, "drift_alert: refused by cooldown"),
        TimelineMark(days[130], MarkKind.PROMOTION, "m:v2 -> production"),
        TimelineMark(days[200], MarkKind.ROLLBACK, "m:v2: canary worse"),
    ]
    rec.stages = [
        StageSpan("m:v1", "production", days[10], days[130]),
        StageSpan("m:v2", "staging", days[101], days[110]),
        StageSpan("m:v2", "canary", days[110], days[130]),
        StageSpan("m:v2", "production", days[130], days[200]),
        StageSpan("m:v1", "production", days[200], None),
        StageSpan("m:v1", "serving", days[10], None),
    ]
    rec.traffic = [
        TrafficStep(days[110], "m:v2", 0.1, "canary"),
        TrafficStep(days[118], "m:v2", 0.5, "canary"),
        TrafficStep(days[130], "m:v2", 1.0, "production"),
    ]
    rec.gate_reports = [
        GateReportView(
            "m:v2", "production", at, False, "production: blocked by parity",
            (
                GateLine("deflated_sharpe", "dsr", 0.97, ">=", 0.95, True, "PASS"),
                GateLine("parity", "parity_ratio", float("nan"), ">=", 0.8, True, "FAIL"),
                GateLine("min_win_rate", "win_rate", 0.5, ">=", 0.55, False, "WARN"),
            ),
        )
    ]
    rec.trips = [
        BreakerTrip("portfolio", days[250], "drawdown 50%", days[253], trips=3),
        BreakerTrip("execution", days[500], "errors", None),
    ]
    rec.notes = ["a note"]
    return rec
