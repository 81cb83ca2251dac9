"""Breaker states, snapshots and change notices, plus their JSON form for the event store.

A snapshot is everything needed to bring a breaker back after a restart; its body is what
the manager stores as the ``circuit_breaker`` StoredRecord of an engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class BreakerState(StrEnum):
    """Where a breaker stands; the value is persisted and shown in metrics."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    @property
    def gauge_value(self) -> int:
        """Value of the ``circuit_breaker_state`` gauge (the review's): 0 closed, 1 open,
        2 half-open."""
        return _GAUGE[self]

    @property
    def safety_rank(self) -> int:
        """How much this state restrains trading (higher is safer): closed, half-open, open."""
        return _RANK[self]


_GAUGE = {BreakerState.CLOSED: 0, BreakerState.OPEN: 1, BreakerState.HALF_OPEN: 2}
_RANK = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@dataclass(slots=True)
class BreakerSnapshot:
    """A breaker's full state at one moment: what it is, why, since when, who last reset it."""

    engine: str
    state: BreakerState
    reason: str = ""
    opened_at: datetime | None = None
    error_counts: dict[str, int] = field(default_factory=dict)
    last_reset_by: str | None = None
    last_reset_reason: str | None = None
    last_reset_at: datetime | None = None
    trips: int = 0
    trip_error_type: str | None = None
    latched: bool = False
    half_open_since: datetime | None = None
    half_open_successes: int = 0
    probes_admitted: int = 0
    error_times: dict[str, list[float]] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.state is BreakerState.OPEN

    def to_body(self) -> dict[str, Any]:
        """The JSON body stored in the event store."""
        return {
            "engine": self.engine,
            "state": self.state.value,
            "reason": self.reason,
            "opened_at": _iso(self.opened_at),
            "error_counts": dict(self.error_counts),
            "last_reset_by": self.last_reset_by,
            "last_reset_reason": self.last_reset_reason,
            "last_reset_at": _iso(self.last_reset_at),
            "trips": self.trips,
            "trip_error_type": self.trip_error_type,
            "latched": self.latched,
            "half_open_since": _iso(self.half_open_since),
            "half_open_successes": self.half_open_successes,
            "probes_admitted": self.probes_admitted,
            "error_times": {k: list(v) for k, v in self.error_times.items()},
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> BreakerSnapshot:
        """Parse a stored body; raises ValueError/KeyError/TypeError when it is malformed."""
        return cls(
            engine=str(body["engine"]),
            state=BreakerState(body["state"]),
            reason=str(body.get("reason", "")),
            opened_at=_parse(body.get("opened_at")),
            error_counts={str(k): int(v) for k, v in dict(body.get("error_counts", {})).items()},
            last_reset_by=_opt_str(body.get("last_reset_by")),
            last_reset_reason=_opt_str(body.get("last_reset_reason")),
            last_reset_at=_parse(body.get("last_reset_at")),
            trips=int(body.get("trips", 0)),
            trip_error_type=_opt_str(body.get("trip_error_type")),
            latched=bool(body.get("latched", False)),
            half_open_since=_parse(body.get("half_open_since")),
            half_open_successes=int(body.get("half_open_successes", 0)),
            probes_admitted=int(body.get("probes_admitted", 0)),
            error_times={
                str(k): [float(t) for t in v] for k, v in dict(body.get("error_times", {})).items()
            },
        )


@dataclass(frozen=True, slots=True)
class BreakerChange:
    """One state change (or manual reset) of a breaker, for audit records and alerts."""

    engine: str
    from_state: BreakerState
    to_state: BreakerState
    reason: str
    by: str
    at: datetime
    error_type: str | None = None

    @property
    def is_trip(self) -> bool:
        """True when this change opened a breaker that was not open."""
        return self.to_state is BreakerState.OPEN and self.from_state is not BreakerState.OPEN


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat()


def _parse(raw: object) -> datetime | None:
    if raw is None:
        return None
    ts = datetime.fromisoformat(str(raw))
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _opt_str(raw: object) -> str | None:
    return None if raw is None else str(raw)
