"""Training jobs: submit, list, show (with progress), cancel."""

from __future__ import annotations

from fastapi import APIRouter

from ordinis.engines.learning.api import convert, reads
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Operator, Reader
from ordinis.engines.learning.api.deps import Engine, Limit, Offset

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


def _job(engine: Engine, job_id: str) -> s.JobOut:
    return reads.job(engine, job_id)


@router.post("", response_model=s.JobOut, status_code=202)
async def submit_job(body: s.JobIn, engine: Engine, who: Operator) -> s.JobOut:
    """Queue a training job (governance preflight first); poll it for progress."""
    job = await engine.submit_training_job(
        body.model_name, body.model_type, body.config, actor=who.name
    )
    return convert.job(job)


@router.get("", response_model=s.Page[s.JobOut])
async def list_jobs(
    engine: Engine, who: Reader, limit: Limit = 100, offset: Offset = 0,
    model_name: str | None = None,
) -> dict[str, object]:
    """Training jobs, oldest first."""
    return reads.jobs_page(engine, limit, offset, model_name)


@router.get("/{job_id}", response_model=s.JobOut)
async def show_job(job_id: str, engine: Engine, who: Reader) -> s.JobOut:
    """One job with its status, progress and result."""
    return _job(engine, job_id)


@router.post("/{job_id}/cancel", response_model=s.JobOut)
async def cancel_job(job_id: str, engine: Engine, who: Operator) -> s.JobOut:
    """Cancel a queued or running job (a finished job is returned unchanged)."""
    current = _job(engine, job_id)
    if current.status in ("completed", "failed", "cancelled"):
        return current
    return convert.job(await engine.cancel_training_job(job_id))
