"""``models``: list, show, history, at, promote, request/approve/reject, blockers, rollback,
evaluate, evaluations, compare."""

from __future__ import annotations

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
    _all,
    _session,
    _version_id,
    models_app,
)

VersionArg = typer.Argument(None, help="The version, when the first argument is the bare name")
VersionNameArg = typer.Argument(..., help="The version, name:vN (or the bare name, then the "
                                "version)")
ModelArg = typer.Argument(..., help="The model's name")
StageOpt = typer.Option("production", help="The stage: production, staging, development or "
                        "archived")
RequestArg = typer.Argument(..., help="The promotion request's id (`models requests` lists "
                            "them)")


@models_app.command("list")
def models_list(url: str | None = UrlOpt, token: str | None = TokenOpt,
                data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                json_out: bool = JsonOpt) -> None:
    """Every model and its versions with their stages."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        versions = [v for m in _all(c, "/v1/models")
                    for v in _all(c, f"/v1/models/{m['name']}/versions")]
        if js:
            return r.as_json(versions)
        _versions_table(versions)


def _versions_table(versions: list[dict[str, Any]]) -> None:
    """Versions with their stages; the latest evaluation's own summary (required and advisory
    apart), never a bare "passed"; production shows the production-gate verdict promotion
    reads."""
    r.table(("model", "version", "stage", "created", "evaluation", "production", "job"), [
        (v["model_name"], v["version"], v["stage"], r.ts(v["created_at"]),
         v["evaluation_label"], v["production"], v["training_job_id"] or "-")
        for v in versions
    ], ids=("model", "version", "job"))


@models_app.command("show")
def models_show(name: str = VersionNameArg, version: str | None = VersionArg,
                url: str | None = UrlOpt,
                token: str | None = TokenOpt, data_dir: Path | None = DataDirOpt,
                config: Path | None = ConfigOpt, json_out: bool = JsonOpt) -> None:
    """One version (`name:vN` or `name vN`): metrics, parameters, lineage, artifact hash.
    A bare model name shows the model: its versions and their stages."""
    if version is None and ":" not in name:
        with _session(url, token, data_dir, config, json_out) as (c, js):
            versions = _all(c, f"/v1/models/{name}/versions")
            if js:
                return r.as_json(versions)
            _versions_table(versions)
            r.out.print(f"one version: ordinis-learning models show {name}:vN", soft_wrap=True)
        return
    vid = _version_id(name, version)
    with _session(url, token, data_dir, config, json_out) as (c, js):
        mv = c.get(f"/v1/versions/{vid}")
        if js:
            return r.as_json(mv)
        r.out.print(f"[bold]{mv['version_id']}[/bold]  stage={mv['stage']}  "
                    f"created={r.ts(mv['created_at'])}", soft_wrap=True)
        r.out.print(f"sha256={mv['artifact_sha256']}", soft_wrap=True)
        for title in ("metrics", "parameters", "lineage"):
            r.table(("key", "value"), sorted(mv[title].items()), title=title, ids=("key",))


@models_app.command("history")
def models_history(name: str = ModelArg, url: str | None = UrlOpt, token: str | None = TokenOpt,
                   data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                   json_out: bool = JsonOpt) -> None:
    """Every stage change of a model: when, which version, from/to, who and why."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        changes = _all(c, f"/v1/models/{name}/history")
        if js:
            return r.as_json(changes)
        r.table(("at", "version", "from", "to", "actor", "reason"), [
            (r.ts(ch["at"]), ch["version"], ch["from_stage"] or "-", ch["to_stage"],
             ch["actor"], ch["reason"]) for ch in changes
        ], ids=("version",))


@models_app.command("at")
def models_at(name: str = ModelArg,
              at: str = typer.Argument(..., help="ISO time, e.g. 2024-03-01T00:00Z"),
              stage: str = StageOpt, url: str | None = UrlOpt,
              token: str | None = TokenOpt, data_dir: Path | None = DataDirOpt,
              config: Path | None = ConfigOpt, json_out: bool = JsonOpt) -> None:
    """Which version held `stage` at time T."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        mv = c.get(f"/v1/models/{name}/at", t=at, stage=stage)
        if js:
            return r.as_json(mv)
        r.out.print(f"{mv['version_id']} was in {stage} at {at}", soft_wrap=True)


@models_app.command("promote")
def models_promote(name: str = VersionNameArg,
                   stage: str = typer.Argument(..., help="The target stage"),
                   reason: str = typer.Option("", help="Why (audited)"),
                   url: str | None = UrlOpt, token: str | None = TokenOpt,
                   data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                   json_out: bool = JsonOpt) -> None:
    """Move `name:vN` to a stage through governance (production with `approval: manual`:
    use `models request` and have another approver run `models approve`)."""
    vid = _version_id(name, None)
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        mv = c.post(f"/v1/versions/{vid}/promote", {"stage": stage, "reason": reason})
        if js:
            return r.as_json(mv)
        r.out.print(f"{mv['version_id']}: {mv['stage']}", soft_wrap=True)


@models_app.command("request")
def models_request(name: str = VersionNameArg, stage: str = StageOpt,
                   reason: str = typer.Option("", help="Why (audited)"),
                   url: str | None = UrlOpt, token: str | None = TokenOpt,
                   data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                   json_out: bool = JsonOpt) -> None:
    """Ask for a promotion of `name:vN`; prints the request id an approver approves."""
    vid = _version_id(name, None)
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        req = c.post("/v1/promotions", {"version_id": vid, "stage": stage, "reason": reason})
        blockers = c.get(f"/v1/versions/{vid}/blockers", stage=stage)
        if js:
            return r.as_json({"request": req, "blockers": blockers})
        r.out.print(f"request {req['request_id']} pending for {vid} -> {stage}", soft_wrap=True)
        _print_blockers(blockers)


@models_app.command("approve")
def models_approve(request_id: str = RequestArg,
                   reason: str = typer.Option("", help="Why (audited)"),
                   url: str | None = UrlOpt, token: str | None = TokenOpt,
                   data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                   json_out: bool = JsonOpt) -> None:
    """Approve a promotion request (not your own) and promote."""
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        mv = c.post(f"/v1/promotions/{request_id}/approve", {"reason": reason})
        if js:
            return r.as_json(mv)
        r.out.print(f"{mv['version_id']}: {mv['stage']}", soft_wrap=True)


@models_app.command("reject")
def models_reject(request_id: str = RequestArg,
                  reason: str = typer.Option(..., help="Why (audited)"),
                  url: str | None = UrlOpt, token: str | None = TokenOpt,
                  data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                  json_out: bool = JsonOpt) -> None:
    """Reject a promotion request."""
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        req = c.post(f"/v1/promotions/{request_id}/reject", {"reason": reason})
        if js:
            return r.as_json(req)
        r.out.print(f"request {req['request_id']}: {req['status']}", soft_wrap=True)


@models_app.command("requests")
def models_requests(pending: bool = typer.Option(False, help="Only pending ones"),
                    url: str | None = UrlOpt, token: str | None = TokenOpt,
                    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                    json_out: bool = JsonOpt) -> None:
    """Promotion requests and their state."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        reqs = _all(c, "/v1/promotions", pending=pending)
        if js:
            return r.as_json(reqs)
        r.table(("request_id", "version", "to", "by", "status", "decided_by"), [
            (q["request_id"], q["version_id"], q["target_stage"], q["requested_by"],
             q["status"], q["decided_by"] or "-") for q in reqs
        ], ids=("request_id", "version"))


@models_app.command("blockers")
def models_blockers(name: str = VersionNameArg, stage: str = StageOpt,
                    url: str | None = UrlOpt, token: str | None = TokenOpt,
                    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                    json_out: bool = JsonOpt) -> None:
    """What still blocks promoting `name:vN` (exit 1 while something does)."""
    vid = _version_id(name, None)
    with _session(url, token, data_dir, config, json_out) as (c, js):
        blockers = c.get(f"/v1/versions/{vid}/blockers", stage=stage)
    if js:
        r.as_json(blockers)
    else:
        _print_blockers(blockers)
    if blockers:
        raise typer.Exit(1)


def _print_blockers(blockers: list[dict[str, Any]]) -> None:
    if not blockers:
        r.out.print("[green]nothing blocks it[/green]")
        return
    r.table(("policy", "decision", "reason"),
            [(b["policy"], b["decision"], b["reason"]) for b in blockers], title="blocked by")


@models_app.command("rollback")
def models_rollback(name: str = ModelArg, reason: str = typer.Option(..., help="Why (audited)"),
                    url: str | None = UrlOpt, token: str | None = TokenOpt,
                    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                    json_out: bool = JsonOpt) -> None:
    """Restore the previous production version of a model."""
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        mv = c.post(f"/v1/models/{name}/rollback", {"reason": reason})
        if js:
            return r.as_json(mv)
        r.out.print(f"{mv['version_id']}: {mv['stage']} (rolled back)", soft_wrap=True)


@models_app.command("evaluate")
def models_evaluate(
    name: str = VersionNameArg, version: str | None = VersionArg,
    benchmark: list[str] = typer.Option(None, "--benchmark", "-b", help="Pack(s); default all"),
    gates: str = typer.Option("production", help="Gate set: production, staging or a YAML path"),
    url: str | None = UrlOpt, token: str | None = TokenOpt,
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Evaluate a version on the benchmark packs and print the gate report; exit 1 when the
    gates refuse it."""
    vid = _version_id(name, version)
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        res = c.post(f"/v1/versions/{vid}/evaluations",
                     {"benchmarks": benchmark or None, "gate_set": gates})
    if js:
        r.as_json(res)
    else:
        r.table(("metric", "value"), [
            (k, r.num(v, 4)) for k, v in sorted(res["metrics"].items())
        ], title=f"{res['model_version_id']} on {res['benchmark_name']} "
                 f"(data {res['data_hash'][:12] or '-'})")
        if res["gate_report"]:
            r.out.print(res["gate_report"], soft_wrap=True, markup=False, highlight=False)
        verdict = "[green]PASSED[/green]" if res["passed"] else "[red]REFUSED[/red]"
        r.out.print(
            f"gate set {res['gate_set'] or '?'!r}: {verdict}"
            + ("" if res.get("opens_production") else " (this gate set never opens production)")
        )
    if not res["passed"]:
        raise typer.Exit(1)


@models_app.command("evaluations")
def models_evaluations(
    name: str = VersionNameArg, version: str | None = VersionArg,
    gates: str | None = typer.Option(None, help="Only this gate set's evaluations"),
    url: str | None = UrlOpt, token: str | None = TokenOpt,
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
    json_out: bool = JsonOpt,
) -> None:
    """A version's evaluation history, oldest first (every gate set, or one)."""
    vid = _version_id(name, version)
    with _session(url, token, data_dir, config, json_out) as (c, js):
        items = _all(c, f"/v1/versions/{vid}/evaluations", gate_set=gates)
    if js:
        return r.as_json(items)
    r.table(("#", "at", "gate set", "benchmark", "result", "verdict", "evaluation_id"), [
        (e["sequence"], r.ts(e["evaluated_at"]), e["gate_set"] or "-", e["benchmark_name"],
         "passed" if e["passed"] else "refused", e["verdict"] or "-", e["evaluation_id"])
        for e in items
    ], title=f"evaluations of {vid}", ids=("evaluation_id",))


@models_app.command("compare")
def models_compare(a: str = typer.Argument(..., help="The challenger, name:vN"),
                   b: str = typer.Argument(..., help="The champion, name:vN"),
                   benchmark: list[str] = typer.Option(None, "--benchmark", "-b",
                                                       help="Pack(s); default all"),
                   url: str | None = UrlOpt, token: str | None = TokenOpt,
                   data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                   json_out: bool = JsonOpt) -> None:
    """Challenger `a` (name:vN) against champion `b` on the same packs."""
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        res = c.post("/v1/evaluations/compare",
                     {"version_a": a, "version_b": b, "benchmarks": benchmark or None})
    if js:
        return r.as_json(res)
    verdict = (f"{a} is better than {b}" if res["a_better"]
               else f"{a} is not shown better than {b}")
    r.out.print(f"{a} vs {b}: Sharpe difference {_signed(res['sharpe_diff'])} "
                f"[{_signed(res['lower'])}, {_signed(res['upper'])}], "
                f"p={r.num(res['p_value'], 3)}; {verdict}", soft_wrap=True, markup=False)


def _signed(x: float | None) -> str:
    """A Sharpe difference to three decimals with its sign (``-`` when there is none)."""
    return "-" if x is None else f"{x:+.3f}"
