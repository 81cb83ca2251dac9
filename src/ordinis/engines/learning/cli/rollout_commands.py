"""``rollouts``: list, show, start, approve, abort; ``rollouts ab``, ``ab-create``, ``ab-assign``,
``ab-record`` and ``ab-stop`` for A/B tests. The same requests in-process (``--data-dir``) and
against a server (``--url``)."""

from __future__ import annotations

import math
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
    rollouts_app,
)

RolloutModelArg = typer.Argument(..., help="The model whose rollout it is")
TestArg = typer.Argument(..., help="The A/B test's id (`rollouts ab` lists them)")

ROLLOUT_COLUMNS = ("model", "candidate", "champion", "strategy", "phase", "step", "traffic",
                   "outcomes", "verdict", "started")


def _row(ro: dict[str, Any]) -> tuple[Any, ...]:
    traffic = "-" if ro["traffic"] is None else f"{ro['traffic']:.0%}"
    return (ro["model_name"], ro["candidate"], ro["champion"] or "-", ro["strategy"],
            ro["phase"], ro["step"], traffic, ro["outcomes"], ro["evidence"]["verdict"],
            r.ts(ro["started_at"]))


def _print(ro: dict[str, Any]) -> None:
    r.table(ROLLOUT_COLUMNS, [_row(ro)], ids=("model", "candidate", "champion"))
    ev = ro["evidence"]
    r.out.print(f"rollout {ro['rollout_id']}: evidence over {ev['periods']} periods: "
                f"{ev['verdict']} ({ev['reason']})", soft_wrap=True, markup=False)
    if ro["rollback_reason"]:
        r.out.print(f"rolled back: {ro['rollback_reason']}", soft_wrap=True, markup=False)


@rollouts_app.command("list")
def rollouts_list(active: bool = typer.Option(False, "--active", help="Only running rollouts"),
                  url: str | None = UrlOpt, token: str | None = TokenOpt,
                  data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                  json_out: bool = JsonOpt) -> None:
    """Each model's current (or last) rollout."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        items = _all(c, "/v1/rollouts", active=True if active else None)
        if js:
            return r.as_json(items)
        r.table(ROLLOUT_COLUMNS, [_row(x) for x in items], ids=("model", "candidate", "champion"))


@rollouts_app.command("show")
def rollouts_show(model: str = RolloutModelArg, url: str | None = UrlOpt,
                  token: str | None = TokenOpt,
                  data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                  json_out: bool = JsonOpt) -> None:
    """One model's rollout: phase, step, traffic, evidence and every decision."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        ro = c.get(f"/v1/rollouts/{model}")
        if js:
            return r.as_json(ro)
        _print(ro)
        r.table(("at", "action", "phase", "step", "traffic", "actor", "reason"), [
            (r.ts(d["at"]), d["action"], d["phase"], d["step"],
             "-" if d["traffic"] is None else f"{d['traffic']:.0%}", d["actor"], d["reason"])
            for d in ro["decisions"]
        ], title="decisions")


@rollouts_app.command("start")
def rollouts_start(version: str = typer.Argument(..., help="The candidate, name:vN"),
                   strategy: str | None = typer.Option(
                       None, help="shadow, canary, blue_green, immediate (default: pipeline)"),
                   reason: str = typer.Option("", help="Why (audited)"),
                   url: str | None = UrlOpt, token: str | None = TokenOpt,
                   data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                   json_out: bool = JsonOpt) -> None:
    """Start a rollout of a candidate against the production version."""
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        ro = c.post("/v1/rollouts", {"version_id": version, "strategy": strategy,
                                     "reason": reason})
        if js:
            return r.as_json(ro)
        if ro is None:
            why = ("an immediate rollout" if (strategy or "").lower() == "immediate"
                   else "no production version to run a rollout against")
            r.out.print(f"{version}: promoted to production at once ({why})", soft_wrap=True)
            return
        _print(ro)
        for d in ro["decisions"]:
            if d["action"] == "parity_unmeasurable":  # said now, while there is time to fix it
                r.out.print(f"[yellow]warning:[/yellow] {d['reason']}", soft_wrap=True,
                            highlight=False)


@rollouts_app.command("approve")
def rollouts_approve(model: str = RolloutModelArg,
                     reason: str = typer.Option("", help="Why (audited)"),
                     url: str | None = UrlOpt, token: str | None = TokenOpt,
                     data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                     json_out: bool = JsonOpt) -> None:
    """Approve a rollout in shadow or awaiting approval (the approver role)."""
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        ro = c.post(f"/v1/rollouts/{model}/approve", {"reason": reason})
        if js:
            return r.as_json(ro)
        _print(ro)


@rollouts_app.command("abort")
def rollouts_abort(model: str = RolloutModelArg,
                   reason: str = typer.Option(..., help="Why (audited)"),
                   url: str | None = UrlOpt, token: str | None = TokenOpt,
                   data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                   json_out: bool = JsonOpt) -> None:
    """Roll the candidate back now: the champion serves again at once."""
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        ro = c.post(f"/v1/rollouts/{model}/abort", {"reason": reason})
        if js:
            return r.as_json(ro)
        _print(ro)


# The difference of means (in the outcome's own units, e.g. PnL per trade) with its
# anytime-valid interval comes first: the lift divides it by the control's mean, which for
# trading outcomes is often near zero, so a lift alone can read +186% on a difference of noise.
AB_COLUMNS = ("test_id", "name", "status", "n", "difference", "interval", "lift", "p",
              "decision")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1%}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:+.4g}"


def _figures(x: dict[str, Any]) -> tuple[str, str, str, str]:
    """Difference, its interval, lift and p-value of a test's (leading) or one comparison's
    figures."""
    p = "-" if x["p_value"] is None else f"{x['p_value']:.3g}"
    interval = f"[{_num(x['difference_lower'])}, {_num(x['difference_upper'])}]"
    return _num(x["difference"]), interval, _pct(x["lift"]), p


def _ab_row(t: dict[str, Any]) -> tuple[Any, ...]:
    """One test; with several treatments, the figures are the leading one's (named)."""
    n = "/".join(str(v["n"]) for v in t["stats"])
    diff, interval, lift, p = _figures(t)
    if len(t["comparisons"]) > 1:
        diff = f"{t['leading']} {diff}"
    return (t["test_id"], t["name"], t["status"], n, diff, interval, lift, p, t["decision"])


COMPARISON_COLUMNS = ("treatment", "difference", "interval", "lift", "p", "alpha", "verdict")


def _comparison_row(x: dict[str, Any]) -> tuple[Any, ...]:
    return (x["variant"], *_figures(x), f"{x['alpha']:.3g}", x["verdict"])


@rollouts_app.command("ab")
def rollouts_ab(test_id: str | None = typer.Argument(None, help="One test (default: all)"),
                url: str | None = UrlOpt, token: str | None = TokenOpt,
                data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                json_out: bool = JsonOpt) -> None:
    """A/B tests with their lift, anytime-valid interval, p-value and decision."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        items = [c.get(f"/v1/ab-tests/{test_id}")] if test_id else _all(c, "/v1/ab-tests")
        if js:
            return r.as_json(items[0] if test_id else items)
        r.table(AB_COLUMNS, [_ab_row(t) for t in items], ids=("test_id",))
        for t in items if test_id else ():
            if len(t["comparisons"]) > 1:
                r.table(COMPARISON_COLUMNS, [_comparison_row(x) for x in t["comparisons"]],
                        title=f"each treatment against {t['variants'][0]}")
            r.out.print(f"{t['decision']}: {t['reason']}", soft_wrap=True, markup=False)


def _floats(option: str, text: str | None) -> list[float] | None:
    """``0.9,0.1`` as numbers; a clear refusal naming the option otherwise."""
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        r.fail(f"{option} {text!r}: write numbers separated by commas, e.g. 0.9,0.1")
        raise typer.Exit(2) from None


@rollouts_app.command("ab-create")
def rollouts_ab_create(
    name: str = typer.Argument(..., help="What is compared"),
    variants: str = typer.Option("control,treatment",
                                 help="2 to 10 names, the control first, e.g. flat,kelly,half"),
    weights: str | None = typer.Option(None, help="Traffic shares, e.g. 0.9,0.1 (default: equal)"),
    alpha: float = typer.Option(0.05, help="Type-I error of the anytime-valid test"),
    min_samples: int = typer.Option(100, help="Results per variant before a decision"),
    max_samples: int | None = typer.Option(
        None, help="All variants' results after which it stops with no difference"),
    design_samples: int = typer.Option(1000, help="Sample size the interval is tightest at"),
    url: str | None = UrlOpt, token: str | None = TokenOpt,
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Start an A/B test (operators); the host assigns keys and records outcomes."""
    body = {"name": name, "variants": variants.split(","),
            "weights": _floats("--weights", weights), "alpha": alpha,
            "min_samples": min_samples, "max_samples": max_samples,
            "design_samples": design_samples}
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        t = c.post("/v1/ab-tests", body)
        if js:
            return r.as_json(t)
        r.table(AB_COLUMNS, [_ab_row(t)], ids=("test_id",))


@rollouts_app.command("ab-assign")
def rollouts_ab_assign(
    test_id: str = TestArg,
    key: str = typer.Argument(..., help="Who is assigned (account, symbol, ...)"),
    url: str | None = UrlOpt, token: str | None = TokenOpt,
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
    json_out: bool = JsonOpt,
) -> None:
    """The key's variant in a test: sticky, the same wherever it is asked."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        a = c.get(f"/v1/ab-tests/{test_id}/variant", key=key)
        if js:
            return r.as_json(a)
        r.out.print(a["variant"], markup=False)


@rollouts_app.command("ab-record")
def rollouts_ab_record(
    test_id: str = TestArg,
    variant: str = typer.Argument(..., help="The variant the outcome belongs to"),
    value: float = typer.Option(..., "--value",
                                help="The outcome, e.g. a trade's PnL (negative allowed)"),
    win: bool | None = typer.Option(None, "--win/--loss", help="Default: value > 0"),
    url: str | None = UrlOpt, token: str | None = TokenOpt,
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Record one outcome of a variant (writers); prints the test's results."""
    if not math.isfinite(value):
        r.fail(f"--value {value}: must be a finite number (an outcome such as a trade's PnL)")
        raise typer.Exit(2)
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        t = c.post(f"/v1/ab-tests/{test_id}/results",
                   {"results": [{"variant": variant, "value": value, "win": win}]})
        if js:
            return r.as_json(t)
        r.table(AB_COLUMNS, [_ab_row(t)], ids=("test_id",))


@rollouts_app.command("ab-stop")
def rollouts_ab_stop(test_id: str = TestArg, reason: str = typer.Option(..., help="Why (audited)"),
                     url: str | None = UrlOpt, token: str | None = TokenOpt,
                     data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
                     json_out: bool = JsonOpt) -> None:
    """Stop (abort) an A/B test; its results stay readable."""
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        t = c.post(f"/v1/ab-tests/{test_id}/stop", {"reason": reason})
        if js:
            return r.as_json(t)
        r.table(AB_COLUMNS, [_ab_row(t)], ids=("test_id",))
