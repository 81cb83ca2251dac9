"""Events: single and batch ingestion (JSON, NDJSON), durable on acknowledgement; queries."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from ordinis.engines.learning import EventType, FieldProblem, ValidationError
from ordinis.engines.learning.api import convert, ingest
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Reader, Writer
from ordinis.engines.learning.api.deps import Engine, Limit, Offset

router = APIRouter(prefix="/v1/events", tags=["events"])
Durable = Annotated[bool, Query(description="reply after commit (true) or once buffered")]

_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/EventIn"}}
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


@router.post("", response_model=s.IngestResult, status_code=201)
async def ingest_one(
    body: s.EventIn, engine: Engine, who: Writer, durable: Durable = True
) -> s.IngestResult:
    """Record one event; with ``durable`` (default) the reply comes after commit."""
    # pydantic's JSON (big integers included) through the same parser as batches
    items = ingest.decode_batch(body.model_dump_json(exclude_none=True).encode(), ndjson=False)
    ids = await engine.record_json_events(items, durable=durable)
    return s.IngestResult(accepted=len(ids), committed=durable, buffered=not durable,
                          event_ids=ids)


@router.post("/batch", response_model=s.IngestResult, status_code=201,
             openapi_extra=_BATCH_BODY)
async def ingest_batch(
    request: Request, engine: Engine, who: Writer, durable: Durable = True
) -> s.IngestResult:
    """Record a JSON array or NDJSON (``Content-Type: application/x-ndjson``) of events.

    Durable on acknowledgement: the reply comes after the store committed every event, unless
    ``durable=false`` (then ``buffered: true`` says they are not committed yet). One bad event
    refuses the batch (nothing recorded); the problem names its index and field.
    """
    ndjson = "ndjson" in request.headers.get("content-type", "")
    items = ingest.decode_batch(await request.body(), ndjson)
    ids = await engine.record_json_events(items, durable=durable)
    return s.IngestResult(accepted=len(ids), committed=durable, buffered=not durable)


@router.get("", response_model=s.Page[s.EventOut])
async def list_events(
    engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0,
    event_type: str | None = None, symbol: str | None = None,
    source_engine: str | None = None, start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, object]:
    """Stored events, newest first, filtered."""
    etype = None
    if event_type is not None:
        try:
            etype = EventType(event_type)
        except ValueError:
            raise ValidationError("query", [FieldProblem(
                "event_type", event_type, f"must be one of {[t.value for t in EventType]}")]
            ) from None
    events = await asyncio.to_thread(
        engine.get_events, event_type=etype, start=start, end=end, symbol=symbol,
        source_engine=source_engine, limit=offset + limit + 1, newest_first=True,
    )
    out = s.page([convert.event(e) for e in events], limit, offset)
    out["total"] = offset + len(events[offset:])
    return out


@router.get("/stats", response_model=s.EventStatsOut)
async def event_stats(engine: Engine, who: Reader) -> s.EventStatsOut:
    """Counts by type and source, and the time span."""
    st = await asyncio.to_thread(engine.event_stats)
    return s.EventStatsOut(
        total=st.total, by_type=st.by_type, by_source=st.by_source,
        first_timestamp=st.first_timestamp, last_timestamp=st.last_timestamp,
    )
