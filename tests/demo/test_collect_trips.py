"""The demo's breaker stretches from the audit log: one row per stretch, its trips counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ordinis.engines.learning.core.models import AuditRecord
from ordinis.engines.learning.demo.collect import _trips
from ordinis.engines.learning.demo.record import BreakerTrip, DemoRecord

T0 = datetime(2020, 1, 1, 21, tzinfo=UTC)


class _Audit:
    """The one engine read ``_trips`` makes: the audit records, oldest first."""

    def __init__(self, actions: list[tuple[int, str, str, str]]) -> None:
        self.records = [
            AuditRecord(i, T0 + timedelta(days=day), "system", action, target, "allow", reason,
                        {}, "", "")
            for i, (day, action, target, reason) in enumerate(actions)
        ]

    def audit_records(self) -> list[AuditRecord]:
        return self.records


def test_failed_probes_count_as_trips_of_one_stretch() -> None:
    audit = _Audit([
        (0, "breaker.open", "signal", "drawdown 50%"),
        (3, "breaker.half_open", "signal", "probing"),
        (3, "breaker.open", "signal", "half-open probe failed"),
        (6, "breaker.half_open", "signal", "probing"),
        (6, "breaker.open", "signal", "half-open probe failed"),
        (9, "breaker.half_open", "signal", "probing"),
        (10, "breaker.closed", "signal", "recovered"),
        (12, "loop.drift_alert", "spx-signal", "not a breaker"),
        (20, "breaker.open", "risk", "manual"),
        (30, "breaker.open", "signal", "5 losses in a row"),
    ])
    rec = DemoRecord("demo", "skfolio", "spx-signal", ["AAPL"])
    _trips(audit, rec)  # type: ignore[arg-type]
    assert rec.trips == [
        BreakerTrip("signal", T0, "drawdown 50%", T0 + timedelta(days=10), 3),
        BreakerTrip("risk", T0 + timedelta(days=20), "manual", None, 1),
        BreakerTrip("signal", T0 + timedelta(days=30), "5 losses in a row", None, 1),
    ]
