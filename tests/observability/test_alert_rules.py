"""deploy/prometheus/alerts.yaml: valid for promtool, unit tests pass, the review's rules kept."""

from __future__ import annotations

import subprocess

import yaml
from obs_helpers import DEPLOY, metric_names

from ordinis.engines.learning.observability.metrics import LearningMetrics

RULES = DEPLOY / "prometheus" / "alerts.yaml"
REVIEW_ALERTS = {
    "HighDriftRate": ("increase(drift_alerts_total[1h]) > 10", "5m", "warning"),
    "CircuitBreakerOpen": ("circuit_breaker_state == 1", "1m", "critical"),
    "TrainingJobStuck": (
        "training_jobs_active > 0 and time() - training_job_start_time > 3600", "5m", "warning"
    ),
}


def _rules() -> dict[str, dict[str, object]]:
    data = yaml.safe_load(RULES.read_text())
    return {r["alert"]: r for g in data["groups"] for r in g["rules"]}


def test_promtool_check_rules(promtool: str) -> None:
    out = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in out.stdout


def test_promtool_unit_tests_fire_and_stay_quiet(promtool: str) -> None:
    tests = sorted((DEPLOY / "prometheus" / "tests").glob("*.yaml"))
    assert tests
    out = subprocess.run(
        [promtool, "test", "rules", *map(str, tests)],
        capture_output=True, text=True, timeout=120, cwd=DEPLOY / "prometheus",
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    """Each alert appears in the unit tests with an expected alert and with none."""
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in (DEPLOY / "prometheus" / "tests").glob("*.yaml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert fired == set(_rules()) and quiet == set(_rules())


def test_the_review_alerts_are_kept_as_written() -> None:
    rules = _rules()
    for name, (expr, for_, severity) in REVIEW_ALERTS.items():
        rule = rules[name]
        assert " ".join(str(rule["expr"]).split()) == expr
        assert rule["for"] == for_
        assert rule["labels"] == {"severity": severity}
    assert "NoEventsReceived" in rules


def test_alert_expressions_name_only_exported_metrics() -> None:
    exported = LearningMetrics().names()
    for name, rule in _rules().items():
        names = metric_names(str(rule["expr"]))
        assert names, name
        assert names <= exported, (name, names - exported)


def test_example_prometheus_config_is_valid(promtool: str) -> None:
    config = DEPLOY / "prometheus" / "prometheus.yml"
    out = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr
