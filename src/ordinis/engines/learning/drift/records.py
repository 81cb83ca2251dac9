"""DriftAlert <-> StoredRecord (kind ``drift_alert``, key alert_id, tag model_name).

Non-finite floats are stored as strings (``"inf"``, ``"nan"``) because JSON, and PostgreSQL's
JSONB above all, has no NaN or infinity; they come back as floats.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ordinis.engines.learning.core.models import DriftAlert, DriftSeverity, DriftType, StoredRecord

if TYPE_CHECKING:
    from ordinis.engines.learning.events.store import EventStore

ALERT_KIND = "drift_alert"


def encode_float(value: float) -> float | str:
    """A JSON-safe float: finite as is, otherwise its string form."""
    return value if math.isfinite(value) else str(value)


def decode_float(value: float | str | None) -> float:
    return math.nan if value is None else float(value)


def json_safe(obj: Any) -> Any:
    """Recursively replace non-finite floats by strings, enums by their values."""
    if isinstance(obj, float):
        return encode_float(obj)
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    if hasattr(obj, "value") and isinstance(obj.value, str):
        return obj.value
    if hasattr(obj, "item"):  # numpy scalars
        return json_safe(obj.item())
    return obj


def drift_alert_to_record(alert: DriftAlert) -> StoredRecord:
    """The stored form of an alert, created at its detection time."""
    body = {
        "alert_id": alert.alert_id,
        "model_name": alert.model_name,
        "drift_type": alert.drift_type.value,
        "severity": alert.severity.value,
        "metric": alert.metric,
        "current_value": encode_float(alert.current_value),
        "baseline_value": encode_float(alert.baseline_value),
        "threshold": encode_float(alert.threshold),
        "detected_at": alert.detected_at.isoformat(),
        "details": json_safe(alert.details),
    }
    return StoredRecord(
        kind=ALERT_KIND, key=alert.alert_id, body=body, created_at=alert.detected_at,
        updated_at=alert.detected_at, tag=alert.model_name,
    )


def drift_alert_from_record(record: StoredRecord) -> DriftAlert:
    """Rebuild an alert from its stored form."""
    b = record.body
    return DriftAlert(
        model_name=str(b["model_name"]),
        drift_type=DriftType(b["drift_type"]),
        severity=DriftSeverity(b["severity"]),
        metric=str(b["metric"]),
        current_value=decode_float(b["current_value"]),
        baseline_value=decode_float(b["baseline_value"]),
        threshold=decode_float(b["threshold"]),
        detected_at=datetime.fromisoformat(b["detected_at"]),
        details=dict(b.get("details") or {}),
        alert_id=str(b["alert_id"]),
    )


def stored_alerts(
    store: EventStore,
    model_name: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[DriftAlert]:
    """Persisted alerts, oldest first; time bounds are inclusive start, exclusive end."""
    records = store.list_records(ALERT_KIND, tag=model_name, start=start, end=end)
    return [drift_alert_from_record(r) for r in records]
