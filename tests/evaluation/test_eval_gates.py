"""Gates: verdicts, missing metrics, advisory gates, tolerance, YAML validation, shipped sets."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ordinis.engines.learning.core.errors import ConfigError
from ordinis.engines.learning.evaluation import (
    Comparison,
    EvaluationGate,
    GateSet,
    GateType,
    Verdict,
    load_gate_set,
    shipped_gate_sets,
)

GOOD = {
    "sharpe": 1.8,
    "max_drawdown": 0.12,
    "win_rate": 0.58,
    "profit_factor": 2.0,
    "p_value": 0.01,
    "dsr": 0.97,
    "parity_ratio": 0.95,
}


def test_production_passes_good_metrics_and_blocks_each_failure() -> None:
    gates = load_gate_set("production")
    assert gates.evaluate(GOOD).passed
    for metric, bad in [
        ("sharpe", 1.49),
        ("max_drawdown", 0.21),
        ("win_rate", 0.54),
        ("profit_factor", 1.79),
        ("p_value", 0.051),
        ("dsr", 0.94),
        ("parity_ratio", 0.79),
    ]:
        report = gates.evaluate(GOOD | {metric: bad})
        assert not report.passed, metric
        assert [r.metric for r in report.failures] == [metric]


def test_missing_metric_fails_and_says_so() -> None:
    report = load_gate_set("production").evaluate(GOOD | {"sharpe": math.nan})
    assert not report.passed
    (failure,) = report.failures
    assert failure.metric == "sharpe" and "missing" in failure.message
    assert math.isnan(failure.value)


def test_missing_parity_waits_for_live_evidence_instead_of_failing() -> None:
    report = load_gate_set("production").evaluate(
        {k: v for k, v in GOOD.items() if k != "parity_ratio"}
    )
    assert not report.passed
    assert report.failures == []
    (waiting,) = report.waiting
    assert waiting.metric == "parity_ratio" and waiting.verdict is Verdict.WAIT
    assert "waiting for live evidence" in waiting.message
    assert "waiting for live evidence (parity)" in report.summary()
    assert "failed" not in report.summary() and "blocked" not in report.summary()
    assert "WAITING FOR LIVE EVIDENCE" in report.render()


def test_dsr_is_required_in_production() -> None:
    report = load_gate_set("production").evaluate(GOOD | {"dsr": 0.5})
    assert not report.passed
    assert [r.name for r in report.failures] == ["deflated_sharpe"]
    for model_type in (None, "risk"):
        gates = load_gate_set("production", model_type=model_type).gates
        (dsr,) = [g for g in gates if g.metric_name == "dsr"]
        assert dsr.required and dsr.threshold == 0.95


def test_advisory_gate_warns_without_blocking() -> None:
    report = load_gate_set("staging").evaluate(GOOD | {"dsr": 0.1})
    assert report.passed
    assert [r.verdict for r in report.results if r.metric == "dsr"] == [Verdict.WARN]
    assert report.warnings and "dsr" in report.warnings[0]
    assert report.advisory_failures and "1 of 2 advisory failed" in report.summary()
    table = report.render()
    assert "WARN" in table and "PASSED" in table and "min_sharpe" in table


def test_eq_comparison_uses_the_tolerance() -> None:
    gate = EvaluationGate("feature_count", GateType.SAFETY, 8.0, Comparison.EQ, tolerance=0.5)
    assert gate.check(8.4).verdict is Verdict.PASS
    assert gate.check(8.6).verdict is Verdict.FAIL
    exact = EvaluationGate("x", GateType.SAFETY, 1.0, Comparison.EQ)
    assert exact.check(1.0).verdict is Verdict.PASS and exact.check(1.0001).verdict is Verdict.FAIL


def test_model_type_sections_and_default(tmp_path: Path) -> None:
    risk = load_gate_set("production", model_type="risk")
    assert {g.metric_name for g in risk.gates} == {
        "max_drawdown",
        "sharpe",
        "p_value",
        "dsr",
        "parity_ratio",
    }
    assert (
        load_gate_set("production", model_type="signal").gates == load_gate_set("production").gates
    )
    staging = load_gate_set("staging")
    assert staging.evaluate(GOOD | {"sharpe": 0.6}).passed
    assert set(shipped_gate_sets()) >= {"production", "staging"}


def test_shipped_sets_load_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_gate_set("production").name == "production"
    with pytest.raises(ConfigError, match="no shipped gate set"):
        load_gate_set("nonexistent")


def test_yaml_errors_name_file_gate_and_field(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(
        "gates:\n"
        "  - {name: a, metric: sharpe, comparison: bigger, threshold: 1}\n"
        "  - {name: b, metric: sharpe, threshold: high}\n"
        "  - {name: c, type: magic, threshold: 1, requird: true}\n"
        "  - {name: d, threshold: 1, tolerance: -1}\n"
    )
    with pytest.raises(ConfigError) as err:
        GateSet.from_yaml(f)
    text = str(err.value)
    assert str(f) in text
    for needle in [
        "gates[0] (a).comparison",
        "gates[1] (b).threshold",
        "gates[2] (c).type",
        "requird",
        "gates[3] (d).tolerance",
    ]:
        assert needle in text, needle
    assert len(err.value.problems) == 5
    (tmp_path / "empty.yaml").write_text("name: x\n")
    with pytest.raises(ConfigError, match="non-empty list"):
        GateSet.from_yaml(tmp_path / "empty.yaml")
    (tmp_path / "broken.yaml").write_text("gates: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        GateSet.from_yaml(tmp_path / "broken.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_gate_set(tmp_path / "missing.yaml")


def test_from_dict_with_symbols_and_duplicates() -> None:
    gs = GateSet.from_dict(
        {
            "name": "t",
            "gates": [{"name": "s", "metric": "sharpe", "comparison": ">=", "threshold": 1}],
        }
    )
    assert gs.gates[0].comparison is Comparison.GTE and gs.thresholds == {"sharpe": 1.0}
    with pytest.raises(ConfigError, match="duplicate"):
        GateSet.from_dict({"gates": [{"name": "s", "threshold": 1}, {"name": "s", "threshold": 2}]})
