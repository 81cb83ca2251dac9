"""Drift episodes: one alert per episode instead of an alert storm.

An episode of a (model, metric, drift type) opens with the first alert. While it is open,
checks raise nothing, except one more alert when the severity escalates (warning to
critical). It closes only after ``recovery_checks`` consecutive checks inside the recovery
band; the next degradation then opens a new episode and raises a new alert.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from ordinis.engines.learning.core.models import DriftSeverity, DriftType, StoredRecord

EPISODE_KIND = "drift_episode"

_RANK = {DriftSeverity.INFO: 0, DriftSeverity.WARNING: 1, DriftSeverity.CRITICAL: 2}


class EpisodeEvent(StrEnum):
    """What a check did to its episode."""

    OPENED = "opened"
    ESCALATED = "escalated"
    CLOSED = "closed"


@dataclass(slots=True)
class Episode:
    """An open drift episode."""

    model_name: str
    metric: str
    drift_type: DriftType
    severity: DriftSeverity
    opened_at: datetime
    clean_checks: int = 0
    alerts: int = 1
    last_alert_id: str = ""

    @property
    def key(self) -> str:
        return episode_key(self.model_name, self.metric, self.drift_type)

    def to_record(self, now: datetime) -> StoredRecord:
        body: dict[str, Any] = {
            "model_name": self.model_name, "metric": self.metric,
            "drift_type": self.drift_type.value, "severity": self.severity.value,
            "opened_at": self.opened_at.isoformat(), "alerts": self.alerts,
            "last_alert_id": self.last_alert_id,
        }
        return StoredRecord(EPISODE_KIND, self.key, body, self.opened_at, now,
                            tag=self.model_name)

    @classmethod
    def from_record(cls, record: StoredRecord) -> Episode:
        b = record.body
        return cls(
            model_name=str(b["model_name"]), metric=str(b["metric"]),
            drift_type=DriftType(b["drift_type"]), severity=DriftSeverity(b["severity"]),
            opened_at=datetime.fromisoformat(b["opened_at"]), alerts=int(b.get("alerts", 1)),
            last_alert_id=str(b.get("last_alert_id", "")),
        )


def episode_key(model_name: str, metric: str, drift_type: DriftType) -> str:
    return f"{model_name}|{metric}|{drift_type.value}"


class EpisodeBook:
    """Open episodes by key, and the rule that turns a check into at most one alert."""

    def __init__(self, recovery_checks: int = 3) -> None:
        if recovery_checks < 1:
            raise ValueError(f"recovery_checks must be >= 1, got {recovery_checks}")
        self.recovery_checks = recovery_checks
        self._open: dict[str, Episode] = {}

    @property
    def any_open(self) -> bool:
        return bool(self._open)

    def get(self, key: str) -> Episode | None:
        return self._open.get(key)

    def snapshot(self, key: str) -> Episode | None:
        """A copy to restore if persisting the outcome of a check fails."""
        ep = self._open.get(key)
        return None if ep is None else replace(ep)

    def restore(self, key: str, episode: Episode | None) -> None:
        if episode is None:
            self._open.pop(key, None)
        else:
            self._open[key] = episode

    def load(self, episodes: list[Episode]) -> None:
        self._open = {e.key: e for e in episodes}

    def end(self, key: str) -> None:
        """Forget an episode (its record is already deleted): the next alert opens a new one."""
        self._open.pop(key, None)

    def open_episodes(self, model_name: str | None = None) -> list[Episode]:
        return [e for e in self._open.values() if model_name is None or e.model_name == model_name]

    def observe(
        self,
        model_name: str,
        metric: str,
        drift_type: DriftType,
        severity: DriftSeverity | None,
        recovered: bool,
        now: datetime,
    ) -> tuple[EpisodeEvent | None, Episode | None]:
        """Apply one check; returns the event (OPENED/ESCALATED raise an alert) and the episode."""
        key = episode_key(model_name, metric, drift_type)
        ep = self._open.get(key)
        if ep is None:
            if severity is None:
                return None, None
            ep = Episode(model_name, metric, drift_type, severity, now)
            self._open[key] = ep
            return EpisodeEvent.OPENED, ep
        if severity is not None and _RANK[severity] > _RANK[ep.severity]:
            ep.severity = severity
            ep.alerts += 1
            ep.clean_checks = 0
            return EpisodeEvent.ESCALATED, ep
        if recovered:
            ep.clean_checks += 1
            if ep.clean_checks >= self.recovery_checks:
                del self._open[key]
                return EpisodeEvent.CLOSED, ep
        else:
            ep.clean_checks = 0
        return None, ep
