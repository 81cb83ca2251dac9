"""What the trigger rules have counted so far, stored so a restart keeps counting.

Losing streaks (``consecutive_losses``) and the alerts counted towards an ``alert_count``
trigger live in memory between trades; an engine restarted every day would otherwise never
reach a count that spans a restart. The leader saves them on its retraining tick and at
shutdown (at most one tick is lost to a crash: the conservative side, a later trigger).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.feedback.triggers import TriggerEvaluator

log = logging.getLogger(__name__)

RULE_STATE_KIND = "loop_rule_state"
RULE_STATE_KEY = "rules"


@dataclass(frozen=True, slots=True)
class RuleState:
    """Losing streaks by model, and the alerts (time, id) counted by model."""

    loss_streaks: dict[str, int] = field(default_factory=dict)
    alert_windows: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: TriggerEvaluator) -> RuleState:
        return cls(rules.losses.streaks(), rules.drift.windows())

    def apply(self, rules: TriggerEvaluator) -> None:
        rules.losses.restore(self.loss_streaks)
        rules.drift.restore(self.alert_windows)

    def to_body(self) -> dict[str, Any]:
        return {
            "loss_streaks": dict(self.loss_streaks),
            "alert_windows": {m: [[t.isoformat(), a] for t, a in w]
                              for m, w in self.alert_windows.items()},
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> RuleState:
        return cls(
            {str(m): int(n) for m, n in body.get("loss_streaks", {}).items()},
            {str(m): [(datetime.fromisoformat(t), str(a)) for t, a in w]
             for m, w in body.get("alert_windows", {}).items()},
        )


def load_rule_state(store: EventStore, rules: TriggerEvaluator) -> RuleState:
    """Restore what the rules had counted; an unreadable record is logged and skipped."""
    record = store.get_record(RULE_STATE_KIND, RULE_STATE_KEY)
    if record is None:
        return RuleState()
    try:
        state = RuleState.from_body(record.body)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        log.error("trigger rule state unreadable (%r); the rules count afresh", exc)
        return RuleState()
    state.apply(rules)
    return state


def save_rule_state(store: EventStore, state: RuleState, now: datetime) -> None:
    """Store what the rules have counted (one record, replaced)."""
    store.put_record(StoredRecord(RULE_STATE_KIND, RULE_STATE_KEY, state.to_body(), now, now))
