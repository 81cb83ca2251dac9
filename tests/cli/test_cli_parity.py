"""``models backtest`` and ``models parity``: an operator gives the host's backtest and a
staging run's daily returns from CSV files; the engine measures parity, and production opens
on it. Against a server (--url) and in-process (--data-dir); a bad file is named by its row."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from server_helpers import ScaleModel, live_server

from ordinis.engines.learning import ModelStage
from planted_edge import EDGE_WINDOW, MomentumRule, planted_edge_close


def test_backtest_and_parity_from_csv_files_open_production(tmp_path: Path) -> None:
    data = tmp_path / "learning"
    days = pd.bdate_range("2021-01-04", periods=300)
    backtest = np.random.default_rng(9).normal(0.002, 0.01, len(days))
    bt_file = tmp_path / "backtest.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "return": backtest}).to_csv(
        bt_file, index=False)
    live_file = tmp_path / "staging.csv"
    live_file.write_text("# the staging run, one return per day\n"
                         + "\n".join(f"{x:.10f}" for x in 0.5 * backtest) + "\n")
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text("return\n0.01\nabc\n")
    with live_server(data, approval="auto", auto_retrain_enabled=False,
                     bootstrap_resamples=200) as live:
        live.engine.register_benchmark("planted_edge", planted_edge_close())
        vid = live.call(live.engine.register_model_version(
            "edge", "v1", model=MomentumRule(), lineage=EDGE_WINDOW)).version_id
        live.call(live.engine.promote_model("edge", vid, ModelStage.STAGING))
        live.call(live.engine.evaluate_model(vid, ["planted_edge"]))

        def url(tok: str) -> list[str]:
            return ["--url", live.url, "--token", tok]

        r = cli("models", "backtest", vid, *url("tok-reader"))
        assert r.exit_code == 2 and "has no backtest record" in r.output, r.output
        r = cli("models", "backtest", vid, "--returns", str(bt_file), *url("tok-reader"))
        assert r.exit_code == 2 and "lacks the role 'operator'" in r.output
        r = cli("models", "backtest", vid, "--returns", str(bad_file), *url("tok-operator"))
        assert r.exit_code == 2 and "row 3: 'abc' is not a number" in r.output
        r = cli("models", "backtest", vid, "--returns", str(bt_file), *url("tok-operator"))
        assert r.exit_code == 0, r.output
        assert f"{vid} backtest (host): 300 periods, 2021-01-04 .. 2022-02-25, Sharpe" in r.output

        r = cli("models", "parity", vid, "--returns", str(live_file), *url("tok-operator"))
        assert r.exit_code == 0, r.output
        assert f"{vid}: parity_ratio 1\n" in r.output
        assert "parity passed; production: nothing blocks it" in r.output
        assert live.engine.production_blocker(vid) is None
    # in-process, on the data dir the server left: the backtest is stored
    r = cli("models", "backtest", vid, "--data-dir", str(data), "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert (shown["source"], shown["periods"]) == ("host", 300)
    assert shown["first"].startswith("2021-01-04")


def test_rollouts_start_warns_at_once_when_parity_cannot_be_measured(tmp_path: Path) -> None:
    bt_file = tmp_path / "backtest.csv"
    bt_file.write_text("\n".join(f"{x:.6f}" for x in np.linspace(-0.01, 0.02, 40)) + "\n")
    with live_server(tmp_path / "learning", approval="manual", auto_retrain_enabled=False,
                     require_eval_pass=False) as live:
        eng = live.engine

        async def champion_and_candidate(name: str) -> str:
            v1 = await eng.register_model_version(name, "v1", model=ScaleModel(1.0))
            await eng.promote_model(name, v1.version_id, "staging", actor="olga")
            req = await eng.request_promotion(v1.version_id, "production", "olga", "first")
            await eng.approve_promotion(req.request_id, "anna", "ok")
            v2 = await eng.register_model_version(name, "v2", model=ScaleModel(2.0))
            await eng.promote_model(name, v2.version_id, "staging", actor="olga")
            return v2.version_id

        bare, given = live.call(champion_and_candidate("pw")), live.call(
            champion_and_candidate("pg"))
        op = ["--url", live.url, "--token", "tok-operator"]
        r = cli("rollouts", "start", bare, "--strategy", "canary", "--reason", "try", *op)
        assert r.exit_code == 0, r.output
        assert (f"warning: no backtest record for {bare}: judge it on the production gates"
                in " ".join(r.output.split()))
        assert cli("models", "backtest", given, "--returns", str(bt_file), *op).exit_code == 0
        r = cli("rollouts", "start", given, "--strategy", "canary", "--reason", "try", *op)
        assert r.exit_code == 0, r.output
        assert "warning" not in r.output
        assert f"rollout {eng.get_rollout('pg').rollout_id}" in r.output
        # no champion: the rollout would be the first promotion, which needs four eyes here
        first = live.call(eng.register_model_version("nc", "v1", model=ScaleModel(1.0)))
        live.call(eng.promote_model("nc", first.version_id, "staging", actor="olga"))
        r = cli("rollouts", "start", first.version_id, "--strategy", "canary", *op)
        assert r.exit_code == 2, r.output
        assert ("nc has no production version to run a canary rollout against, so starting "
                "one promotes nc:v1 to production at once") in " ".join(r.output.split())


def test_a_rollout_without_a_champion_says_it_promoted_at_once(tmp_path: Path) -> None:
    with live_server(tmp_path / "learning", approval="auto", auto_retrain_enabled=False,
                     require_eval_pass=False) as live:
        v1 = live.call(live.engine.register_model_version("nc", "v1", model=ScaleModel(1.0)))
        live.call(live.engine.promote_model("nc", v1.version_id, "staging"))
        r = cli("rollouts", "start", v1.version_id, "--strategy", "shadow",
                "--url", live.url, "--token", "tok-operator")
        assert r.exit_code == 0, r.output
        assert ("nc:v1: promoted to production at once (no production version to run a "
                "rollout against)") in " ".join(r.output.split())
        assert live.engine.get_production_model("nc").version == "v1"


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        (["2024-01-02,0.01", "2024-01-03,0.02", "2024-01-03,0.01"],
         "row 4: 2024-01-03 is not after the row before; give one return per day, in time order"),
        (["2024-01-03,0.01", "2024-01-02,0.02"], "row 3: 2024-01-02 is not after the row before"),
        (["2024-01-02,0.01", "Jan 3,0.02"], "row 3: 'Jan 3' is not a date; write YYYY-MM-DD"),
    ],
)
@pytest.mark.parametrize("command", ["backtest", "parity"])
def test_a_returns_file_with_dates_out_of_order_is_refused_by_its_row(
    tmp_path: Path, rows: list[str], said: str, command: str
) -> None:
    """A repeated or earlier day would be summed into or moved to another period without a
    word; the file is refused before any engine opens (the data dir is never created)."""
    csv_file = tmp_path / "returns.csv"
    csv_file.write_text("date,return\n" + "\n".join(rows) + "\n")
    data = tmp_path / "learning"
    r = cli("models", command, "m:v1", "--returns", str(csv_file), "--data-dir", str(data))
    assert r.exit_code == 2, r.output
    assert said in r.output
    assert not data.exists()
