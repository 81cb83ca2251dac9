"""Trip rules (how many errors of a type in how long open a breaker) and their defaults.

``DEFAULT_ERROR_ENGINES`` says which engine's breaker an error type feeds when the
FeedbackCollector records it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ordinis.engines.learning.core.errors import ConfigError, FieldProblem


@dataclass(frozen=True, slots=True)
class TripRule:
    """Open the breaker at ``max_errors`` errors of ``error_type`` within ``window_seconds``."""

    error_type: str
    max_errors: int
    window_seconds: float

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        if not isinstance(self.error_type, str) or not self.error_type.strip():
            problems.append(
                FieldProblem("error_type", self.error_type, "must be a non-empty string")
            )
        if isinstance(self.max_errors, bool) or not isinstance(self.max_errors, int) or (
            self.max_errors < 1
        ):
            problems.append(FieldProblem("max_errors", self.max_errors, "must be an integer >= 1"))
        if (
            isinstance(self.window_seconds, bool)
            or not isinstance(self.window_seconds, int | float)
            or not math.isfinite(self.window_seconds)
            or self.window_seconds <= 0
        ):
            problems.append(
                FieldProblem("window_seconds", self.window_seconds, "must be a finite number > 0")
            )
        if problems:
            raise ConfigError("TripRule", problems)


DEFAULT_TRIP_RULES: tuple[TripRule, ...] = (
    TripRule("execution_failure", 10, 60.0),
    TripRule("insufficient_capital", 3, 60.0),
    TripRule("order_rejected", 5, 60.0),
    TripRule("position_mismatch", 1, 300.0),
    TripRule("broker_sync_failure", 2, 60.0),
)

# Error type -> engine whose breaker it feeds (the collector uses this mapping).
DEFAULT_ERROR_ENGINES: dict[str, str] = {
    "execution_failure": "execution",
    "order_rejected": "execution",
    "broker_sync_failure": "execution",
    "insufficient_capital": "risk",
    "position_mismatch": "portfolio",
}

# Errors of a type without a rule are counted (for visibility) in a window this long.
UNRULED_WINDOW_SECONDS = 60.0


def check_rules(engine: str, rules: tuple[TripRule, ...]) -> None:
    """Refuse two rules for the same error type on one engine (which one would apply?)."""
    seen: set[str] = set()
    for rule in rules:
        if not isinstance(rule, TripRule):
            raise ConfigError(
                f"trip rules of engine {engine!r}",
                [FieldProblem("rules", rule, "each rule must be a TripRule")],
            )
        if rule.error_type in seen:
            raise ConfigError(
                f"trip rules of engine {engine!r}",
                [
                    FieldProblem(
                        "error_type", rule.error_type, "appears twice; keep one rule per error type"
                    )
                ],
            )
        seen.add(rule.error_type)
