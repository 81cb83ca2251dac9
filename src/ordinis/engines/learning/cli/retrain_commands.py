"""``models retrain`` (an operator's retrain through the loop's safeguards, followed to its end)
and ``models retrains`` (every trigger and what became of it). The same requests in-process
(``--data-dir``) and against a server (``--url``)."""

from __future__ import annotations

import time
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
    models_app,
    resolve,
)

# statuses of a chain still running (the rest are final)
OPEN_STATUSES = frozenset({"pending", "approved", "training", "evaluating"})
FAILED_STATUSES = frozenset({"refused", "failed"})


def _outcome(t: dict[str, Any]) -> str:
    """The trigger's end in one line: why it stopped, or what it produced."""
    if t["status"] == "refused":
        reason = str(t["refusal_reason"])
        return reason if t["safeguard"] in reason else f"{t['safeguard']}: {reason}"
    if t["status"] == "failed":
        return str(t["error"])
    parts = [f"version {t['version_id']}"] if t["version_id"] else []
    if t["gate_summary"]:
        parts.append(f"gates: {t['gate_summary']}")
    if t["promoted_to"]:
        parts.append(f"promoted to {t['promoted_to']}")
    if t["rollout"]:
        parts.append(f"rollout: {t['rollout']}")
    return "; ".join(parts) or t["status"]


@models_app.command("retrain")
def models_retrain(
    name: str = typer.Argument(..., help="Model name (it must have a version)"),
    reason: str = typer.Option(..., help="Why (stored with the trigger, audited)"),
    wait: bool = typer.Option(True, help="Follow the chain to its end (--no-wait: --url only)"),
    timeout: float = typer.Option(3600.0, min=1.0, help="Seconds to follow it at most"),
    url: str | None = UrlOpt, token: str | None = TokenOpt,
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Retrain a model through the closed loop: safeguards, data validation, training,
    evaluation, gates, staging and rollout. Exits 1 when the trigger is refused or fails."""
    if not wait and not (url or resolve(url, token, data_dir, config, json_out).remote):
        r.fail("--no-wait needs a running server (--url): in-process the retrain would stop "
               "when this command exits; run `ordinis-learning serve` and pass --url")
        raise typer.Exit(2)
    with _session(url, token, data_dir, config, json_out, write=True) as (c, js):
        trigger = c.post(f"/v1/models/{name}/retrain", {"reason": reason})
        if not js:
            r.out.print(f"trigger {trigger['trigger_id']} ({trigger['status']})", soft_wrap=True)
        if wait:
            deadline = time.monotonic() + timeout
            while trigger["status"] in OPEN_STATUSES and time.monotonic() < deadline:
                time.sleep(0.2)
                trigger = c.get(f"/v1/triggers/{trigger['trigger_id']}")
        if js:
            r.as_json(trigger)
        elif wait:
            colour = "red" if trigger["status"] in FAILED_STATUSES else "green"
            if trigger["status"] in OPEN_STATUSES:
                colour = "yellow"
            r.out.print(f"[{colour}]{trigger['status']}[/{colour}]: {_outcome(trigger)}",
                        soft_wrap=True, highlight=False)
        if trigger["status"] in FAILED_STATUSES:
            raise typer.Exit(1)


@models_app.command("retrains")
def models_retrains(
    name: str | None = typer.Argument(None, help="Only this model's triggers"),
    url: str | None = UrlOpt, token: str | None = TokenOpt,
    data_dir: Path | None = DataDirOpt, config: Path | None = ConfigOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Every retraining trigger (manual, drift, degradation, losses, schedule) and its end."""
    with _session(url, token, data_dir, config, json_out) as (c, js):
        params = {"model_name": name} if name else {}
        triggers = _all(c, "/v1/triggers", **params)
        if js:
            return r.as_json(triggers)
        r.table(("created", "model", "type", "status", "outcome", "trigger"), [
            (r.ts(t["created_at"]), t["model_name"], t["trigger_type"], t["status"],
             _outcome(t), t["trigger_id"]) for t in triggers])
