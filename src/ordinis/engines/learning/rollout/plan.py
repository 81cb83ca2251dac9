"""RolloutPlan: what a rollout will do, fixed when it starts (from pipeline.yaml and the config).

The plan is stored with the rollout, so a restart resumes with the plan it started with even if
pipeline.yaml changed meanwhile. pipeline.yaml wins where it sets a value; the config's
``default_rollout_strategy``, ``shadow_mode_duration_seconds`` and ``canary_percentage`` fill in
what it leaves out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import RolloutStrategy
from ordinis.engines.learning.feedback.pipeline_spec import PipelineSpec
from ordinis.engines.learning.rollout.sequential import SequentialSettings

# The review's ramp after the first step (the first share comes from canary_percentage).
_DEFAULT_RAMP_TAIL: tuple[tuple[float, float], ...] = ((0.25, 4 * 3600.0), (0.50, 12 * 3600.0),
                                                       (1.00, 24 * 3600.0))


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One canary step: this share of traffic for at least ``hold_seconds`` and until the
    analysis says ADVANCE with at least ``min_periods`` new periods seen at this step."""

    traffic: float
    hold_seconds: float


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    """Strategy, shadow duration, approval, ramp and the analysis settings of one rollout."""

    strategy: RolloutStrategy
    shadow_seconds: float
    approval: str
    ramp: tuple[PlannedStep, ...]
    analysis: SequentialSettings = field(default_factory=SequentialSettings)
    min_periods_per_step: int = 5
    period_seconds: float = 86400.0
    settle_seconds: float = 0.0
    watch_seconds: float = 86400.0

    @property
    def manual_approval(self) -> bool:
        return self.approval == "manual"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["strategy"] = self.strategy.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RolloutPlan:
        return cls(
            strategy=RolloutStrategy(d["strategy"]),
            shadow_seconds=float(d["shadow_seconds"]),
            approval=str(d["approval"]),
            ramp=tuple(PlannedStep(float(s["traffic"]), float(s["hold_seconds"]))
                       for s in d["ramp"]),
            analysis=SequentialSettings(**d["analysis"]),
            min_periods_per_step=int(d["min_periods_per_step"]),
            period_seconds=float(d["period_seconds"]),
            settle_seconds=float(d["settle_seconds"]),
            watch_seconds=float(d["watch_seconds"]),
        )


def build_plan(
    spec: PipelineSpec,
    config: LearningEngineConfig,
    strategy: RolloutStrategy | None = None,
    approval: str | None = None,
    analysis: SequentialSettings | None = None,
) -> RolloutPlan:
    """The plan for a rollout started now: an explicit ``strategy`` wins, then pipeline.yaml's
    production section when it names one, then ``config.default_rollout_strategy``. The shadow
    lasts the staging section's ``duration`` (``shadow_mode_duration_seconds`` when unset), or
    nothing when staging's ``rollout`` is not ``shadow``."""
    prod, staging = spec.production, spec.staging
    if strategy is None:
        strategy = (prod.rollout_strategy if "rollout_strategy" in prod.model_fields_set
                    else config.default_rollout_strategy)
    shadow = (staging.duration_seconds if "duration_seconds" in staging.model_fields_set
              else config.shadow_mode_duration_seconds)
    if staging.rollout is not RolloutStrategy.SHADOW:
        shadow = 0.0  # staging without a shadow run: the rollout starts its next phase at once
    if "ramp_schedule" in prod.model_fields_set:
        ramp = tuple(PlannedStep(s.traffic, s.hold_seconds) for s in prod.ramp_schedule)
    else:
        first = PlannedStep(config.canary_percentage, 3600.0)
        ramp = (first, *(PlannedStep(t, h) for t, h in _DEFAULT_RAMP_TAIL if t > first.traffic))
    return RolloutPlan(
        strategy=strategy,
        shadow_seconds=shadow,
        approval=approval or prod.approval,
        ramp=ramp,
        analysis=analysis or SequentialSettings(),
        watch_seconds=max(shadow, ramp[-1].hold_seconds if ramp else 0.0),
    )
