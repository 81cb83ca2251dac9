"""deploy/grafana: the four dashboards parse, carry the review's panels, and every PromQL
expression is valid (promtool) and names only metrics the engine exports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from obs_helpers import DEPLOY, metric_names

from ordinis.engines.learning.observability.metrics import LearningMetrics

DASHBOARDS = sorted((DEPLOY / "grafana").glob("*.json"))

# The review's panels (section 8): dashboard -> panel title -> a metric its query must use.
REVIEW_PANELS = {
    "overview.json": {
        "Events/Minute": "learning_events_total",
        "Active Training": "training_jobs_active",
        "Production Models": "model_versions_total",
        "Drift Alerts (24h)": "drift_alerts_total",
        "Circuit Breaker Status": "circuit_breaker_state",
    },
    "training.json": {
        "Job Queue Depth": "training_jobs_active",
        "Training Duration (p95)": "training_job_duration_seconds_bucket",
        "GPU Utilization": "training_gpu_utilization",
        "Success Rate": "training_jobs_total",
    },
}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _exprs(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_the_four_dashboards_exist_with_unique_ids() -> None:
    assert [p.name for p in DASHBOARDS] == [
        "models.json", "overview.json", "safety.json", "training.json"
    ]
    uids = [_load(p)["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == 4
    for path in DASHBOARDS:
        d = _load(path)
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids)), path.name
        assert all(_exprs(d)), path.name


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_expression_names_only_exported_metrics(path: Path) -> None:
    exported = LearningMetrics().names()
    for title, expr in _exprs(_load(path)):
        names = metric_names(expr)
        assert names, (title, expr)
        assert names <= exported, (path.name, title, sorted(names - exported))


def test_the_review_panels_are_there() -> None:
    for file, panels in REVIEW_PANELS.items():
        names: dict[str, set[str]] = {}
        for title, expr in _exprs(_load(DEPLOY / "grafana" / file)):
            names.setdefault(title, set()).update(metric_names(expr))
        for title, metric in panels.items():
            assert metric in names.get(title, set()), (file, title)


def test_breaker_panels_map_the_review_states() -> None:
    for path in DASHBOARDS:
        for panel in _load(path)["panels"]:
            if "circuit_breaker_state" not in json.dumps(panel.get("targets")):
                continue
            options = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
            assert {k: v["text"] for k, v in options.items()} == {
                "0": "closed", "1": "open", "2": "half-open"
            }


def test_every_expression_is_valid_promql(promtool: str, tmp_path: Path) -> None:
    """promtool parses each expression as a recording rule."""
    rules = [
        {"record": f"dashboard:check:{i}", "expr": expr}
        for i, (_, expr) in enumerate(e for p in DASHBOARDS for e in _exprs(_load(p)))
    ]
    path = tmp_path / "dashboard_exprs.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    out = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
