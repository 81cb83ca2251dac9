"""``drift``, ``breakers``, ``audit``, ``serve``, ``ui``, ``demo`` and ``token``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

from ordinis.engines.learning.cli import render as r
from ordinis.engines.learning.cli.client import CliError, config_file
from ordinis.engines.learning.cli.commands import (
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    TailOpt,
    TokenOpt,
    UrlOpt,
    _all,
    _newest,
    _session,
    app,
    audit_app,
    breakers_app,
    drift_app,
)


# ---------------------------------------------------------------------------- drift
@drift_app.command("alerts")
def drift_alerts(model: str | None = typer.Option(None, help="Only this model's alerts"),
                 n: int | None = typer.Option(None, "-n", "--limit", min=1,
                                              help="Only the newest n (default: all)"),
                 url: str | None = UrlOpt,
                 token: str | None = TokenOpt, data_dir: Path | None = DataDirOpt,
                 config: Path | None = ConfigOpt, json_out: bool = JsonOpt) -> None:
    """Drift alerts, oldest first."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        alerts = (_newest(c, "/v1/drift/alerts", n, model_name=model) if n
                  else _all(c, "/v1/drift/alerts", model_name=model))
        if js:
            return r.as_json(alerts)
        r.table(("at", "model", "type", "severity", "metric", "current", "baseline"), [
            (r.ts(a["detected_at"]), a["model_name"], a["drift_type"], a["severity"],
             a["metric"], a["current_value"], a["baseline_value"]) for a in alerts
        ])


@drift_app.command("baselines")
def drift_baselines(url: str | None = UrlOpt, token: str | None = TokenOpt,
                    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                    json_out: bool = JsonOpt) -> None:
    """Every model's drift baseline."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        base = c.get("/v1/drift/baselines")
        if js:
            return r.as_json(base)
        r.table(("model", "metric", "baseline"),
                [(m, k, v) for m, ms in sorted(base.items()) for k, v in sorted(ms.items())])


@drift_app.command("check")
def drift_check(model: str = typer.Argument(..., help="The model's name"),
                metric: list[str] = typer.Option(..., "--metric", "-m",
                                                 help="name=value, e.g. -m sharpe=0.4"),
                url: str | None = UrlOpt, token: str | None = TokenOpt,
                data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                json_out: bool = JsonOpt) -> None:
    """Compare reported metrics with the baseline (exit 1 when it drifted)."""
    values = _metric_values(metric)
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        alerts = c.post(f"/v1/drift/check/{model}", {"metrics": values})
        standing = c.get(f"/v1/drift/compare/{model}", **values)
    if js:
        r.as_json({"alerts": alerts, "metrics": standing})
    elif standing:
        alerted = {a["metric"]: a["severity"] for a in alerts}
        r.table(("metric", "current", "baseline", "change", "drift"), [
            (m["metric"], m["value"], m["baseline"], r.num(m["ratio"], 3),
             _drift_state(m, alerted.get(m["metric"]))) for m in standing])
    else:
        r.out.print(f"no baseline for {model} covers these metrics: nothing to compare")
    if any(m["severity"] for m in standing):
        raise typer.Exit(1)


@drift_app.command("set-baseline")
def drift_set_baseline(model: str = typer.Argument(..., help="The model's name"),
                       metric: list[str] = typer.Option(
                           ..., "--metric", "-m",
                           help="name=value, e.g. -m sharpe=0.8 -m max_drawdown=0.12"),
                       url: str | None = UrlOpt, token: str | None = TokenOpt,
                       data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                       json_out: bool = JsonOpt) -> None:
    """Set the model's drift baseline (replaces the one it had): what checks compare with."""
    values = _metric_values(metric)
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        base = c.put(f"/v1/drift/baselines/{model}", {"metrics": values})
    if js:
        return r.as_json(base)
    r.table(("model", "metric", "baseline"), [(model, k, v) for k, v in sorted(base.items())])


def _metric_values(metric: list[str]) -> dict[str, float]:
    """``-m name=value`` options as numbers; a clear refusal (exit 2) of a malformed one."""
    values: dict[str, float] = {}
    for item in metric:
        key, _, val = item.partition("=")
        try:
            values[key] = float(val)
        except ValueError:
            r.fail(f"--metric {item!r}: write name=value with a number, e.g. sharpe=0.4")
            raise typer.Exit(2) from None
        if not key.strip():
            r.fail(f"--metric {item!r}: name the metric before '=', e.g. sharpe=0.4")
            raise typer.Exit(2)
        if not math.isfinite(values[key]):
            r.fail(f"--metric {item!r}: the value must be a finite number, e.g. sharpe=0.4")
            raise typer.Exit(2)
    return values


def _drift_state(m: dict[str, Any], alerted: str | None) -> str:
    """One metric's drift in words: a new alert, an open episode (no new alert), or none."""
    since = f"episode open since {r.ts(m['episode_opened_at'])}"
    if alerted:
        return f"{alerted}: new alert"
    if m["severity"] and m["episode_severity"]:
        return (f"{m['severity']}: in the {m['episode_severity']} {since}; no new alert "
                "until it recovers")
    if m["severity"]:
        return f"{m['severity']}: no alert raised"
    if m["episode_severity"]:
        return f"within the threshold, recovering ({since})"
    return "none"


@drift_app.command("score")
def drift_score(
    files: list[Path] = typer.Argument(..., help="Annotated series: TCPD dataset files or "
                                       'plain {"values": [...], "annotations": {...}} files'),
    annotations: Path | None = typer.Option(
        None, help="TCPD's annotations.json, for TCPD dataset files"),
    detector: list[str] = typer.Option(
        None, "--detector", "-d", help="A detector name (repeat); default: all"),
    margin: int = typer.Option(5, help="Points either side within which a change is found"),
    json_out: bool = JsonOpt,
) -> None:
    """Score the detectors on your own annotated series (TCPD protocol, F1), beside silence:
    choose the stream detector on your own history, every detector at its defaults, nothing
    tuned on the series. Runs here; no engine or server is needed.
    """
    from ordinis.engines.learning import LearningEngineError
    from ordinis.engines.learning.drift import (
        ZERO,
        detector_names,
        read_annotated_series,
        score_detectors,
    )

    names = list(detector) if detector else list(detector_names())
    try:
        series = [read_annotated_series(f, annotations) for f in files]
        res = score_detectors(series, names, margin)
    except LearningEngineError as exc:
        r.fail(str(exc))
        raise typer.Exit(2) from None
    columns = (*res.detectors, ZERO)
    if json_out:
        return r.as_json({
            "margin": res.margin, "best": res.best,
            "mean_f1": {d: res.mean_f1(d) for d in columns},
            "series": [{"name": s.name, "n": len(s.values),
                        "f1": {d: res.scores[d][i].f1 for d in columns},
                        "located": {d: list(res.located[d][i]) for d in res.detectors}}
                       for i, s in enumerate(res.series)]})
    rows = [(s.name, len(s.values), *(f"{res.scores[d][i].f1:.3f}" for d in columns))
            for i, s in enumerate(res.series)]
    rows.append(("mean", "", *(f"{res.mean_f1(d):.3f}" for d in columns)))
    r.table(("series", "n", *columns), rows, title=f"F1 (TCPD protocol, margin {margin})",
            ids=("series",))
    best = res.best
    r.out.print(f"best: {best} ({res.mean_f1(best):.3f}); silence {res.mean_f1(ZERO):.3f}"
                + ("; no detector beats silence on these series" if best == ZERO else ""),
                markup=False, soft_wrap=True)


# ---------------------------------------------------------------------------- breakers
@breakers_app.command("list")
def breakers_list(url: str | None = UrlOpt, token: str | None = TokenOpt,
                  data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                  json_out: bool = JsonOpt) -> None:
    """Every breaker's state and why."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        states = c.get("/v1/breakers")
        if js:
            return r.as_json(states)
        r.table(("engine", "state", "reason", "opened", "trips", "last reset by"), [
            (b["engine"], b["state"], b["reason"] or "-", r.ts(b["opened_at"]), b["trips"],
             b["last_reset_by"] or "-") for b in states
        ])


@breakers_app.command("reset")
def breakers_reset(engine: str = typer.Argument(..., help="The breaker: signal, risk, "
                                                "execution or portfolio"),
                   reason: str = typer.Option(..., help="Why (audited)"),
                   url: str | None = UrlOpt, token: str | None = TokenOpt,
                   data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                   json_out: bool = JsonOpt) -> None:
    """Close a breaker by hand, with a reason."""
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        b = c.post(f"/v1/breakers/{engine}/reset", {"reason": reason})
        if js:
            return r.as_json(b)
        r.out.print(f"{b['engine']}: {b['state']} (reset by {b['last_reset_by']})")


# ---------------------------------------------------------------------------- audit
@audit_app.command("verify")
def audit_verify(url: str | None = UrlOpt, token: str | None = TokenOpt,
                 data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                 json_out: bool = JsonOpt) -> None:
    """Recompute the audit hash chain; exit 1 if any record was edited."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        v = c.get("/v1/audit/verify")
    if js:
        r.as_json(v)
    elif v["ok"]:
        r.out.print(f"[green]audit chain intact[/green]: {v['checked']} records")
    else:
        r.out.print(f"[red]audit chain broken[/red] at sequence {v['first_bad_sequence']}: "
                    f"{v['problem']}", soft_wrap=True)
    if not v["ok"]:
        raise typer.Exit(1)


@audit_app.command("tail")
def audit_tail(n: int = TailOpt, url: str | None = UrlOpt,
               token: str | None = TokenOpt, data_dir: Path | None = DataDirOpt,
               config: Path | None = ConfigOpt, json_out: bool = JsonOpt) -> None:
    """The newest audit records."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        records = c.get("/v1/audit", limit=n)
        if js:
            return r.as_json(records)
        r.table(("seq", "at", "actor", "action", "target", "decision", "reason"), [
            (a["sequence"], r.ts(a["timestamp"]), a["actor"], a["action"], a["target"],
             a["decision"], a["reason"]) for a in records
        ])


# ---------------------------------------------------------------------------- serve, ui, demo
@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind"),
    port: int = typer.Option(8765, min=1, max=65535, help="Port to listen on"),
    tokens_file: Path | None = typer.Option(None, help="token-hash -> identity, roles "
                                            "(JSON/YAML); else env ORDINIS_LEARNING_TOKENS"),
    insecure_local: bool = typer.Option(False, help="No tokens needed (loopback only)"),
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
) -> None:
    """Run one engine behind the HTTP API (OpenAPI at /docs)."""
    from ordinis.engines.learning import LearningEngineConfig, LearningEngineError
    from ordinis.engines.learning.api.server import serve as run

    try:
        overrides: dict[str, object] = {"data_dir": data_dir} if data_dir is not None else {}
        path = config_file(config, data_dir, r.err.print)
        cfg = LearningEngineConfig.load(path, **overrides)  # type: ignore[arg-type]
        r.err.print(f"store: {cfg.resolved_store_url}; tracking: {cfg.resolved_mlflow_uri}")
        run(cfg, host, port, tokens_file, insecure_local)
    except LearningEngineError as exc:
        r.fail(str(exc))
        raise typer.Exit(2) from None


@app.command()
def ui(port: int = typer.Option(5000, help="Port of the MLflow UI"),
       data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
       dry_run: bool = typer.Option(False, help="Print the command instead of running it")) -> None:
    """Open the MLflow UI on this engine's tracking store (stages are aliases there)."""
    import shutil
    import subprocess
    import sys

    from ordinis.engines.learning import LearningEngineConfig, LearningEngineError

    overrides: dict[str, object] = {"data_dir": data_dir} if data_dir is not None else {}
    try:
        path = config_file(config, data_dir, r.err.print)
        cfg = LearningEngineConfig.load(path, **overrides)  # type: ignore[arg-type]
    except LearningEngineError as exc:
        r.fail(str(exc))
        raise typer.Exit(2) from None
    uri = cfg.resolved_mlflow_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        r.fail(f"no tracking store at {uri}; pass --data-dir of an engine's data dir")
        raise typer.Exit(2)
    exe = shutil.which("mlflow") or f"{sys.executable} -m mlflow"
    cmd = [*exe.split(), "ui", "--backend-store-uri", uri,
           "--default-artifact-root", str(cfg.artifacts_dir), "--port", str(port),
           "--host", "127.0.0.1"]
    r.err.print(" ".join(cmd))
    if not dry_run:
        raise typer.Exit(subprocess.call(cmd))


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
    fresh: bool = typer.Option(
        False, help="Replace a previous demo run in DATA_DIR (only a directory the demo made)"
    ),
) -> None:
    """Replay real bars through the closed loop as a host would; write the HTML report."""
    import asyncio

    from ordinis.engines.learning import LearningEngineError
    from ordinis.engines.learning.demo.replay import DemoOptions, run_demo

    if data not in ("sp500", "bitcoin"):
        r.fail(f"--data {data!r}: use sp500 or bitcoin")
        raise typer.Exit(2)
    if config is not None and not config.is_file():
        r.fail(f"--config {config}: no such file (give a pipeline.yaml)")
        raise typer.Exit(2)
    opts = DemoOptions(
        data_dir=data_dir, data=data, start=start, end=end, n_symbols=symbols, fresh=fresh,
        quick=quick, pipeline=config, report=report,
    )
    try:
        asyncio.run(run_demo(opts, r.out))
    except (LearningEngineError, ValueError) as exc:
        r.fail(str(exc))
        raise typer.Exit(2) from None


_ = CliError
