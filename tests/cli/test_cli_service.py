"""The CLI against a running server (--url/--token) and the fixes a new user asked for."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import cli, runner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from server_helpers import Live, live_server

from ordinis.engines.learning import EventType, LearningEngine, LearningEngineConfig
from ordinis.engines.learning.cli import app
from ordinis.engines.learning.cli.vocab import EVENT_TYPES, STAGES


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    # about the CLI and four eyes, not the production gates (reported metrics only)
    with live_server(tmp_path_factory.mktemp("clisrv") / "learning", approval="manual",
                     auto_retrain_enabled=False, require_eval_pass=False) as srv:
        srv.call(srv.engine.register_model_version("spx-signal", "v13", metrics={"sharpe": 1.1}))
        yield srv


def remote(live: Live, token: str) -> list[str]:
    return ["--url", live.url, "--token", token]


def test_vocab_matches_the_library() -> None:
    from ordinis.engines.learning import ModelStage

    assert tuple(e.value for e in EventType) == EVENT_TYPES
    assert tuple(s.value for s in ModelStage) == STAGES


def test_same_commands_against_a_server_with_name_colon_version(live: Live) -> None:
    r = cli("models", "show", "spx-signal:v13", *remote(live, "tok-reader"))
    assert r.exit_code == 0, r.output
    assert "spx-signal:v13  stage=development" in r.output
    r = cli("models", "list", "--json", *remote(live, "tok-reader"))
    assert r.exit_code == 0, r.output
    assert [v["version_id"] for v in json.loads(r.stdout)] == ["spx-signal:v13"]


def test_four_eyes_from_the_cli(live: Live) -> None:
    bert = remote(live, "tok-approver2")
    r = cli("models", "evaluate", "spx-signal:v13", "--gates", "production", "--json", *bert)
    # no artifact and no packs for a registered-only version: a clear refusal, not a crash
    assert r.exit_code in (1, 2)
    live.call(live.engine.evaluate_model("spx-signal:v13", metrics={"sharpe": 1.1},
                                         thresholds={"sharpe": 1.0}))
    assert cli("models", "promote", "spx-signal:v13", "staging", *bert).exit_code == 0
    r = cli("models", "request", "spx-signal:v13", "--json", *bert)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [b["policy"] for b in out["blockers"]] == ["approval_required"]
    req = out["request"]["request_id"]
    r = cli("models", "approve", req, *bert)
    assert r.exit_code == 2
    assert "'bert' requested this promotion and cannot approve it" in r.output
    r = cli("models", "approve", req, *remote(live, "tok-approver"))
    assert r.exit_code == 0, r.output
    assert "spx-signal:v13: production" in r.output
    r = cli("models", "history", "spx-signal", *remote(live, "tok-reader"))
    assert "production" in r.output


def test_wrong_role_and_no_token_give_full_messages(live: Live) -> None:
    r = cli("breakers", "reset", "signal", "--reason", "fixed", *remote(live, "tok-reader"))
    assert r.exit_code == 2
    assert "'rita' lacks the role 'operator'" in r.output
    r = cli("audit", "tail", "--url", live.url)
    assert r.exit_code == 2 and "bearer token is required" in r.output


def test_read_command_refuses_to_create_a_store(tmp_path: Path) -> None:
    empty = tmp_path / "nothing-here"
    r = cli("audit", "tail", "--data-dir", str(empty))
    assert r.exit_code == 2
    flat = " ".join(r.output.split())
    assert "no store at sqlite:///" in flat and "does not create one" in flat
    assert not empty.exists()


def test_no_wait_belongs_to_url_mode(tmp_path: Path) -> None:
    r = cli("jobs", "submit", "alpha", "--no-wait", "--data-dir", str(tmp_path))
    assert r.exit_code == 2
    assert "--no-wait needs a running server (--url)" in r.output


def test_token_hash_is_the_sha256_of_a_token_given_or_read_from_stdin() -> None:
    secret = "correct-horse-battery-staple"
    r = cli("token", "hash", secret)
    assert r.exit_code == 0 and r.stdout.strip() == hashlib.sha256(secret.encode()).hexdigest()
    piped = runner.invoke(app, ["token", "hash"], input=secret + "\n")  # out of the history
    assert piped.exit_code == 0 and piped.stdout.strip() == r.stdout.strip()
    dashed = runner.invoke(app, ["token", "hash", "-"], input=secret + "\n")
    assert dashed.exit_code == 0 and dashed.stdout.strip() == r.stdout.strip()


def test_an_empty_short_or_padded_token_is_refused_with_the_way_to_make_one() -> None:
    for given, says in ((["s3cret"], "has 6 characters; use at least 16"),
                        (["   "], "the token is empty"),
                        ([" correct-horse-battery-staple"], "starts or ends with whitespace")):
        r = cli("token", "hash", *given)
        assert r.exit_code == 2 and r.stdout == "", given
        assert says in " ".join(r.output.split()), r.output
    empty = runner.invoke(app, ["token", "hash"], input="\n")
    assert empty.exit_code == 2 and "token new" in " ".join(empty.output.split())


def test_token_new_is_random_and_its_hash_is_what_the_server_looks_up() -> None:
    from ordinis.engines.learning.api import hash_token

    made = [json.loads(cli("token", "new", "--json").stdout) for _ in range(2)]
    assert made[0]["token"] != made[1]["token"]
    for m in made:
        assert len(m["token"]) >= 43 and m["sha256"] == hash_token(m["token"])
    r = cli("token", "new")
    token, digest = re.findall(r"(?:token|sha256):\s+(\S+)", r.stdout)
    assert digest == hash_token(token)


def test_unreachable_or_malformed_url_is_a_clear_refusal() -> None:
    from server_helpers import free_port

    r = cli("audit", "tail", "--url", f"http://127.0.0.1:{free_port()}", "--token", "t")
    assert r.exit_code == 2
    assert "cannot reach the server" in " ".join(r.output.split())
    r = cli("audit", "tail", "--url", "127.0.0.1:8765")
    assert r.exit_code == 2 and "give http(s)://host:port" in " ".join(r.output.split())


def test_url_mode_imports_neither_the_engine_nor_httpx(live: Live) -> None:
    import subprocess

    code = ("import sys; from ordinis.engines.learning.cli import app\n"
            "try: app(['audit', 'tail', '-n', '1', '--json', '--url', sys.argv[1], "
            "'--token', 'tok-reader'])\n"
            "except SystemExit: pass\n"
            "bad = [m for m in ('httpx', 'numpy', 'mlflow', "
            "'ordinis.engines.learning.engine.facade', 'ordinis.engines.learning.core.config')"
            " if m in sys.modules]\n"
            "print('LOADED', bad)")
    out = subprocess.run([sys.executable, "-c", code, live.url], capture_output=True,
                         text=True, timeout=120)
    assert "LOADED []" in out.stdout, out.stdout + out.stderr


# ---------------------------------------------------------------------------- serve itself
SERVE = ("import sys\nfrom ordinis.engines.learning.cli import app\n"
         "app(['serve', '--insecure-local', *sys.argv[1:]])")


def test_serve_refuses_a_store_with_another_retention_policy_in_one_message(
    tmp_path: Path,
) -> None:
    """A start-up refusal is the engine's message and exit 2, not uvicorn's lifespan traceback
    and "Application startup failed"; and it says how to give the recorded value."""
    import asyncio
    import subprocess

    from server_helpers import free_port

    from ordinis.engines.learning import LearningEngine, LearningEngineConfig

    async def make_store() -> None:
        engine = LearningEngine(LearningEngineConfig(data_dir=tmp_path, event_retention_days=3650))
        await engine.initialize()
        await engine.shutdown()

    asyncio.run(make_store())
    out = subprocess.run([sys.executable, "-c", SERVE, "--data-dir", str(tmp_path), "--port",
                          str(free_port())], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr[-3000:]
    flat = " ".join(out.stderr.split())
    assert "the store records a retention policy of 3650 days" in flat
    assert "ORDINIS_LEARNING_EVENT_RETENTION_DAYS=3650" in flat
    assert "Traceback" not in out.stderr and "startup failed" not in out.stderr


def test_serve_answers_then_stops_on_sigterm_and_frees_the_data_dir(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time
    import urllib.request

    from server_helpers import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "--data-dir", str(tmp_path), "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/status", timeout=5) as r:
                    status = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.5)
        assert status is not None and status["running"] is True, proc.stderr.read()[-3000:] \
            if proc.poll() is not None else "no answer in 120 s"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    # uvicorn stops, then re-raises the signal it caught: the exit is the SIGTERM's
    assert proc.returncode in (0, -signal.SIGTERM), err[-3000:]
    assert "Traceback" not in err
    # the engine shut down inside that stop (audited) and released the data dir
    r = cli("audit", "tail", "-n", "2", "--json", "--data-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert [a["action"] for a in json.loads(r.stdout)][-1] == "engine.stop"
    assert cli("status", "--data-dir", str(tmp_path)).exit_code == 0


async def test_drift_alerts_and_audit_tail_take_the_newest_n(tmp_path: Path) -> None:
    """``-n``/``--limit`` keeps the newest n, shown oldest first; without it every alert."""
    config = LearningEngineConfig(data_dir=tmp_path, auto_retrain_enabled=False)
    async with LearningEngine(config) as engine:
        for name in ("alpha", "beta", "gamma"):
            engine.set_baseline(name, {"sharpe": 1.5})
            assert engine.check_drift(name, {"sharpe": -1.0})  # one critical alert each
    every = json.loads(cli("drift", "alerts", "--json", "--data-dir", str(tmp_path)).stdout)
    assert [a["model_name"] for a in every] == ["alpha", "beta", "gamma"]
    for flag in ("-n", "--limit"):
        r = cli("drift", "alerts", flag, "2", "--json", "--data-dir", str(tmp_path))
        assert r.exit_code == 0, r.output
        assert [a["model_name"] for a in json.loads(r.stdout)] == ["beta", "gamma"]
    r = cli("drift", "alerts", "-n", "10", "--json", "--data-dir", str(tmp_path))
    assert [a["model_name"] for a in json.loads(r.stdout)] == ["alpha", "beta", "gamma"]
    r = cli("drift", "alerts", "-n", "1", "--model", "alpha", "--json", "--data-dir",
            str(tmp_path))
    assert [a["model_name"] for a in json.loads(r.stdout)] == ["alpha"]
    r = cli("audit", "tail", "--limit", "1", "--json", "--data-dir", str(tmp_path))
    assert [a["action"] for a in json.loads(r.stdout)] == ["engine.stop"]
    r = cli("drift", "alerts", "-n", "0", "--data-dir", str(tmp_path))
    assert r.exit_code == 2 and "-n" in r.output


async def test_drift_check_inside_an_open_episode_still_says_it_drifted(tmp_path: Path) -> None:
    """The second bad check raises no alert (one per episode), but the metric is still far
    from its baseline: the command says so and exits 1, instead of 'no drift'."""
    config = LearningEngineConfig(data_dir=tmp_path, auto_retrain_enabled=False)
    async with LearningEngine(config) as engine:
        engine.set_baseline("alpha", {"sharpe": 1.5, "win_rate": 0.55})
    opts = ("--data-dir", str(tmp_path))
    first = cli("drift", "check", "alpha", "-m", "sharpe=-1", *opts)
    assert first.exit_code == 1 and "critical: new alert" in first.output, first.output
    again = cli("drift", "check", "alpha", "-m", "sharpe=-1", "-m", "win_rate=0.55", *opts)
    assert again.exit_code == 1, again.output
    assert "critical: in the critical episode" in again.output  # the cell wraps after it
    assert "new alert until it recovers" in again.output
    assert "│ win_rate │ 0.55    │ 0.55     │ 0      │ none" in again.output
    back = cli("drift", "check", "alpha", "-m", "sharpe=1.5", "--json", *opts)
    assert back.exit_code == 0, back.output
    shown = json.loads(back.stdout)
    assert shown["alerts"] == [] and shown["metrics"][0]["severity"] is None
    assert shown["metrics"][0]["episode_severity"] == "critical"  # recovering, still open
    alerts = json.loads(cli("drift", "alerts", "--json", *opts).stdout)
    assert len(alerts) == 1  # the command only ever raised the first


async def test_a_baseline_set_from_the_cli_is_what_checks_compare_with(tmp_path: Path) -> None:
    """Without a baseline the check names the command that sets one; that command stores it
    (it outlives the process), replaces it when run again, and refuses a metric without a
    name."""
    config = LearningEngineConfig(data_dir=tmp_path, auto_retrain_enabled=False)
    async with LearningEngine(config):
        pass
    opts = ("--data-dir", str(tmp_path))
    none = cli("drift", "check", "alpha", "-m", "sharpe=0.2", *opts)
    assert none.exit_code == 2, none.output
    assert "`ordinis-learning drift set-baseline alpha -m sharpe=...`" in " ".join(
        none.output.split())
    bad = cli("drift", "set-baseline", "alpha", "-m", "=1.5", *opts)
    assert bad.exit_code == 2 and "--metric '=1.5': name the metric" in bad.output
    first = cli("drift", "set-baseline", "alpha", "-m", "sharpe=1.5", "-m", "win_rate=0.5",
                "--json", *opts)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"sharpe": 1.5, "win_rate": 0.5}
    again = cli("drift", "set-baseline", "alpha", "-m", "sharpe=1.0", "--json", *opts)
    assert json.loads(again.stdout) == {"sharpe": 1.0}
    stored = json.loads(cli("drift", "baselines", "--json", *opts).stdout)
    assert stored == {"alpha": {"sharpe": 1.0}}
    check = cli("drift", "check", "alpha", "-m", "sharpe=-1", "--json", *opts)
    assert check.exit_code == 1, check.output
    shown = json.loads(check.stdout)
    assert shown["metrics"][0]["baseline"] == 1.0
    assert [a["severity"] for a in shown["alerts"]] == ["critical"]


async def test_a_write_beside_a_running_engine_names_the_owner_and_the_way_to_it(
    tmp_path: Path,
) -> None:
    """The store has an owner (a host or `serve`): the write is refused, naming who holds it
    and that a write goes to that engine (--url); reads still run beside it."""
    config = LearningEngineConfig(data_dir=tmp_path, auto_retrain_enabled=False)
    async with LearningEngine(config) as engine:
        engine.set_baseline("alpha", {"sharpe": 1.5})
        opts = ("--data-dir", str(tmp_path))
        r = cli("drift", "set-baseline", "alpha", "-m", "sharpe=0.2", *opts)
        assert r.exit_code == 2, r.output
        flat = " ".join(r.output.split())
        assert f"is owned by pid {os.getpid()}" in flat
        assert "send this command to it with --url http://HOST:PORT (and --token)" in flat
        assert "Traceback" not in r.output
        assert json.loads(cli("drift", "baselines", "--json", *opts).stdout) == {
            "alpha": {"sharpe": 1.5}}  # a read runs beside it; the write changed nothing


def _event(i: int) -> dict[str, object]:
    return {"event_type": "signal_generated", "source_engine": "signal", "symbol": "SPY",
            "timestamp": f"2024-01-02T14:{i:02d}:00+00:00", "payload": {"x": float(i)},
            "outcome": 0.001 * i}


def test_events_ingest_takes_ndjson_or_a_json_array_and_refuses_a_wrapper(
    tmp_path: Path,
) -> None:
    data = tmp_path / "learning"
    ndjson = tmp_path / "a.ndjson"
    ndjson.write_text("\n".join(json.dumps(_event(i)) for i in range(5)) + "\n\n")
    array = tmp_path / "b.json"
    array.write_text(json.dumps([_event(i) for i in range(5, 9)], indent=2))  # many lines
    for path, n in ((ndjson, 5), (array, 4)):
        r = cli("events", "ingest", str(path), "--batch", "3", "--data-dir", str(data))
        assert r.exit_code == 0, r.output
        assert f"committed {n} events" in r.output
    wrapped = tmp_path / "c.json"
    wrapped.write_text(json.dumps({"events": [_event(20), _event(21)]}))
    r = cli("events", "ingest", str(wrapped), "--data-dir", str(data))
    flat = " ".join(r.output.split())
    assert r.exit_code == 2 and "holding a list under 'events'; send the list itself" in flat
    stats = json.loads(cli("events", "stats", "--json", "--data-dir", str(data)).stdout)
    assert stats["total"] == 9  # nothing of the refused file was taken
    r = cli("events", "ingest", str(tmp_path / "nope.json"), "--data-dir", str(tmp_path / "x"))
    assert r.exit_code == 2 and "cannot read it" in r.output
    assert not (tmp_path / "x").exists()  # a bad file opens no engine and creates nothing
