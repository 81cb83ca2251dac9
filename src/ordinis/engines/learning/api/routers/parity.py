"""Parity: a version's backtest (give the host's, read the one in use) and a live run measured
against it. The engine computes the parity result itself; production then follows the verdict."""

from __future__ import annotations

import asyncio

import pandas as pd
from fastapi import APIRouter, HTTPException

from ordinis.engines.learning import BacktestRecord, ParityEvidence
from ordinis.engines.learning.api import schemas as s
from ordinis.engines.learning.api.auth import Operator, Reader
from ordinis.engines.learning.api.deps import Engine

router = APIRouter(prefix="/v1/versions", tags=["parity"])


def _backtest_out(engine: Engine, version_id: str) -> s.BacktestOut:
    mv = engine.get_model_version(version_id)
    stored = engine.get_backtest(mv.version_id)
    if stored is None:
        raise HTTPException(404, f"{mv.version_id} has no backtest record: judge it on the "
                                 "production gates (a version the engine trained keeps its "
                                 "forward holdout) or PUT one")
    record = stored.as_record()  # grouped into a rollout's periods (a day)
    r = record.returns
    dated = isinstance(r.index, pd.DatetimeIndex)
    return s.BacktestOut(
        version_id=mv.version_id, source=stored.source, periods=len(r),
        periods_per_year=record.periods_per_year,
        first=r.index[0].to_pydatetime() if dated and len(r) else None,
        last=r.index[-1].to_pydatetime() if dated and len(r) else None,
        sharpe=s.num(record.sharpe), description=stored.description)


@router.get("/{version_id}/backtest", response_model=s.BacktestOut)
async def backtest(version_id: str, engine: Engine, who: Reader) -> s.BacktestOut:
    """The backtest parity compares the version's live evidence with (404: none yet)."""
    return await asyncio.to_thread(_backtest_out, engine, version_id)


@router.put("/{version_id}/backtest", response_model=s.BacktestOut)
async def set_backtest(
    version_id: str, body: s.BacktestIn, engine: Engine, who: Operator
) -> s.BacktestOut:
    """Give the host's backtest of the version (it wins over the engine's own)."""
    if body.times is not None and len(body.times) != len(body.returns):
        raise HTTPException(422, f"times has {len(body.times)} entries for "
                                 f"{len(body.returns)} returns: give one time per return")
    # UTC throughout: a time without a zone is UTC, others are converted (mixing is fine)
    index = pd.to_datetime(body.times, utc=True) if body.times is not None else None
    record = BacktestRecord(returns=pd.Series(body.returns, index=index, dtype=float),
                            periods_per_year=body.periods_per_year)
    await asyncio.to_thread(engine.set_backtest_record, version_id, record, who.name)
    return await asyncio.to_thread(_backtest_out, engine, version_id)


@router.post("/{version_id}/parity", response_model=s.ParityOut, status_code=201)
async def measure(
    version_id: str, body: s.ParityIn, engine: Engine, who: Operator
) -> s.ParityOut:
    """Measure a live run of the version against its backtest and record the result; the
    version's production verdict is judged again with the new parity_ratio."""
    ev = await engine.measure_parity(version_id, body.returns, body.periods_per_year, who.name)
    return _parity_out(ev)


def _parity_out(ev: ParityEvidence) -> s.ParityOut:
    return s.ParityOut(
        version_id=ev.version_id, parity_ratio=s.num(ev.parity_ratio), passed=ev.passed,
        recorded_at=ev.recorded_at, source=ev.source, problems=list(ev.problems),
        checks=[s.ParityCheckOut(name=n, value=s.num(v), verdict=verdict)
                for n, v, verdict in ev.checks])
