"""ImprovementReport: what the closed loop did over a period, from the stored triggers.

What triggered, what was trained, how it scored, what was promoted or refused, and why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from ordinis.engines.learning.feedback.triggers import RetrainingTrigger, TriggerStatus


@dataclass(slots=True)
class ImprovementReport:
    """The triggers created in ``[start, end)`` (optionally of one model) and their outcomes."""

    start: datetime
    end: datetime
    model_name: str | None
    triggers: list[RetrainingTrigger] = field(default_factory=list)

    def _with(self, status: TriggerStatus) -> list[RetrainingTrigger]:
        return [t for t in self.triggers if t.status is status]

    @property
    def by_status(self) -> dict[str, int]:
        return dict(Counter(t.status.value for t in self.triggers))

    @property
    def by_type(self) -> dict[str, int]:
        return dict(Counter(t.trigger_type.value for t in self.triggers))

    @property
    def refusals_by_safeguard(self) -> dict[str, int]:
        return dict(Counter(t.safeguard or "?" for t in self._with(TriggerStatus.REFUSED)))

    @property
    def trained(self) -> list[RetrainingTrigger]:
        """Triggers that started a training job."""
        return [t for t in self.triggers if t.job_id is not None]

    @property
    def promoted(self) -> list[RetrainingTrigger]:
        return self._with(TriggerStatus.PROMOTED)

    @property
    def gated_out(self) -> list[RetrainingTrigger]:
        return self._with(TriggerStatus.GATED_OUT)

    @property
    def refused(self) -> list[RetrainingTrigger]:
        return self._with(TriggerStatus.REFUSED)

    @property
    def failed(self) -> list[RetrainingTrigger]:
        return self._with(TriggerStatus.FAILED)

    def render(self) -> str:
        """A plain-text report, one block of totals then one line per trigger."""
        scope = self.model_name or "all models"
        lines = [
            f"Continuous improvement report: {scope}, "
            f"{self.start.isoformat()} .. {self.end.isoformat()}",
            f"  triggers: {len(self.triggers)}"
            + (f" ({_counts(self.by_type)})" if self.triggers else ""),
            f"  trained: {len(self.trained)}, promoted: {len(self.promoted)}, "
            f"gated out: {len(self.gated_out)}, failed: {len(self.failed)}, "
            f"refused: {len(self.refused)}"
            + (f" ({_counts(self.refusals_by_safeguard)})" if self.refused else ""),
        ]
        if not self.triggers:
            lines.append("  nothing triggered in this period")
            return "\n".join(lines)
        lines.append("")
        for t in self.triggers:
            lines.append(
                f"- {t.created_at:%Y-%m-%d %H:%M} {t.model_name} [{t.trigger_type.value}] "
                f"-> {t.status.value.upper()}: {t.reason}"
            )
            if t.refusal_reason:
                lines.append(f"    refused by {t.safeguard}: {t.refusal_reason}")
            if t.job_id:
                trained = f"    trained: job {t.job_id}"
                if t.version_id:
                    trained += f", version {t.version_id}"
                if t.training_metrics:
                    trained += f" ({_metrics(t.training_metrics)})"
                lines.append(trained)
            if t.gate_summary is not None:
                # the summary names the gate set and reports required and advisory gates apart
                lines.append(f"    gates: {t.gate_summary}")
                if t.gate_metrics:
                    lines.append(f"    scores: {_metrics(t.gate_metrics)}")
            if t.promoted_to:
                lines.append(f"    promoted to {t.promoted_to}")
                if "rollout" in t.details:
                    lines.append(f"    rollout: {t.details['rollout']}")
            if t.error:
                lines.append(f"    error: {t.error}")
        return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def _metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))
