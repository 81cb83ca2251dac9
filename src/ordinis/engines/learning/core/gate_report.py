"""The typed verdict of a gate set: each gate's metric, threshold, value, verdict, required.

It lives in the kernel because ``EvaluationResult`` carries it from the evaluation part to the
loop, the registry and the edges, which read its fields instead of parsing strings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class GateType(StrEnum):
    """What a gate protects."""

    PERFORMANCE = "performance"
    STATISTICAL = "statistical"
    SAFETY = "safety"
    PARITY = "parity"


class Comparison(StrEnum):
    """How a metric is compared with the threshold (``eq`` uses the gate's tolerance)."""

    GTE = "gte"
    LTE = "lte"
    EQ = "eq"

    @property
    def symbol(self) -> str:
        return {"gte": ">=", "lte": "<=", "eq": "=="}[self.value]


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    WARN = "WARN"
    WAIT = "WAIT"  # a required gate whose evidence only live runs produce (parity), not yet here


@dataclass(frozen=True, slots=True)
class GateResult:
    """Outcome of one gate."""

    name: str
    metric: str
    value: float
    threshold: float
    comparison: Comparison
    required: bool
    verdict: Verdict
    message: str
    gate_type: GateType = GateType.PERFORMANCE


@dataclass(slots=True)
class GateReport:
    """All gate outcomes; ``passed`` is False as soon as one required gate fails."""

    gate_set: str
    passed: bool
    results: list[GateResult]
    warnings: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[GateResult]:
        """Required gates that failed (they block)."""
        return [r for r in self.results if r.verdict is Verdict.FAIL]

    @property
    def waiting(self) -> list[GateResult]:
        """Required gates waiting for live evidence (they block, but have not failed)."""
        return [r for r in self.results if r.verdict is Verdict.WAIT]

    @property
    def advisory_failures(self) -> list[GateResult]:
        """Advisory gates that failed (they warn, never block)."""
        return [r for r in self.results if r.verdict is Verdict.WARN]

    def summary(self) -> str:
        """One line that reports required and advisory gates apart."""
        required = sum(1 for r in self.results if r.required)
        advisory = len(self.results) - required
        waiting = self.waiting
        passed_required = sum(1 for r in self.results if r.required and r.verdict is Verdict.PASS)
        if self.failures:
            head = f"{self.gate_set}: blocked by " + ", ".join(r.name for r in self.failures)
            if waiting:
                head += "; waiting for live evidence (" + ", ".join(r.name for r in waiting) + ")"
        elif waiting:
            head = (
                f"{self.gate_set}: {passed_required} of {required} required gate(s) passed; "
                "waiting for live evidence (" + ", ".join(r.name for r in waiting) + ")"
            )
        else:
            head = f"{self.gate_set}: {required} required gate(s) passed"
        if self.advisory_failures:
            names = ", ".join(r.name for r in self.advisory_failures)
            return f"{head}; {len(self.advisory_failures)} of {advisory} advisory failed ({names})"
        return f"{head}; {advisory} advisory passed" if advisory else head

    def render(self) -> str:
        """A plain-text table, one gate per line, then the overall verdict."""
        header = ("gate", "metric", "value", "", "threshold", "required", "verdict")
        rows = [header] + [
            (
                r.name,
                r.metric,
                "missing" if math.isnan(r.value) else f"{r.value:.4g}",
                r.comparison.symbol,
                f"{r.threshold:g}",
                "yes" if r.required else "no",
                r.verdict.value,
            )
            for r in self.results
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        state = "PASSED" if self.passed else (
            "BLOCKED" if self.failures else "WAITING FOR LIVE EVIDENCE"
        )
        lines.append(f"gate set {self.gate_set!r}: {state}")
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"failed: {r.message}" for r in self.failures]
        lines += [f"waiting: {r.message}" for r in self.waiting]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (NaN values become None)."""
        return {
            "gate_set": self.gate_set,
            "passed": self.passed,
            "warnings": list(self.warnings),
            "results": [
                {
                    "name": r.name,
                    "metric": r.metric,
                    "value": None if math.isnan(r.value) else r.value,
                    "threshold": r.threshold,
                    "comparison": r.comparison.value,
                    "required": r.required,
                    "verdict": r.verdict.value,
                    "message": r.message,
                    "gate_type": r.gate_type.value,
                }
                for r in self.results
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateReport:
        """The inverse of ``to_dict`` (a stored report read back)."""
        results = [
            GateResult(
                name=str(r["name"]),
                metric=str(r["metric"]),
                value=math.nan if r.get("value") is None else float(r["value"]),
                threshold=float(r["threshold"]),
                comparison=Comparison(r["comparison"]),
                required=bool(r["required"]),
                verdict=Verdict(r["verdict"]),
                message=str(r.get("message", "")),
                gate_type=GateType(r.get("gate_type", GateType.PERFORMANCE.value)),
            )
            for r in data.get("results", [])
        ]
        return cls(
            str(data["gate_set"]), bool(data["passed"]), results, list(data.get("warnings", []))
        )


