"""``rollouts`` from the CLI, against a server (--url) and in-process (--data-dir): the same
commands, the roles enforced, the identity recorded."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from cli_helpers import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from server_helpers import live_server, seed_rollout


def test_rollouts_against_a_server_then_in_process(tmp_path: Path) -> None:
    data = tmp_path / "learning"
    with live_server(data, approval="manual", auto_retrain_enabled=False,
                     require_eval_pass=False) as live:
        champion, candidate = seed_rollout(live, "cro")
        ab = live.engine.ab_tests.create_test("sizing", min_samples=2)

        def url(tok: str) -> list[str]:
            return ["--url", live.url, "--token", tok]

        r = cli("rollouts", "list", "--json", *url("tok-reader"))
        assert r.exit_code == 0, r.output
        (ro,) = json.loads(r.stdout)
        assert (ro["model_name"], ro["candidate"], ro["phase"]) == ("cro", candidate, "shadow")
        r = cli("rollouts", "show", "cro", *url("tok-reader"))
        assert r.exit_code == 0 and candidate in r.output and "olga" in r.output
        r = cli("rollouts", "approve", "cro", *url("tok-operator"))
        assert r.exit_code == 2 and "'olga' lacks the role 'approver'" in r.output
        r = cli("rollouts", "approve", "cro", "--json", *url("tok-approver"))
        assert r.exit_code == 0, r.output
        assert ("approve", "anna") in {(d["action"], d["actor"])
                                       for d in json.loads(r.stdout)["decisions"]}
        r = cli("rollouts", "ab", *url("tok-reader"))
        assert r.exit_code == 0 and ab.test_id in r.output
        r = cli("rollouts", "ab-stop", ab.test_id, "--reason", "enough", *url("tok-reader"))
        assert r.exit_code == 2 and "lacks the role 'operator'" in r.output

    # the server is gone: the same commands on the data dir (reads open it read-only)
    r = cli("rollouts", "show", "cro", "--json", "--data-dir", str(data))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["active"] is True
    r = cli("rollouts", "abort", "cro", "--reason", "desk asked", "--json",
            "--data-dir", str(data))
    assert r.exit_code == 0, r.output
    done = json.loads(r.stdout)
    assert done["active"] is False and done["champion"] == champion
    r = cli("rollouts", "list", "--active", "--json", "--data-dir", str(data))
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    r = cli("rollouts", "abort", "cro", "--reason", "again", "--data-dir", str(data))
    assert r.exit_code == 2 and "has no rollout in progress" in " ".join(r.output.split())


def test_ab_tests_created_assigned_and_recorded_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "learning"
    with live_server(data, auto_retrain_enabled=False) as live:

        def url(tok: str) -> list[str]:
            return ["--url", live.url, "--token", tok]

        r = cli("rollouts", "ab-create", "sizing", *url("tok-writer"))
        assert r.exit_code == 2 and "lacks the role 'operator'" in r.output
        r = cli("rollouts", "ab-create", "sizing", "--weights", "0.9;0.1", *url("tok-operator"))
        assert r.exit_code == 2 and "--weights '0.9;0.1'" in r.output
        r = cli("rollouts", "ab-create", "sizing", "--weights", "0.9,0.2", *url("tok-operator"))
        assert r.exit_code == 2 and "weights" in r.output and "summing to 1" in r.output
        r = cli("rollouts", "ab-create", "sizing", "--variants", "small,large", "--weights",
                "0.8,0.2", "--min-samples", "2", "--json", *url("tok-operator"))
        assert r.exit_code == 0, r.output
        t = json.loads(r.stdout)
        tid = t["test_id"]
        assert (t["variants"], t["weights"]) == (["small", "large"], [0.8, 0.2])
        r = cli("rollouts", "ab-assign", tid, "acct-7", *url("tok-reader"))
        assert r.exit_code == 0, r.output
        assert r.stdout.strip() == live.engine.ab_tests.get_variant(tid, "acct-7")
        r = cli("rollouts", "ab-record", tid, "large", "--value", "0.5", *url("tok-reader"))
        assert r.exit_code == 2 and "lacks the role 'writer'" in r.output
        r = cli("rollouts", "ab-record", tid, "medium", "--value", "0.5", *url("tok-writer"))
        assert r.exit_code == 2 and "variant" in r.output and "medium" in r.output
        r = cli("rollouts", "ab-record", tid, "large", "--value", "0.5", *url("tok-writer"))
        assert r.exit_code == 0 and tid in r.output

    # in-process on the data dir: the same commands, the test and its result kept
    r = cli("rollouts", "ab-record", tid, "small", "--value", "-0.25", "--win", "--json",
            "--data-dir", str(data))
    assert r.exit_code == 0, r.output
    stats = {v["variant"]: v for v in json.loads(r.stdout)["stats"]}
    assert (stats["small"]["n"], stats["large"]["n"]) == (1, 1)
    assert stats["small"]["win_rate"] == 1.0  # --win overrides value > 0
    r = cli("rollouts", "ab-record", tid, "small", "--value", "nan", "--data-dir", str(data))
    assert r.exit_code == 2 and "--value nan: must be a finite number" in r.output
    r = cli("rollouts", "ab-create", "x", "--alpha", "nan", "--data-dir", str(data))
    assert r.exit_code == 2 and "NaN or infinite" in r.output  # refused before it is sent
    r = cli("rollouts", "ab", "--json", "--data-dir", str(data))
    assert [t["test_id"] for t in json.loads(r.stdout)] == [tid]
    r = cli("rollouts", "ab-assign", tid, "acct-7", "--data-dir", str(data))
    assert r.exit_code == 0 and r.stdout.strip() in ("small", "large")
    r = cli("rollouts", "ab-create", "three", "--variants", "flat,half,kelly", "--json",
            "--data-dir", str(data))
    assert r.exit_code == 0, r.output
    three = json.loads(r.stdout)["test_id"]
    r = cli("rollouts", "ab", three, "--data-dir", str(data))
    assert r.exit_code == 0, r.output
    assert "each treatment against flat" in r.output
    assert re.search(r"half .* undecided", r.output) and re.search(r"kelly .* undecided", r.output)


async def test_an_ab_table_leads_with_the_difference_and_its_interval(tmp_path: Path) -> None:
    """Trading outcomes often have a control mean near zero, where a lift (difference over
    that mean) is huge on noise; the table shows the difference in the outcome's units first,
    with its anytime-valid interval, then the lift."""
    from ordinis.engines.learning import LearningEngine, LearningEngineConfig

    data = tmp_path / "learning"
    async with LearningEngine(LearningEngineConfig(data_dir=data)) as engine:
        t = engine.ab_tests.create_test("sizing", variants=("flat", "kelly"), min_samples=2)
        engine.ab_tests.record_results(t.test_id, [
            ("flat", 0.01 * (-1) ** i, None) for i in range(20)] + [
            ("kelly", 0.5 + 0.01 * (-1) ** i, None) for i in range(20)])
    doc = json.loads(cli("rollouts", "ab", t.test_id, "--json", "--data-dir", str(data)).stdout)
    r = cli("rollouts", "ab", t.test_id, "--data-dir", str(data))
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.replace("│", " ").split())
    assert "difference interval lift" in " ".join(r.output.replace("┃", " ").split())
    assert f"{doc['difference']:+.4g}" == "+0.5" and "+0.5 [" in flat
    lower, upper = f"{doc['difference_lower']:+.4g}", f"{doc['difference_upper']:+.4g}"
    assert 0.4 < doc["difference_lower"] < 0.5 < doc["difference_upper"] < 0.6
    assert f"[{lower}," in flat and f"{upper}]" in flat  # the cell may wrap between the two
