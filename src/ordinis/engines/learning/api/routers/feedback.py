"""Feedback: the collector's ``record_*`` calls over HTTP (one endpoint, the kind in the path)."""

from __future__ import annotations

import inspect
from enum import StrEnum

from fastapi import APIRouter

from ordinis.engines.learning import FieldProblem, ValidationError
from ordinis.engines.learning.api import convert
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Writer
from ordinis.engines.learning.api.deps import Engine

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


class FeedbackKind(StrEnum):
    """The collector's record calls, without the ``record_`` prefix."""

    trade_outcome = "trade_outcome"
    signal_accuracy = "signal_accuracy"
    execution_failure = "execution_failure"
    order_rejected = "order_rejected"
    insufficient_capital = "insufficient_capital"
    position_mismatch = "position_mismatch"
    broker_sync_failure = "broker_sync_failure"
    regime_change = "regime_change"
    risk_breach = "risk_breach"
    signal_batch = "signal_batch"
    trading_cycle = "trading_cycle"
    error_rate_spike = "error_rate_spike"


@router.post("/{kind}", response_model=s.FeedbackOut, status_code=201)
async def record_feedback(
    kind: FeedbackKind, body: s.FeedbackIn, engine: Engine, who: Writer
) -> s.FeedbackOut:
    """Call ``collector.record_<kind>(**fields)``; a missing or unknown field is a 422 naming
    it and the call's parameters."""
    method = getattr(engine.feedback, f"record_{kind.value}")
    sig = inspect.signature(method)
    try:
        sig.bind(**body.fields)
    except TypeError as exc:
        params = [p for p in sig.parameters if p != "self"]
        raise ValidationError(f"feedback {kind.value}", [FieldProblem(
            "fields", sorted(body.fields), f"{exc}; the parameters are {params}")]) from None
    try:
        record = await method(**body.fields)
    except (TypeError, AttributeError) as exc:
        raise ValidationError(f"feedback {kind.value}", [FieldProblem(
            "fields", sorted(body.fields), f"has a value of the wrong type ({exc})")]) from None
    return convert.feedback(record)
