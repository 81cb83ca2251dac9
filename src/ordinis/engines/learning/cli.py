"""The ``ordinis-learning`` command line (Typer + Rich): demo, events, models, jobs, audit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ordinis.engines.learning import (
    EventType,
    LearningEngine,
    LearningEngineConfig,
    LearningEngineError,
    ModelStage,
    NotFoundError,
    TrainingJob,
    TrainingStatus,
)

app = typer.Typer(
    help="ordinis-learning: the closed-loop LearningEngine of ordinis.", no_args_is_help=True
)
events_app = typer.Typer(help="Inspect stored events.", no_args_is_help=True)
models_app = typer.Typer(help="Model versions in the MLflow registry.", no_args_is_help=True)
jobs_app = typer.Typer(help="Training jobs.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(models_app, name="models")
app.add_typer(jobs_app, name="jobs")
app.add_typer(audit_app, name="audit")

console = Console()
T = TypeVar("T")

ConfigOpt = typer.Option(
    None, "--config", "-c", help="YAML config file (LearningEngineConfig fields)"
)
DataDirOpt = typer.Option(
    None, "--data-dir", help="Data directory (overrides the config's data_dir)"
)


def _config(config: Path | None, data_dir: Path | None) -> LearningEngineConfig:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return LearningEngineConfig.load(config, **overrides)


def _run(
    config: Path | None, data_dir: Path | None, body: Callable[[LearningEngine], Awaitable[T]]
) -> T:
    """Open an engine on the configured data, run ``body``, shut down; errors become exit code 2."""

    async def main() -> T:
        async with LearningEngine(_config(config, data_dir)) as engine:
            return await body(engine)

    try:
        return asyncio.run(main())
    except LearningEngineError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _ts(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------------------- demo
@app.command()
def demo(
    data: str = typer.Option("sp500", help="sp500 (20 stocks, 1990-2022) or bitcoin (river)"),
    start: str | None = typer.Option(None, help="First day of the replay (default: the data's)"),
    end: str | None = typer.Option(None, help="Last day of the replay (default: the data's)"),
    config: Path | None = typer.Option(
        None, "--config", help="A pipeline.yaml to run instead of the demo's variant"
    ),
    report: Path | None = typer.Option(
        None, help="Where to write the HTML report (default: DATA_DIR/report.html)"
    ),
    quick: bool = typer.Option(False, help="A short span (nine years) for a first look"),
    data_dir: Path = typer.Option(Path("data/demo"), help="Where the demo keeps its stores"),
    symbols: int = typer.Option(20, min=1, max=20, help="How many of the 20 S&P 500 stocks"),
    fresh: bool = typer.Option(True, help="Start from an empty data directory"),
) -> None:
    """Replay real bars through the closed loop as a host would; write the HTML report."""
    from ordinis.engines.learning.demo.replay import DemoOptions, run_demo

    if data not in ("sp500", "bitcoin"):
        console.print(f"[red]error:[/red] --data {data!r}: use sp500 or bitcoin")
        raise typer.Exit(2)
    if config is not None and not config.is_file():
        console.print(f"[red]error:[/red] --config {config}: no such file (give a pipeline.yaml)")
        raise typer.Exit(2)
    opts = DemoOptions(
        data_dir=data_dir, data=data, start=start, end=end, n_symbols=symbols, fresh=fresh,
        quick=quick, pipeline=config, report=report,
    )
    try:
        asyncio.run(run_demo(opts, console))
    except (LearningEngineError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _job(engine: LearningEngine, job_id: str) -> TrainingJob:
    """The job, or a NotFoundError that says how to list the known ones."""
    job = engine.get_training_job(job_id)
    if job is None:
        raise NotFoundError(
            f"no training job {job_id!r} in {engine.config.data_dir}; "
            "`ordinis-learning jobs list` shows the known jobs"
        )
    return job


# ---------------------------------------------------------------------------- events
@events_app.command("stats")
def events_stats(config: Path | None = ConfigOpt, data_dir: Path | None = DataDirOpt) -> None:
    """Counts of stored events by type and source, and the time span."""

    async def body(engine: LearningEngine) -> None:
        stats = await asyncio.to_thread(engine.event_stats)
        table = Table(title=f"events in {engine.config.resolved_store_url}")
        table.add_column("event_type")
        table.add_column("count", justify="right")
        for name, count in sorted(stats.by_type.items()):
            table.add_row(name, f"{count:,}")
        console.print(table)
        console.print(
            f"total {stats.total:,}  from {_ts(stats.first_timestamp)} "
            f"to {_ts(stats.last_timestamp)}"
        )
        src = ", ".join(f"{k}={v:,}" for k, v in sorted(stats.by_source.items()))
        console.print(f"sources: {src or '-'}")

    _run(config, data_dir, body)


@events_app.command("tail")
def events_tail(
    n: int = typer.Option(20, "-n", min=1, help="How many of the newest events"),
    event_type: str | None = typer.Option(None, "--type", help="Only this event type"),
    symbol: str | None = typer.Option(None, help="Only this symbol"),
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
) -> None:
    """The newest stored events."""
    etype: EventType | None = None
    if event_type is not None:
        try:
            etype = EventType(event_type.lower())
        except ValueError:
            allowed = ", ".join(e.value for e in EventType)
            console.print(
                f"[red]error:[/red] --type={event_type!r} is not an event type; allowed: {allowed}"
            )
            raise typer.Exit(2) from None

    async def body(engine: LearningEngine) -> None:
        events = await asyncio.to_thread(
            engine.get_events, event_type=etype, symbol=symbol, limit=n, newest_first=True
        )
        table = Table()
        for col in ("timestamp", "type", "source", "symbol", "outcome", "payload"):
            table.add_column(col)
        for ev in reversed(events):
            payload = json.dumps(ev.payload, default=str)
            table.add_row(
                _ts(ev.timestamp),
                ev.event_type.value,
                ev.source_engine,
                ev.symbol or "-",
                "-" if ev.outcome is None else f"{ev.outcome:+.5f}",
                payload if len(payload) <= 60 else payload[:57] + "...",
            )
        console.print(table)

    _run(config, data_dir, body)


# ---------------------------------------------------------------------------- models
@models_app.command("list")
def models_list(config: Path | None = ConfigOpt, data_dir: Path | None = DataDirOpt) -> None:
    """Every model and its versions with their stages."""

    async def body(engine: LearningEngine) -> None:
        table = Table()
        for col in ("model", "version", "stage", "created", "evaluation", "job"):
            # fold, never elide: names and ids are what users copy into the next command
            table.add_column(col, overflow="fold")
        for name in engine.list_models():
            for mv in engine.list_model_versions(name):
                ev = (
                    "-"
                    if mv.evaluation_passed is None
                    else ("passed" if mv.evaluation_passed else "failed")
                )
                table.add_row(
                    name,
                    mv.version,
                    mv.stage.value,
                    _ts(mv.created_at),
                    ev,
                    mv.training_job_id or "-",
                )
        console.print(table)

    _run(config, data_dir, body)


@models_app.command("show")
def models_show(
    name: str, version: str, config: Path | None = ConfigOpt, data_dir: Path | None = DataDirOpt
) -> None:
    """One version: metrics, parameters, lineage, artifact hash."""

    async def body(engine: LearningEngine) -> None:
        mv = engine.get_model_version(f"{name}:{version}")
        console.print(
            f"[bold]{mv.version_id}[/bold]  stage={mv.stage.value}  created={_ts(mv.created_at)}"
        )
        console.print(f"artifact: {mv.artifact_path}  sha256={mv.artifact_sha256}")
        for title, values in (
            ("metrics", mv.metrics),
            ("parameters", mv.parameters),
            ("lineage", mv.lineage),
        ):
            table = Table(title=title)
            table.add_column("key")
            table.add_column("value")
            for k, v in sorted(values.items()):
                table.add_row(k, f"{v:.6g}" if isinstance(v, float) else str(v))
            console.print(table)

    _run(config, data_dir, body)


@models_app.command("history")
def models_history(
    name: str, config: Path | None = ConfigOpt, data_dir: Path | None = DataDirOpt
) -> None:
    """Every stage change of a model: when, which version, from/to, who and why."""

    async def body(engine: LearningEngine) -> None:
        known = engine.list_models()
        if name not in known:
            raise NotFoundError(
                f"model {name!r} is not registered in {engine.config.data_dir}; "
                f"known models: {', '.join(known) or 'none'}"
            )
        table = Table()
        for col in ("at", "version", "from", "to", "actor", "reason"):
            table.add_column(col)
        for ch in engine.stage_history(name):
            table.add_row(
                _ts(ch.at),
                ch.version,
                _stage(ch.from_stage),
                _stage(ch.to_stage),
                ch.actor,
                ch.reason,
            )
        console.print(table)

    _run(config, data_dir, body)


def _stage(stage: ModelStage | str | None) -> str:
    if stage is None:
        return "-"
    return stage.value if isinstance(stage, ModelStage) else str(stage)


@models_app.command("evaluate")
def models_evaluate(
    name: str,
    version: str,
    benchmark: list[str] = typer.Option(
        None, "--benchmark", "-b", help="Pack name(s); default all"
    ),
    gates: str = typer.Option("production", help="Gate set: production, staging or a YAML path"),
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
) -> None:
    """Evaluate a version on the benchmark packs and print the gate report."""

    async def body(engine: LearningEngine) -> None:
        result = await engine.evaluate_model(f"{name}:{version}", benchmark or None, gate_set=gates)
        from ordinis.engines.learning.demo.report import print_evaluation

        print_evaluation(console, result)

    _run(config, data_dir, body)


# ---------------------------------------------------------------------------- jobs
@jobs_app.command("list")
def jobs_list(
    model: str | None = typer.Option(None, help="Only this model"),
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
) -> None:
    """Training jobs, newest last."""

    async def body(engine: LearningEngine) -> None:
        table = Table()
        for col in (
            "job_id",
            "model",
            "type",
            "status",
            "created",
            "completed",
            "version",
            "error",
        ):
            # fold, never elide: the job id is what `jobs cancel` needs
            table.add_column(col, overflow="fold")
        for job in engine.list_training_jobs(model_name=model):
            table.add_row(
                job.job_id,
                job.model_name,
                job.model_type,
                job.status.value,
                _ts(job.created_at),
                _ts(job.completed_at),
                job.model_version_id or "-",
                (job.error_message or "")[:60],
            )
        console.print(table)

    _run(config, data_dir, body)


@jobs_app.command("submit")
def jobs_submit(
    model: str = typer.Argument(..., help="Model name"),
    model_type: str = typer.Option("signal", "--type", help="Trainer: signal, ..."),
    algorithm: str = typer.Option("lightgbm", help="lightgbm or logistic"),
    wait: bool = typer.Option(True, help="Wait and show progress"),
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
) -> None:
    """Submit a training job on the stored events; shows a progress bar while it runs."""

    async def body(engine: LearningEngine) -> None:
        job = await engine.submit_training_job(model, model_type, {"algorithm": algorithm})
        console.print(f"submitted {job.job_id} ({job.status.value})")
        if not wait:
            return
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(f"training {model}", total=1.0)
            while True:
                current = _job(engine, job.job_id)
                progress.update(
                    task,
                    completed=current.progress,
                    description=(
                        f"training {model}: "
                        f"{current.progress_message or current.status.value}"
                    ),
                )
                if current.status.is_terminal:
                    break
                try:
                    current = await engine.wait_for_training_job(job.job_id, timeout=0.2)
                except TimeoutError:
                    continue
        final = _job(engine, job.job_id)
        colour = "green" if final.status is TrainingStatus.COMPLETED else "red"
        console.print(
            f"[{colour}]{final.status.value}[/{colour}] version={final.model_version_id or '-'} "
            f"{final.error_message or ''}"
        )
        if final.metrics:
            console.print(", ".join(f"{k}={v:.4g}" for k, v in sorted(final.metrics.items())))
        if final.status is not TrainingStatus.COMPLETED:
            raise typer.Exit(1)

    _run(config, data_dir, body)


@jobs_app.command("cancel")
def jobs_cancel(
    job_id: str, config: Path | None = ConfigOpt, data_dir: Path | None = DataDirOpt
) -> None:
    """Cancel a queued or running job."""

    async def body(engine: LearningEngine) -> None:
        before = _job(engine, job_id)
        if before.status.is_terminal:
            console.print(f"{job_id}: already {before.status.value}; nothing to cancel")
            return
        job = await engine.cancel_training_job(job_id)
        console.print(f"{job.job_id}: {job.status.value}")

    _run(config, data_dir, body)


# ---------------------------------------------------------------------------- audit
@audit_app.command("verify")
def audit_verify(config: Path | None = ConfigOpt, data_dir: Path | None = DataDirOpt) -> None:
    """Recompute the audit hash chain; exit 1 if any record was edited."""

    async def body(engine: LearningEngine) -> bool:
        result = engine.verify_audit()
        if result.ok:
            console.print(f"[green]audit chain intact[/green]: {result.checked} records")
        else:
            console.print(
                f"[red]audit chain broken[/red] at sequence {result.first_bad_sequence}: "
                f"{result.problem}"
            )
        return bool(result.ok)

    if not _run(config, data_dir, body):
        raise typer.Exit(1)


@audit_app.command("tail")
def audit_tail(
    n: int = typer.Option(20, "-n", min=1),
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
) -> None:
    """The newest audit records."""

    async def body(engine: LearningEngine) -> None:
        records = engine.audit_records()
        table = Table()
        for col in ("seq", "at", "actor", "action", "target", "decision", "reason"):
            table.add_column(col)
        for r in records[-n:]:
            table.add_row(
                str(r.sequence), _ts(r.timestamp), r.actor, r.action, r.target, r.decision, r.reason
            )
        console.print(table)

    _run(config, data_dir, body)


if __name__ == "__main__":  # pragma: no cover
    app()
