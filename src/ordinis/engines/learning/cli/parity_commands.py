"""``models backtest`` (read a version's backtest, or give the host's) and ``models parity`` (a
live run measured against it, recorded; production follows the verdict). A run's returns come
from a CSV file: one row per day, ``return`` or ``date,return``, an optional header."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import typer

from ordinis.engines.learning.cli import render as r
from ordinis.engines.learning.cli.commands import (
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    TokenOpt,
    UrlOpt,
    _session,
    _version_id,
    models_app,
)
from ordinis.engines.learning.cli.model_commands import VersionArg, VersionNameArg

ReturnsOpt = typer.Option(None, "--returns", help="CSV of per-day returns: return, or "
                          "date,return (a header row is allowed)")
PpyOpt = typer.Option(None, "--periods-per-year", help="Periods per year of the returns "
                      "(default: 252 for a backtest, the backtest's for a live run)")


def read_returns(path: Path) -> tuple[list[float], list[str] | None]:
    """The returns of a CSV file and their dates (None without a date column); exit 2 on a bad
    file, naming the row and the fix."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [row for row in csv.reader(fh) if row and not row[0].startswith("#")]
    except OSError as exc:
        r.fail(f"--returns {path}: {exc.strerror or exc}")
        raise typer.Exit(2) from exc
    values: list[float] = []
    dates: list[datetime] = []
    for i, row in enumerate(rows, 1):
        try:
            value = float(row[-1])
        except ValueError:
            if i == 1:
                continue  # a header
            r.fail(f"--returns {path}, row {i}: {row[-1]!r} is not a number; write one "
                   "return per row (return, or date,return)")
            raise typer.Exit(2) from None
        if not math.isfinite(value):
            r.fail(f"--returns {path}, row {i}: {row[-1]!r} is not finite; drop the missing days")
            raise typer.Exit(2)
        values.append(value)
        if len(row) > 1:
            dates.append(_row_date(path, i, row[0].strip(), dates[-1] if dates else None))
    if dates and len(dates) != len(values):
        r.fail(f"--returns {path}: some rows have a date and some do not; give all or none")
        raise typer.Exit(2)
    return values, [d.isoformat() for d in dates] or None


def _row_date(path: Path, row: int, text: str, before: datetime | None) -> datetime:
    """The row's date (UTC when it names no zone); exit 2 when it does not parse or is not
    after the row before (one return per day, in time order)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        r.fail(f"--returns {path}, row {row}: {text!r} is not a date; write YYYY-MM-DD "
               "(or an ISO 8601 time)")
        raise typer.Exit(2) from None
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    if before is not None and at <= before:
        r.fail(f"--returns {path}, row {row}: {text} is not after the row before; give one "
               "return per day, in time order")
        raise typer.Exit(2)
    return at


def _span(first: str | None, last: str | None) -> str:
    """The backtest's first .. last period: dates for daily periods, times otherwise."""
    if not first or not last:
        return "undated"
    ends = [datetime.fromisoformat(t) for t in (first, last)]
    if all(t.time() == time(0) for t in ends):
        return " .. ".join(f"{t:%Y-%m-%d}" for t in ends)
    return f"{r.ts(first)} .. {r.ts(last)}"


def _print_backtest(b: dict[str, Any]) -> None:
    span = _span(b["first"], b["last"])
    r.out.print(f"[bold]{b['version_id']}[/bold] backtest ({b['source']}): {b['periods']} periods, "
                f"{span}, Sharpe {r.num(b['sharpe'], 2)} at {b['periods_per_year']:.0f} per year",
                soft_wrap=True)
    r.out.print(b["description"], soft_wrap=True, markup=False, highlight=False)


@models_app.command("backtest")
def models_backtest(
    name: str = VersionNameArg, version: str | None = VersionArg, returns: Path | None = ReturnsOpt,
    periods_per_year: float | None = PpyOpt, url: str | None = UrlOpt,
    token: str | None = TokenOpt, data_dir: Path | None = DataDirOpt,
    config: Path | None = ConfigOpt, json_out: bool = JsonOpt,
) -> None:
    """The backtest a version's live evidence is compared with (parity); with --returns, give
    the host's own (operators), which replaces the one the engine keeps."""
    vid = _version_id(name, version)
    body: dict[str, Any] | None = None
    if returns is not None:
        values, dates = read_returns(returns)
        body = {"returns": values, "times": dates, "periods_per_year": periods_per_year or 252.0}
    with _session(url, token, data_dir, config, json_out, write=body is not None) as (c, js):
        b = c.get(f"/v1/versions/{vid}/backtest") if body is None else \
            c.put(f"/v1/versions/{vid}/backtest", body)
        if js:
            return r.as_json(b)
        _print_backtest(b)


@models_app.command("parity")
def models_parity(
    name: str = VersionNameArg, version: str | None = VersionArg, returns: Path = typer.Option(
        ..., "--returns", help="CSV of the live run's per-day returns: return, or date,return"),
    periods_per_year: float | None = PpyOpt, url: str | None = UrlOpt,
    token: str | None = TokenOpt, data_dir: Path | None = DataDirOpt,
    config: Path | None = ConfigOpt, json_out: bool = JsonOpt,
) -> None:
    """Measure a live run of a version (its staging run) against its backtest and record the
    parity; the production verdict is judged again with it. Exit 1 when parity fails."""
    vid = _version_id(name, version)
    values, _ = read_returns(returns)
    body = {"returns": values, "periods_per_year": periods_per_year}
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        p = c.post(f"/v1/versions/{vid}/parity", body)
        blocker = c.get(f"/v1/versions/{vid}/blockers")
    if js:
        r.as_json(p)
    else:
        r.table(("check", "value", "verdict"), [
            (ch["name"], r.num(ch["value"], 3), ch["verdict"]) for ch in p["checks"]
        ], title=f"{p['version_id']}: parity_ratio {r.num(p['parity_ratio'], 3)}")
        for problem in p["problems"]:
            r.out.print(f"problem: {problem}", soft_wrap=True, markup=False, highlight=False)
        r.out.print(("[green]parity passed[/green]" if p["passed"] else
                     "[red]parity failed[/red]") + f"; production: {_blocker_line(blocker)}",
                    soft_wrap=True)
    if not p["passed"]:
        raise typer.Exit(1)


def _blocker_line(blockers: list[dict[str, Any]]) -> str:
    """What still blocks production after this parity (the policies' reasons)."""
    if not blockers:
        return "nothing blocks it"
    return "; ".join(f"{b['policy']}: {b['reason']}" for b in blockers)
