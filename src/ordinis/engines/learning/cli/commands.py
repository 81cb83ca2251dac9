"""The commands: status, events, jobs, models, drift, rollouts, breakers, audit, serve, ui,
demo, token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from ordinis.engines.learning.cli import render as r
from ordinis.engines.learning.cli.client import Client, CliError, connect, resolve

app = typer.Typer(
    help="ordinis-learning: the closed-loop LearningEngine of ordinis.", no_args_is_help=True
)
events_app = typer.Typer(help="Stored events: stats, tail, ingest.", no_args_is_help=True)
models_app = typer.Typer(help="Models and versions (name:vN).", no_args_is_help=True)
jobs_app = typer.Typer(help="Training jobs.", no_args_is_help=True)
drift_app = typer.Typer(help="Drift alerts, baselines, checks.", no_args_is_help=True)
breakers_app = typer.Typer(help="Circuit breakers.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for `serve`.", no_args_is_help=True)
rollouts_app = typer.Typer(help="Rollouts (shadow, canary, blue-green) and A/B tests.",
                           no_args_is_help=True)
for sub, name in ((events_app, "events"), (models_app, "models"), (jobs_app, "jobs"),
                  (drift_app, "drift"), (rollouts_app, "rollouts"), (breakers_app, "breakers"),
                  (audit_app, "audit"), (token_app, "token")):
    app.add_typer(sub, name=name)

ConfigOpt = typer.Option(None, "--config", "-c", help="YAML config (LearningEngineConfig); "
                         "default: the data dir's learning.yaml when it has one")
DataDirOpt = typer.Option(None, "--data-dir", help="Data directory (in-process mode)")
UrlOpt = typer.Option(None, "--url", help="A running server, e.g. http://127.0.0.1:8765 "
                      "(env ORDINIS_LEARNING_URL)")
TokenOpt = typer.Option(None, "--token", help="Bearer token (env ORDINIS_LEARNING_TOKEN)")
JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts")
JobArg = typer.Argument(..., help="The job's id (`jobs list` lists them)")
TailOpt = typer.Option(20, "-n", "--limit", min=1, max=1000, help="How many of the newest")


@contextmanager
def _session(
    url: str | None, token: str | None, data_dir: Path | None, config: Path | None,
    json_out: bool, write: bool = False,
) -> Iterator[tuple[Client, bool]]:
    """A client for the command; a refusal prints the full message and exits 2."""
    try:
        target = resolve(url, token, data_dir, config, json_out)
        with connect(target, write, r.err.print if not json_out else (lambda _m: None)) as c:
            yield c, json_out
    except CliError as exc:
        r.fail(str(exc))
        raise typer.Exit(2) from None


def _version_id(name: str, version: str | None) -> str:
    """``name:vN`` (as every output prints it) or ``name vN``."""
    if version is None:
        if ":" not in name:
            r.fail(f"version {name!r}: write it as name:version (e.g. spx-signal:v13) or "
                   "pass the version as a second argument")
            raise typer.Exit(2)
        return name
    return f"{name}:{version}"


# ---------------------------------------------------------------------------- status
@app.command()
def status(url: str | None = UrlOpt, token: str | None = TokenOpt,
           data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
           json_out: bool = JsonOpt) -> None:
    """What the engine holds and does: models, jobs, alerts, buffer, breakers, stores.
    Exit 1 when the engine is unhealthy (after printing why)."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        st = c.get("/v1/status")
        health = c.health()
        if js:
            r.as_json({"status": st, "health": health})
        else:
            _print_status(st, health)
    if health["level"] == "unhealthy":
        raise typer.Exit(1)


def _print_status(st: dict[str, Any], health: dict[str, Any]) -> None:
    r.table(("field", "value"), [
        ("health", f"{health['level']}: {health['message']}"),
        ("clock", r.ts(st["clock"])), ("models", ", ".join(st["models"]) or "-"),
        ("training jobs", st["training_jobs"]), ("drift alerts", st["drift_alerts"]),
        ("buffered events", st["buffered_events"]),
        ("breakers", ", ".join(f"{k}={v}" for k, v in st["breakers"].items())),
        ("event store", st["store"]), ("tracking store", st["tracking_uri"]),
    ])


# ---------------------------------------------------------------------------- events
@events_app.command("stats")
def events_stats(url: str | None = UrlOpt, token: str | None = TokenOpt,
                 data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                 json_out: bool = JsonOpt) -> None:
    """Counts of stored events by type and source, and the time span."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        st = c.get("/v1/events/stats")
        if js:
            return r.as_json(st)
        r.table(("event_type", "count"),
                [(k, f"{v:,}") for k, v in sorted(st["by_type"].items())], title="events")
        r.out.print(f"total {st['total']:,}  from {r.ts(st['first_timestamp'])} "
                    f"to {r.ts(st['last_timestamp'])}")
        src = ", ".join(f"{k}={v:,}" for k, v in sorted(st["by_source"].items()))
        r.out.print(f"sources: {src or '-'}")


@events_app.command("tail")
def events_tail(
    n: int = TailOpt,
    event_type: str | None = typer.Option(None, "--type", help="Only this event type"),
    symbol: str | None = typer.Option(None, help="Only this symbol"),
    url: str | None = UrlOpt, token: str | None = TokenOpt,
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
    json_out: bool = JsonOpt,
) -> None:
    """The newest stored events, oldest first."""
    from ordinis.engines.learning.cli.vocab import EVENT_TYPES

    if event_type is not None and event_type.lower() not in EVENT_TYPES:
        r.fail(f"--type={event_type!r} is not an event type; allowed: {', '.join(EVENT_TYPES)}")
        raise typer.Exit(2)
    with _session(url, token, data_dir, config, json_out) as (c, js):
        page = c.get("/v1/events", limit=n, event_type=event_type and event_type.lower(),
                     symbol=symbol)
        if js:
            return r.as_json(page["items"])
        import json

        rows = []
        for ev in reversed(page["items"]):
            payload = json.dumps(ev["payload"], default=str)
            rows.append((r.ts(ev["timestamp"]), ev["event_type"], ev["source_engine"],
                         ev["symbol"] or "-",
                         "-" if ev["outcome"] is None else f"{ev['outcome']:+.5f}",
                         payload if len(payload) <= 60 else payload[:57] + "..."))
        r.table(("timestamp", "type", "source", "symbol", "outcome", "payload"), rows)


@events_app.command("ingest")
def events_ingest(
    path: Path = typer.Argument(..., help="NDJSON file (one event per line) or a JSON array "
                                "of events"),
    batch: int = typer.Option(1000, min=1, max=100_000, help="Events per request"),
    url: str | None = UrlOpt, token: str | None = TokenOpt,
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Send an NDJSON file (or a JSON array file) in batches; each batch is acknowledged
    after commit."""
    try:  # the file first: a bad one opens no engine and creates no data dir
        lines = _event_lines(path)
    except CliError as exc:
        r.fail(str(exc))
        raise typer.Exit(2) from None
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        total = 0
        for i in range(0, len(lines), batch):
            res = c.post_raw("/v1/events/batch", b"\n".join(lines[i : i + batch]),
                             "application/x-ndjson")
            total += int(res["accepted"])
        if js:
            return r.as_json({"accepted": total, "committed": True})
        r.out.print(f"committed {total:,} events from {path}")


def _event_lines(path: Path) -> list[bytes]:
    """The file's events as NDJSON lines: its non-blank lines, or a JSON array's items."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not raw.lstrip().startswith(b"["):
        return [ln for ln in raw.splitlines() if ln.strip()]
    import orjson

    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CliError(f"{path}: starts as a JSON array but is not JSON ({exc}); give a JSON "
                       "array of events or NDJSON, one event per line") from None
    return [orjson.dumps(item) for item in items]


# ---------------------------------------------------------------------------- jobs
JOB_COLUMNS = ("job_id", "model", "type", "status", "created", "completed", "version", "error")


def _job_row(j: dict[str, Any]) -> tuple[Any, ...]:
    return (j["job_id"], j["model_name"], j["model_type"], j["status"], r.ts(j["created_at"]),
            r.ts(j["completed_at"]), j["model_version_id"] or "-", j["error_message"] or "")


@jobs_app.command("list")
def jobs_list(model: str | None = typer.Option(None, help="Only this model"),
              url: str | None = UrlOpt, token: str | None = TokenOpt,
              data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
              json_out: bool = JsonOpt) -> None:
    """Training jobs, newest last."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        jobs = _all(c, "/v1/jobs", model_name=model)
        if js:
            return r.as_json(jobs)
        r.table(JOB_COLUMNS, [_job_row(j) for j in jobs], ids=("job_id", "version"))


@jobs_app.command("show")
def jobs_show(job_id: str = JobArg, url: str | None = UrlOpt, token: str | None = TokenOpt,
              data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
              json_out: bool = JsonOpt) -> None:
    """One job: status, progress, metrics, error."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        j = c.get(f"/v1/jobs/{job_id}")
        if js:
            return r.as_json(j)
        r.table(("field", "value"), [
            ("job_id", j["job_id"]), ("model", j["model_name"]), ("status", j["status"]),
            ("progress", f"{j['progress']:.0%} {j['progress_message']}"),
            ("version", j["model_version_id"]), ("error", j["error_message"]),
            *((f"metric {k}", r.num(v, 4))
              for k, v in sorted(j["metrics"].items())),
        ], ids=("field",))


@jobs_app.command("submit")
def jobs_submit(
    model: str = typer.Argument(..., help="Model name"),
    model_type: str = typer.Option("signal", "--type", help="Trainer: signal, ..."),
    algorithm: str = typer.Option("lightgbm", help="lightgbm or logistic"),
    wait: bool = typer.Option(True, help="Wait and show progress (--no-wait: --url only)"),
    url: str | None = UrlOpt, token: str | None = TokenOpt,
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Submit a training job on the stored events; shows a progress bar while it runs."""
    if not wait and not (url or resolve(url, token, data_dir, config, json_out).remote):
        r.fail("--no-wait needs a running server (--url): in-process the job would stop "
               "when this command exits; run `ordinis-learning serve` and pass --url")
        raise typer.Exit(2)
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        job = c.post("/v1/jobs", {"model_name": model, "model_type": model_type,
                                  "config": {"algorithm": algorithm}})
        if not js:
            r.out.print(f"submitted {job['job_id']} ({job['status']})", soft_wrap=True)
        if not wait:
            if js:
                r.as_json(job)
            return
        final = _follow(c, job, model, quiet=js)
        if js:
            r.as_json(final)
        else:
            colour = "green" if final["status"] == "completed" else "red"
            r.out.print(f"[{colour}]{final['status']}[/{colour}] "
                        f"version={final['model_version_id'] or '-'} "
                        f"{final['error_message'] or ''}", soft_wrap=True)
            for line in _training_summary(final["metrics"], final["model_version_id"]):
                r.out.print(line, soft_wrap=True, markup=False, highlight=False)
        if final["status"] != "completed":
            raise typer.Exit(1)


def _training_summary(metrics: dict[str, Any], version: str | None) -> list[str]:
    """The headline of a finished job: its holdout and its purged cross-validation, then
    where every metric is (a job reports fifty, one per fold and statistic)."""
    m = {k: v for k, v in metrics.items() if v is not None}
    if not m:
        return []

    def num(key: str) -> str:
        return r.num(m[key], 4) if key in m else "-"

    lines: list[str] = []
    if "sharpe" in m:
        lines.append(f"holdout ({num('n_holdout')} newest rows; trained on {num('n_train')}): "
                     f"sharpe {num('sharpe')}, hit rate {num('hit_rate')}, auc {num('auc')}")
    if "cv_sharpe_mean" in m:
        lines.append(f"purged cross-validation ({num('cv_folds')} folds, purge "
                     f"{num('cv_purge_bars')}, embargo {num('cv_embargo_bars')} bars): sharpe "
                     f"{num('cv_sharpe_mean')} ± {num('cv_sharpe_std')} across folds, "
                     f"{num('cv_oos_sharpe')} on all out-of-fold rows")
    if not lines:  # another model type: its own metrics, fold by fold left out
        lines.append(", ".join(f"{k}={r.num(v, 4)}" for k, v in sorted(m.items())
                               if not k.startswith("cv_fold")))
    where = f"ordinis-learning models show {version}" if version else "jobs show"
    lines.append(f"all {len(m)} metrics: {where}")
    return lines


def _follow(c: Client, job: dict[str, Any], model: str, quiet: bool) -> dict[str, Any]:
    """Poll the job until it ends, with a progress bar."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  console=r.out, disable=quiet) as progress:
        task = progress.add_task(f"training {model}", total=1.0)
        while True:
            cur = c.get(f"/v1/jobs/{job['job_id']}")
            step = cur["progress_message"] or cur["status"]
            progress.update(task, completed=cur["progress"],
                            description=f"training {model}: {step}")
            if cur["status"] in ("completed", "failed", "cancelled"):
                if cur["status"] == "completed":
                    progress.update(task, completed=1.0)
                return dict(cur)
            time.sleep(0.2)


@jobs_app.command("cancel")
def jobs_cancel(job_id: str = JobArg, url: str | None = UrlOpt, token: str | None = TokenOpt,
                data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                json_out: bool = JsonOpt) -> None:
    """Cancel a queued or running job."""
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        before = c.get(f"/v1/jobs/{job_id}")
        if before["status"] in ("completed", "failed", "cancelled"):
            if js:
                return r.as_json(before)
            r.out.print(f"{job_id}: already {before['status']}; nothing to cancel")
            return
        job = c.post(f"/v1/jobs/{job_id}/cancel")
        if js:
            return r.as_json(job)
        r.out.print(f"{job['job_id']}: {job['status']}")


def _newest(c: Client, path: str, n: int, **params: Any) -> list[dict[str, Any]]:
    """The last ``n`` items of a paginated list (oldest first), reading only their pages."""
    total = int(c.get(path, limit=1, offset=0, **params)["total"])
    return _pages(c, path, max(total - n, 0), params) if total else []


def _all(c: Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list."""
    return _pages(c, path, 0, params)


def _pages(c: Client, path: str, offset: int, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a paginated list from ``offset`` on, a page of 1,000 at a time."""
    items: list[dict[str, Any]] = []
    at: int | None = offset
    while at is not None:
        page = c.get(path, limit=1000, offset=at, **params)
        items.extend(page["items"])
        at = page["next_offset"]
    return items


