"""RetrainingPolicy: the safeguards between a trigger and a training job, and the trigger ledger.

Every trigger is persisted (kind ``retrain_trigger``, key trigger_id, tag model_name) and every
status change rewrites it, so the policy's state (last retrain, retrains in the last 24 h,
the one pending retrain per model) is rebuilt from the store on start: a restart keeps the
cooldown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.feedback.actions import LoopActions
from ordinis.engines.learning.feedback.data_validation import (
    DataValidationReport,
    validate_training_data,
)
from ordinis.engines.learning.feedback.pipeline_spec import PipelineSpec
from ordinis.engines.learning.feedback.triggers import (
    TRIGGER_RECORD_KIND,
    RetrainingTrigger,
    TriggerStatus,
    TriggerType,
    stored_trigger,
    stored_triggers,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics

log = logging.getLogger(__name__)

DAY = timedelta(days=1)


class Safeguard:
    """Names of the safeguards, as stored in ``RetrainingTrigger.safeguard`` and metric outcomes."""

    AUTO_RETRAIN_DISABLED = "auto_retrain_disabled"
    ONE_PENDING = "one_pending"
    COOLDOWN = "cooldown"
    MAX_PER_DAY = "max_per_day"
    MIN_SAMPLES = "min_samples"
    DATA_VALIDATION = "data_validation"


@dataclass(slots=True, frozen=True)
class RetrainDecision:
    """What the policy decided about one trigger; ``safeguard`` names the one that refused."""

    approved: bool
    reason: str
    safeguard: str | None = None


class RetrainingPolicy:
    """Decides whether a trigger may start a retrain, and keeps the ledger of triggers."""

    def __init__(
        self,
        config: LearningEngineConfig,
        store: EventStore,
        clock: Clock,
        metrics: LearningMetrics,
        pipeline: PipelineSpec,
        actions: LoopActions | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.pipeline = pipeline
        self.actions = actions
        self._pending: dict[str, str] = {}
        self._training_starts: dict[str, list[datetime]] = {}
        self.rebuild()

    def attach(self, actions: LoopActions) -> None:
        """Give the policy the engine's actions (sample counts, features for data validation)."""
        self.actions = actions

    # ------------------------------------------------------------------ state
    @property
    def stale_after(self) -> timedelta:
        """A pending trigger without progress for this long is abandoned (a crash mid-chain)."""
        return timedelta(seconds=2 * self.pipeline.training.timeout_seconds)

    def rebuild(self) -> None:
        """Rebuild pending retrains and recent retrain times from the stored triggers."""
        lookback = max(
            timedelta(seconds=self.config.retrain_cooldown_seconds), DAY, self.stale_after
        ) + DAY
        self._pending.clear()
        self._training_starts.clear()
        since = self.clock.now() - lookback
        for rec in self.store.list_records(TRIGGER_RECORD_KIND, start=since):
            try:
                trigger = RetrainingTrigger.from_body(rec.body)
            except (KeyError, ValueError, TypeError) as exc:
                log.warning("skipping unreadable retrain_trigger %s: %s", rec.key, exc)
                continue
            self._absorb(trigger)

    def _absorb(self, trigger: RetrainingTrigger) -> None:
        if trigger.status.started_training and trigger.training_started_at is not None:
            starts = self._training_starts.setdefault(trigger.model_name, [])
            if trigger.training_started_at not in starts:
                starts.append(trigger.training_started_at)
                starts.sort()
        if not trigger.status.is_terminal and trigger.status is not TriggerStatus.PENDING:
            self._pending[trigger.model_name] = trigger.trigger_id
        elif self._pending.get(trigger.model_name) == trigger.trigger_id:
            del self._pending[trigger.model_name]

    def pending_trigger(self, model_name: str) -> str | None:
        """The trigger id of the model's retrain in progress, if any."""
        return self._pending.get(model_name)

    def last_retrain_at(self, model_name: str) -> datetime | None:
        """When the model's most recent retrain started (None when none is known)."""
        starts = self._training_starts.get(model_name)
        return starts[-1] if starts else None

    def next_allowed_at(self, model_name: str) -> datetime | None:
        """End of the model's cooldown (None when it is not cooling down)."""
        last = self.last_retrain_at(model_name)
        if last is None:
            return None
        end = last + timedelta(seconds=self.config.retrain_cooldown_seconds)
        return end if end > self.clock.now() else None

    def retrains_last_24h(self, model_name: str) -> int:
        """Retrains of the model started in the last 24 hours of the clock."""
        cutoff = self.clock.now() - DAY
        return sum(1 for t in self._training_starts.get(model_name, []) if t > cutoff)

    # ------------------------------------------------------------------ ledger
    def record(self, trigger: RetrainingTrigger) -> None:
        """Persist the trigger as it is now (insert or replace) and update the policy's state."""
        trigger.updated_at = self.clock.now()
        self.store.put_record(
            StoredRecord(
                kind=TRIGGER_RECORD_KIND,
                key=trigger.trigger_id,
                body=trigger.to_body(),
                created_at=trigger.created_at,
                updated_at=trigger.updated_at,
                tag=trigger.model_name,
            )
        )
        self._absorb(trigger)

    def mark(self, trigger: RetrainingTrigger, status: TriggerStatus, **changes: Any) -> None:
        """Move the trigger to ``status`` (setting ``changes`` fields), persist and count it."""
        now = self.clock.now()
        for name, value in changes.items():
            if name not in RetrainingTrigger.__dataclass_fields__:
                raise AttributeError(f"RetrainingTrigger has no field {name!r}")
            setattr(trigger, name, value)
        trigger.status = status
        if status is TriggerStatus.TRAINING and trigger.training_started_at is None:
            trigger.training_started_at = now
        if status.is_terminal:
            trigger.finished_at = now
        self.record(trigger)
        if status.is_terminal and status is not TriggerStatus.REFUSED:
            self._count(trigger, status.value)

    def refuse(self, trigger: RetrainingTrigger, safeguard: str, reason: str) -> RetrainDecision:
        """Record a refusal by ``safeguard`` with its reason; returns the decision."""
        trigger.decided_at = trigger.decided_at or self.clock.now()
        self.mark(trigger, TriggerStatus.REFUSED, safeguard=safeguard, refusal_reason=reason)
        self._count(trigger, "refused")
        self.metrics.retrain_refusals_total.labels(
            model_name=trigger.model_name, safeguard=str(safeguard)
        ).inc()
        log.info("retrain of %s refused by %s: %s", trigger.model_name, safeguard, reason)
        return RetrainDecision(False, reason, safeguard)

    def get(self, trigger_id: str) -> RetrainingTrigger | None:
        """A stored trigger by id."""
        return stored_trigger(self.store, trigger_id)

    def list_triggers(
        self,
        model_name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[RetrainingTrigger]:
        """Stored triggers created in ``[start, end)``, oldest first."""
        return stored_triggers(self.store, model_name, start, end)

    def _count(self, trigger: RetrainingTrigger, outcome: str) -> None:
        self.metrics.retrain_triggers_total.labels(
            model_name=trigger.model_name,
            trigger_type=trigger.trigger_type.value,
            outcome=outcome,
        ).inc()

    # ------------------------------------------------------------------ decisions
    def consider(self, trigger: RetrainingTrigger) -> RetrainDecision:
        """Apply the safeguards in order; approve (and hold the model's pending slot) or refuse.

        Order: auto_retrain_enabled (manual triggers pass it), one pending retrain per model,
        cooldown, maximum retrains per 24 h, minimum training samples.
        """
        if trigger.status is not TriggerStatus.PENDING:
            raise ValueError(
                f"trigger {trigger.trigger_id} has status {trigger.status.value!r}; "
                "only a pending trigger can be considered"
            )
        actions = self._require_actions()
        model = trigger.model_name
        now = self.clock.now()
        self.record(trigger)

        if not self.config.auto_retrain_enabled and trigger.trigger_type is not TriggerType.MANUAL:
            return self.refuse(
                trigger,
                Safeguard.AUTO_RETRAIN_DISABLED,
                "automatic retraining is disabled (auto_retrain_enabled=false); "
                "enable it or submit a manual trigger",
            )

        pending_id = self._pending.get(model)
        if (
            pending_id is not None
            and pending_id != trigger.trigger_id
            and not self._release_if_stale(pending_id)
        ):
            return self.refuse(
                trigger,
                Safeguard.ONE_PENDING,
                f"a retrain of {model} is already in progress (trigger {pending_id}); "
                "one pending retrain per model",
            )

        cooldown = self.config.retrain_cooldown_seconds
        last = self.last_retrain_at(model)
        if last is not None and now - last < timedelta(seconds=cooldown):
            until = last + timedelta(seconds=cooldown)
            ago = (now - last).total_seconds() / 3600.0
            return self.refuse(
                trigger,
                Safeguard.COOLDOWN,
                f"cooldown: last retrain of {model} started {ago:.2f} h ago at "
                f"{last.isoformat()}; next allowed at {until.isoformat()} "
                f"(retrain_cooldown_seconds={cooldown:g})",
            )

        done = self.retrains_last_24h(model)
        if done >= self.config.max_retrains_per_day:
            return self.refuse(
                trigger,
                Safeguard.MAX_PER_DAY,
                f"{done} retrains of {model} in the last 24 h reach "
                f"max_retrains_per_day={self.config.max_retrains_per_day}",
            )

        needed = self.min_samples
        start = now - timedelta(seconds=self.pipeline.data_collection.window_seconds)
        try:
            available = actions.count_training_samples(model, start, now)
        except Exception as exc:
            return self.refuse(
                trigger,
                Safeguard.MIN_SAMPLES,
                f"could not count training samples of {model}: {exc}",
            )
        trigger.details["training_samples"] = int(available)
        if available < needed:
            return self.refuse(
                trigger,
                Safeguard.MIN_SAMPLES,
                f"{available} training samples of {model} since {start.isoformat()}, "
                f"{needed} needed (min_samples)",
            )

        reason = f"approved: {available} samples, {done} retrains in the last 24 h"
        trigger.decided_at = now
        self.mark(trigger, TriggerStatus.APPROVED)
        self._count(trigger, "approved")
        return RetrainDecision(True, reason, None)

    @property
    def min_samples(self) -> int:
        """Samples needed: pipeline.yaml's data_collection.min_samples, else the engine config's."""
        configured = self.pipeline.data_collection.min_samples
        return configured if configured is not None else self.config.min_samples_for_training

    def validate_data(self, trigger: RetrainingTrigger) -> DataValidationReport:
        """Run the data validation stage on the model's training window (does not change status)."""
        actions = self._require_actions()
        features = actions.training_window_features(trigger.model_name)
        reference = actions.reference_features(trigger.model_name)
        return validate_training_data(features, reference, self.pipeline.data_validation,
                                      actions.model_feature_names(trigger.model_name))

    def _release_if_stale(self, trigger_id: str) -> bool:
        stored = self.get(trigger_id)
        if stored is None or stored.status.is_terminal:
            self._pending = {m: t for m, t in self._pending.items() if t != trigger_id}
            return True
        last_move = stored.updated_at or stored.created_at
        if self.clock.now() - last_move < self.stale_after:
            return False
        hours = self.stale_after.total_seconds() / 3600.0
        self.mark(
            stored,
            TriggerStatus.FAILED,
            error=f"abandoned: no progress for more than {hours:g} h (engine restart or crash)",
        )
        return True

    def _require_actions(self) -> LoopActions:
        if self.actions is None:
            raise RuntimeError(
                "RetrainingPolicy has no LoopActions: pass actions= or call attach() "
                "(ImprovementLoop does this)"
            )
        return self.actions
