"""What a rollout looks like from outside: ``RolloutReport``, built from a live controller's
state or from the stored state alone (so readers need no controller, MLflow or router)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ordinis.engines.learning.core.errors import NotFoundError
from ordinis.engines.learning.core.models import RolloutStrategy
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.rollout.evidence import EvidenceBook
from ordinis.engines.learning.rollout.sequential import Analysis
from ordinis.engines.learning.rollout.state import (
    ROLLOUT_KIND,
    RolloutDecision,
    RolloutPhase,
    RolloutState,
)


@dataclass(frozen=True, slots=True)
class RolloutReport:
    """``engine.get_rollout``: state, step, traffic, evidence so far, every decision."""

    rollout_id: str
    model_name: str
    candidate: str
    champion: str | None
    strategy: RolloutStrategy
    phase: RolloutPhase
    step: int
    traffic: float
    started_at: datetime
    phase_started_at: datetime
    ended_at: datetime | None
    evidence: Analysis
    outcomes: int
    shadow_agreement: float | None
    rollback_reason: str | None
    decisions: tuple[RolloutDecision, ...]


def report_of(st: RolloutState, book: EvidenceBook | None = None) -> RolloutReport:
    """The report of a rollout state; ``book`` is the live evidence (default: the stored)."""
    book = book if book is not None else EvidenceBook.from_dict(st.evidence, st.plan.analysis)
    return RolloutReport(
        st.rollout_id, st.model_name, st.candidate, st.champion, st.strategy, st.phase, st.step,
        st.traffic, st.started_at, st.phase_started_at, st.ended_at, book.analyse(),
        book.outcomes, st.shadow_agreement, st.rollback_reason, tuple(st.decisions))


def stored_report(store: EventStore, model_name: str) -> RolloutReport:
    """The model's last stored rollout; NotFoundError when it never had one."""
    for rec in reversed(store.list_records(ROLLOUT_KIND, tag=model_name)):
        return report_of(RolloutState.from_dict(rec.body))
    raise NotFoundError(f"model_name={model_name!r} has never had a rollout")


def latest_states(store: EventStore) -> dict[str, RolloutState]:
    """Each model's last stored rollout state, from one listing of the store."""
    latest = {rec.tag: rec for rec in store.list_records(ROLLOUT_KIND) if rec.tag}
    return {name: RolloutState.from_dict(rec.body) for name, rec in latest.items()}
