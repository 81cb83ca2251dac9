"""Stage history: every stage change of every version, kept in the event store.

MLflow keeps only the current alias and tags; this answers "who moved what, when and why" and
"which version was in production at time T". Records are StoredRecords of kind
``stage_change`` tagged with the model name; registration is the first change (no from-stage).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ordinis.engines.learning.core.ids import new_id
from ordinis.engines.learning.core.models import ModelStage, RolloutStrategy, StoredRecord
from ordinis.engines.learning.events.store import EventStore

STAGE_CHANGE_KIND = "stage_change"


@dataclass(frozen=True, slots=True)
class StageChange:
    """One move of one version between stages.

    ``replaced`` names the version this change moved out of production (promotion or
    rollback to PRODUCTION), so a later rollback knows what came before.
    """

    model_name: str
    version: str
    from_stage: ModelStage | None
    to_stage: ModelStage
    actor: str
    reason: str
    at: datetime
    action: str
    strategy: RolloutStrategy | None = None
    replaced: str | None = None
    change_id: str = ""

    @property
    def version_id(self) -> str:
        return f"{self.model_name}:{self.version}"

    def to_body(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "version": self.version,
            "from_stage": self.from_stage.value if self.from_stage else None,
            "to_stage": self.to_stage.value,
            "actor": self.actor,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "action": self.action,
            "strategy": self.strategy.value if self.strategy else None,
            "replaced": self.replaced,
        }

    @classmethod
    def from_record(cls, record: StoredRecord) -> StageChange:
        b = record.body
        return cls(
            model_name=str(b["model_name"]),
            version=str(b["version"]),
            from_stage=ModelStage(b["from_stage"]) if b.get("from_stage") else None,
            to_stage=ModelStage(b["to_stage"]),
            actor=str(b.get("actor", "")),
            reason=str(b.get("reason", "")),
            at=datetime.fromisoformat(b["at"]),
            action=str(b.get("action", "")),
            strategy=RolloutStrategy(b["strategy"]) if b.get("strategy") else None,
            replaced=b.get("replaced"),
            change_id=record.key,
        )


class StageHistory:
    """Reads and writes stage changes in the event store (synchronous; call from a thread)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def record(self, change: StageChange) -> StageChange:
        """Persist one change (committed on return) and return it with its id."""
        key = change.change_id or new_id()
        self.store.put_record(
            StoredRecord(
                kind=STAGE_CHANGE_KIND, key=key, body=change.to_body(), created_at=change.at,
                updated_at=change.at, tag=change.model_name,
            )
        )
        if change.change_id:
            return change
        return replace(change, change_id=key)

    def changes(self, model_name: str, version: str | None = None) -> list[StageChange]:
        """Changes of a model (optionally one version), oldest first."""
        records = self.store.list_records(STAGE_CHANGE_KIND, tag=model_name)
        out = [StageChange.from_record(r) for r in records]
        # Stable by time then id (ids are time-ordered within a process).
        out.sort(key=lambda c: (c.at, c.change_id))
        if version is not None:
            out = [c for c in out if c.version == version]
        return out


def stages_held(changes: list[StageChange], version: str) -> frozenset[str]:
    """Every stage a version has been in, according to the history."""
    return frozenset(c.to_stage.value for c in changes if c.version == version)


def version_at(changes: list[StageChange], stage: ModelStage, at: datetime) -> str | None:
    """Which version held ``stage`` at time ``at`` (changes at exactly ``at`` count).

    If several versions held a non-exclusive stage, the one that entered it last is returned.
    """
    current: dict[str, tuple[ModelStage, int]] = {}
    for i, c in enumerate(changes):
        if c.at > at:
            break
        current[c.version] = (c.to_stage, i)
    holders = [(i, v) for v, (s, i) in current.items() if s is stage]
    return max(holders)[1] if holders else None


def replaced_by_promotion(changes: list[StageChange], version: str) -> str | None:
    """The version that ``version`` replaced the last time it entered PRODUCTION."""
    for c in reversed(changes):
        if c.version == version and c.to_stage is ModelStage.PRODUCTION:
            return c.replaced
    return None
