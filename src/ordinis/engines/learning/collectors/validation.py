"""Edge validation of feedback input: collect every problem, then refuse with one clear error."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from ordinis.engines.learning.collectors.feedback_types import FeedbackType
from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.models import FeedbackPriority

_PRIORITIES = ", ".join(p.value for p in FeedbackPriority)
_TYPES = ", ".join(t.value for t in FeedbackType)


class Checker:
    """Checks fields one by one, returns the cleaned values and raises all problems at ``done``."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.problems: list[FieldProblem] = []

    def fail(self, name: str, value: object, problem: str) -> None:
        self.problems.append(FieldProblem(name, value, problem))

    def text(self, name: str, value: object, optional: bool = False) -> str | None:
        """A non-empty string (stripped); None allowed when ``optional``."""
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(name, value, "must be a non-empty string")
            return None
        return value.strip()

    def number(
        self,
        name: str,
        value: object,
        optional: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float | None:
        """A finite int/float (not bool), optionally bounded; ``positive`` means > 0."""
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(name, value, "must be a finite number")
            return None
        if not math.isfinite(value):
            self.fail(name, value, "must be a finite number (not NaN or infinity)")
            return None
        number = float(value)
        if positive and number <= 0:
            self.fail(name, value, "must be > 0")
        elif minimum is not None and number < minimum:
            self.fail(name, value, f"must be >= {minimum:g}")
        elif maximum is not None and number > maximum:
            self.fail(name, value, f"must be <= {maximum:g}")
        return number

    def count(self, name: str, value: object, optional: bool = False) -> int | None:
        """A non-negative integer."""
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(name, value, "must be an integer >= 0")
            return None
        return value

    def texts(self, name: str, value: object) -> list[str] | None:
        """An optional list of non-empty strings."""
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, list | tuple):
            self.fail(name, value, "must be a list of strings")
            return None
        bad = [v for v in value if not isinstance(v, str) or not v.strip()]
        if bad:
            self.fail(name, bad, "every item must be a non-empty string")
            return None
        return [v.strip() for v in value]

    def priority(self, value: object) -> FeedbackPriority | None:
        """An optional FeedbackPriority or its value (case-insensitive)."""
        if value is None or isinstance(value, FeedbackPriority):
            return value
        if isinstance(value, str):
            try:
                return FeedbackPriority(value.strip().lower())
            except ValueError:
                pass
        self.fail("priority", value, f"unknown priority; use one of: {_PRIORITIES}")
        return None

    def feedback_type(self, value: object) -> FeedbackType | None:
        """An optional FeedbackType or its value."""
        if value is None or isinstance(value, FeedbackType):
            return value
        if isinstance(value, str):
            try:
                return FeedbackType(value.strip().lower())
            except ValueError:
                pass
        self.fail("feedback_type", value, f"unknown feedback type; use one of: {_TYPES}")
        return None

    def metadata(self, value: object) -> dict[str, Any] | None:
        """An optional JSON-serialisable mapping with string keys (NaN refused)."""
        if value is None:
            return None
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            self.fail("metadata", value, "must be a dict with string keys")
            return None
        if all(_flat_json(v) for v in value.values()):
            return dict(value)  # the common flat case needs no trial encoding
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            self.fail(
                "metadata", value,
                f"must be JSON-serialisable without NaN/inf ({exc}); convert datetimes to "
                "ISO strings",
            )
            return None
        return dict(value)

    def when(self, name: str, value: object) -> datetime | None:
        """An optional timezone-aware datetime."""
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            self.fail(name, value, "must be a timezone-aware datetime (e.g. tzinfo=UTC)")
            return None
        return value

    def done(self) -> None:
        """Raise one ValidationError listing every problem found, if any."""
        if self.problems:
            raise ValidationError(self.what, self.problems)


def _flat_json(value: object) -> bool:
    """A scalar JSON holds as is: a string, bool, int, None or finite float."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    return value is None or kind is str or kind is int or kind is bool
