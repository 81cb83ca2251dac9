"""The ``ordinis-learning`` CLI end to end on a real data dir: events, jobs, models, audit.

One data dir per module holds ~2,000 real S&P 500 signal events (AAPL, JPM, 2001-2004) plus a
few order fills; one `jobs submit` trains alpha:v1 on them. Every command opens its own engine
on that dir, as a user's shell would.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import cli
from typer.testing import Result

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from market_events import signal_events

from ordinis.engines.learning import (
    EventType,
    LearningEngine,
    LearningEngineConfig,
    LearningEngineError,
    LearningEvent,
    NotFoundError,
    write_pipeline_variant,
)

CONFIG_YAML = """\
event_retention_days: 36500
min_samples_for_training: 1000
enable_drift_detection: false
"""

LOOSE_GATES = """\
name: test-loose
default:
  gates:
    - {name: max_drawdown, metric: max_drawdown, type: safety, comparison: lte, threshold: 1.0}
    - {name: min_sharpe, metric: sharpe, type: performance, comparison: gte, threshold: 0.5,
       required: false}
"""

STRICT_GATES = """\
name: test-strict
default:
  gates:
    - {name: impossible_drawdown, metric: max_drawdown, type: safety, comparison: lte,
       threshold: -1.0}
"""

N_FILLS = 3
ROW_START = re.compile(r"^│ (\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Workspace:
    """The module's prepared data dir, its config file, and what was stored in it."""

    root: Path
    data_dir: Path
    config: Path
    gates: Path
    n_signals: int
    first_signal: datetime
    last_signal: datetime

    def opts(self, data_dir: Path | None = None) -> list[str]:
        return ["--data-dir", str(data_dir or self.data_dir), "--config", str(self.config)]




def column(output: str, index: int) -> str:
    """The text of one table column, folded cells joined (rich folds long ids over lines)."""
    parts = []
    for line in output.splitlines():
        if line.startswith("│"):
            cells = line.split("│")
            parts.append(cells[index + 1].strip())
    return "".join(parts)


async def _record(data_dir: Path, config: Path) -> tuple[int, datetime, datetime]:
    events = signal_events(["AAPL", "JPM"], "2001-01-01", "2004-12-31")
    fills = [
        LearningEvent(
            EventType.ORDER_FILLED,
            "execution",
            symbol="AAPL",
            timestamp=datetime(2005, 1, 3, 15, i, tzinfo=UTC),
            payload={"quantity": 10 + i, "price": 31.5},
        )
        for i in range(N_FILLS)
    ]
    cfg = LearningEngineConfig.load(config, env=False, data_dir=data_dir)
    async with LearningEngine(cfg) as engine:
        for ev in [*events, *fills]:
            engine.record_event(ev)
        await engine.flush_events()
    return len(events), events[0].timestamp, events[-1].timestamp


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("cli")
    config = root / "learning.yaml"
    config.write_text(CONFIG_YAML)
    gates = root / "loose-gates.yaml"
    gates.write_text(LOOSE_GATES)
    data_dir = root / "data"
    n, first, last = asyncio.run(_record(data_dir, config))
    assert n > 1500
    return Workspace(root, data_dir, config, gates, n, first, last)


@pytest.fixture(scope="module")
def submitted(ws: Workspace) -> Result:
    """`jobs submit alpha --algorithm logistic`, waited for with the progress bar."""
    return cli("jobs", "submit", "alpha", "--algorithm", "logistic", *ws.opts())


# ---------------------------------------------------------------------------- events
def test_events_stats_shows_counts_by_type_source_and_span(ws: Workspace) -> None:
    r = cli("events", "stats", *ws.opts())
    assert r.exit_code == 0, r.output
    assert re.search(rf"signal_generated\s*│\s*{ws.n_signals:,}\s*│", r.output)
    assert re.search(rf"order_filled\s*│\s*{N_FILLS}\s*│", r.output)
    assert f"total {ws.n_signals + N_FILLS:,}" in r.output
    # retention (36,500 days from the config file) kept the 2001 events
    assert f"from {ws.first_signal:%Y-%m-%d %H:%M:%S} to 2005-01-03 15:02:00" in r.output
    assert f"execution={N_FILLS}" in r.output and f"signal={ws.n_signals:,}" in r.output


def test_events_tail_shows_the_newest_n_oldest_first(ws: Workspace) -> None:
    r = cli("events", "tail", "-n", "5", *ws.opts())
    assert r.exit_code == 0, r.output
    days = [m.group(1) for line in r.output.splitlines() if (m := ROW_START.match(line))]
    # the 3 fills (2005-01-03) are the newest events, after the 2004-12-31 signals
    assert days == ["2004-12-31", "2004-12-31", "2005-01-03", "2005-01-03", "2005-01-03"]
    assert column(r.output, 1).count("order_fill") == N_FILLS


def test_events_tail_filters_by_type(ws: Workspace) -> None:
    r = cli("events", "tail", "-n", "4", "--type", "SIGNAL_GENERATED", *ws.opts())
    assert r.exit_code == 0, r.output
    days = [m.group(1) for line in r.output.splitlines() if (m := ROW_START.match(line))]
    assert days == ["2004-12-30", "2004-12-30", "2004-12-31", "2004-12-31"]
    assert "order_fill" not in r.output
    symbols = column(r.output, 3)
    assert symbols.count("AAPL") == 2 and symbols.count("JPM") == 2


def test_events_tail_unknown_type_is_refused_with_the_allowed_types(ws: Workspace) -> None:
    r = cli("events", "tail", "--type", "bogus", *ws.opts())
    assert r.exit_code == 2
    flat = " ".join(r.output.split())
    assert "--type='bogus' is not an event type" in flat
    for allowed in ("signal_generated", "order_filled", "trade_outcome", "regime_change"):
        assert allowed in flat


# ---------------------------------------------------------------------------- jobs
def test_jobs_submit_trains_and_registers_a_version(submitted: Result) -> None:
    assert submitted.exit_code == 0, submitted.output
    assert re.search(r"submitted \S+ \(pending\)", submitted.output)
    assert "completed version=alpha:v1" in submitted.output
    assert "100%" in submitted.output  # the progress bar reached the end
    flat = " ".join(submitted.output.split())
    # the headline, not fifty metrics: the holdout, the purged CV, where the rest are
    found = re.search(r"holdout \((\d+) newest rows; trained on (\d+)\): sharpe \S+, hit rate "
                      r"\S+, auc \S+", flat)
    assert found, flat
    n_holdout, n_train = int(found.group(1)), int(found.group(2))
    assert n_train > 1000 and 0.15 < n_holdout / (n_holdout + n_train) < 0.25
    assert re.search(r"purged cross-validation \(5 folds, purge \d+, embargo \d+ bars\): "
                     r"sharpe \S+ ± \S+ across folds, \S+ on all out-of-fold rows", flat), flat
    assert re.search(r"all \d+ metrics: ordinis-learning models show alpha:v1", flat)
    assert "cv_fold0" not in flat


def test_jobs_list_shows_the_job_with_its_full_id(ws: Workspace, submitted: Result) -> None:
    job_id = re.search(r"submitted (\S+)", submitted.output).group(1)  # type: ignore[union-attr]
    r = cli("jobs", "list", *ws.opts())
    assert r.exit_code == 0, r.output
    assert column(r.output, 0) == job_id  # never elided, even at 80 columns
    assert column(r.output, 3) == "completed"
    assert column(r.output, 6) == "alpha:v1"
    r = cli("jobs", "list", "--model", "other", *ws.opts())
    assert r.exit_code == 0 and column(r.output, 0) == ""


def test_jobs_cancel_unknown_id_names_it_and_changes_nothing(
    ws: Workspace, submitted: Result
) -> None:
    r = cli("jobs", "cancel", "no-such-job", *ws.opts())
    assert r.exit_code == 2
    flat = " ".join(r.output.split())
    assert "no training job 'no-such-job'" in flat
    assert "ordinis-learning jobs list" in flat
    # a finished job is not changed by a cancel
    job_id = re.search(r"submitted (\S+)", submitted.output).group(1)  # type: ignore[union-attr]
    r = cli("jobs", "cancel", job_id, *ws.opts())
    assert r.exit_code == 0 and "already completed; nothing to cancel" in r.output
    assert column(cli("jobs", "list", *ws.opts()).output, 3) == "completed"


def test_jobs_submit_of_an_unknown_type_creates_no_job(ws: Workspace) -> None:
    r = cli("jobs", "submit", "beta", "--type", "quantum", *ws.opts())
    assert r.exit_code == 2
    flat = " ".join(r.output.split())
    assert "model_type='quantum': unknown model type; known: signal" in flat
    assert "engine.register_trainer" in flat
    r = cli("jobs", "list", "--model", "beta", *ws.opts())
    assert r.exit_code == 0 and column(r.output, 0) == ""


# ---------------------------------------------------------------------------- models
def test_models_list_show_and_history(ws: Workspace, submitted: Result) -> None:
    job_id = re.search(r"submitted (\S+)", submitted.output).group(1)  # type: ignore[union-attr]
    r = cli("models", "list", *ws.opts())
    assert r.exit_code == 0, r.output
    assert column(r.output, 0) == "alpha" and column(r.output, 1) == "v1"
    assert column(r.output, 2) == "development"
    assert column(r.output, 6) == job_id

    r = cli("models", "show", "alpha", "v1", *ws.opts())
    assert r.exit_code == 0, r.output
    assert "alpha:v1  stage=development" in r.output
    assert re.search(r"sha256=[0-9a-f]{64}", "".join(r.output.split()))
    assert re.search(r"│ n_train\s+│ \d{4}", r.output)
    assert re.search(r"│ algorithm\s+│ logistic", r.output)
    assert re.search(rf"│ training_job_id\s+│ {job_id}", r.output)
    assert re.search(r"│ symbols\s+│ AAPL,JPM", r.output)

    r = cli("models", "history", "alpha", *ws.opts())
    assert r.exit_code == 0, r.output
    assert column(r.output, 1) == "v1" and column(r.output, 3) == "development"

    # a bare name shows the model: its versions, as `models list` prints them
    r = cli("models", "show", "alpha", *ws.opts())
    assert r.exit_code == 0, r.output
    assert (column(r.output, 0), column(r.output, 1), column(r.output, 2)) == (
        "alpha", "v1", "development")
    assert "one version: ordinis-learning models show alpha:vN" in r.output
    shown = json.loads(cli("models", "show", "alpha", "--json", *ws.opts()).stdout)
    assert [(v["model_name"], v["version"]) for v in shown] == [("alpha", "v1")]
    r = cli("models", "show", "nosuch", *ws.opts())
    assert r.exit_code == 2 and "model 'nosuch' is not registered" in " ".join(r.output.split())

    r = cli("models", "show", "alpha", "v9", *ws.opts())
    assert r.exit_code == 2 and "known versions: v1" in " ".join(r.output.split())
    r = cli("models", "history", "nosuch", *ws.opts())
    assert r.exit_code == 2
    assert "model 'nosuch' is not registered" in " ".join(r.output.split())


def test_models_evaluate_prints_the_gate_report_and_records_the_pass(
    ws: Workspace, submitted: Result
) -> None:
    assert submitted.exit_code == 0
    r = cli(
        "models", "evaluate", "alpha", "v1", "-b", "pack_01_bull", "--gates", str(ws.gates),
        *ws.opts(),
    )
    assert r.exit_code == 0, r.output
    assert "alpha:v1 on pack_01_bull" in r.output
    assert re.search(r"max_drawdown\s+max_drawdown\s+\S+\s+<=\s+1\s+yes\s+PASS", r.output)
    assert "gate set 'test-loose': PASSED" in r.output
    # the result is stored: a later command (a new engine) shows what it means, required and
    # advisory apart, and that this gate set does not open production
    listed = cli("models", "list", *ws.opts()).output
    label = column(listed, 4)
    assert label.startswith("test-loose:") and "requiredgate(s)passed" in label
    assert "advisory" in label and label != "passed"
    assert column(listed, 5) == "noproductionevaluation"
    assert "this gate set never opens production" in " ".join(r.output.split())

    r = cli("models", "evaluate", "alpha", "v1", "-b", "nopack", *ws.opts())
    assert r.exit_code == 2
    assert "benchmark 'nopack' is not registered" in " ".join(r.output.split())

    # a gate set that refuses: exit 1; the earlier gate set's evaluation is kept beside it
    strict = ws.root / "strict-gates.yaml"
    strict.write_text(STRICT_GATES)
    r = cli("models", "evaluate", "alpha:v1", "-b", "pack_01_bull", "--gates", str(strict),
            *ws.opts())
    assert r.exit_code == 1, r.output
    assert "gate set 'test-strict': REFUSED" in r.output
    r = cli("models", "evaluations", "alpha:v1", "--json", *ws.opts())
    assert r.exit_code == 0, r.output
    history = json.loads(r.stdout)
    assert [(e["sequence"], e["gate_set"], e["passed"]) for e in history] == [
        (1, "test-loose", True), (2, "test-strict", False)]
    r = cli("models", "evaluations", "alpha:v1", "--gates", "test-loose", "--json", *ws.opts())
    assert [e["gate_set"] for e in json.loads(r.stdout)] == ["test-loose"]


def test_models_compare_prints_the_difference_its_interval_and_the_verdict(
    ws: Workspace, submitted: Result
) -> None:
    assert submitted.exit_code == 0
    r = cli("models", "compare", "alpha:v1", "alpha:v1", "-b", "pack_01_bull", *ws.opts())
    assert r.exit_code == 0, r.output
    assert ("alpha:v1 vs alpha:v1: Sharpe difference +0.000 [+0.000, +0.000], p=1; "
            "alpha:v1 is not shown better than alpha:v1") in " ".join(r.output.split())


def test_a_data_dir_with_its_settings_file_needs_no_config_option(
    ws: Workspace, submitted: Result, tmp_path: Path
) -> None:
    assert submitted.exit_code == 0
    copy = tmp_path / "data"
    shutil.copytree(ws.data_dir, copy)
    args = ("models", "compare", "alpha:v1", "alpha:v1", "-b", "pack_01_bull",
            "--data-dir", str(copy))
    r = cli(*args)  # the store's retention (36500 days) is not the default's
    assert r.exit_code == 2 and "event_retention_days" in r.output
    shutil.copy(ws.config, copy / "learning.yaml")
    r = cli(*args)
    assert r.exit_code == 0, r.output
    assert f"config: {copy / 'learning.yaml'} (the data dir's settings" in r.stderr
    r = cli(*args, "--config", str(ws.root / "missing.yaml"))  # --config still wins
    assert r.exit_code == 2 and "missing.yaml" in r.output
    (copy / "learning.yaml").write_text("event_retention_days: 0\n")
    r = cli("ui", "--data-dir", str(copy), "--dry-run")  # a bad settings file: named, no trace
    assert r.exit_code == 2 and "event_retention_days=0" in r.output


def test_drift_score_ranks_detectors_on_the_users_annotated_series(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = [*rng.normal(0, 1, 300).tolist(), *rng.normal(3, 1, 300).tolist()]
    step = tmp_path / "step.json"
    step.write_text(json.dumps({"name": "step", "values": values, "changes": [300]}))
    r = cli("drift", "score", str(step), "-d", "cusum", "-d", "adwin")
    assert r.exit_code == 0, r.output
    assert re.search(r"step\s+│\s+600\s+│\s+1\.000\s+│\s+\S+\s+│\s+0\.667", r.output)
    assert "best: cusum (1.000); silence 0.667" in r.output
    r = cli("drift", "score", str(step), "-d", "cusum", "--json")
    out = json.loads(r.stdout)
    assert out["best"] == "cusum" and out["mean_f1"]["zero"] == pytest.approx(2 / 3)
    assert abs(out["series"][0]["located"]["cusum"][0] - 300) <= 5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"values": [1.0, 2.0], "changes": [5]}))
    r = cli("drift", "score", str(step), str(bad))
    assert r.exit_code == 2 and "annotations.changes" in r.output and "[0, 2)" in r.output
    r = cli("drift", "score", str(step), "-d", "nope")
    assert r.exit_code == 2 and "unknown detector" in r.output


# ---------------------------------------------------------------------------- audit, config
def test_audit_verify_intact_then_detects_an_edited_record(ws: Workspace) -> None:
    r = cli("audit", "verify", *ws.opts())
    assert r.exit_code == 0, r.output
    checked = int(re.search(r"audit chain intact.*: (\d+) records", r.output).group(1))  # type: ignore[union-attr]
    assert checked >= 2

    copy = ws.root / "tampered"
    shutil.copytree(ws.data_dir, copy)
    with sqlite3.connect(copy / "events.db") as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 2")
    r = cli("audit", "verify", *ws.opts(copy))
    assert r.exit_code == 1
    assert "audit chain broken" in r.output and "record 2 was modified" in r.output


def test_drift_check_refuses_a_metric_that_is_not_a_finite_number(ws: Workspace) -> None:
    for item in ("sharpe=nan", "sharpe=inf", "sharpe=high"):
        r = cli("drift", "check", "spx", "-m", item, *ws.opts())
        assert r.exit_code == 2, r.output
        assert f"--metric '{item}'" in r.output and "Traceback" not in r.output


def test_bad_config_file_exits_2_naming_the_field(ws: Workspace) -> None:
    bad = ws.root / "bad.yaml"
    bad.write_text("event_retention_days: 0\nmin_sample_for_training: 5\n")
    r = cli("events", "stats", "--data-dir", str(ws.data_dir), "--config", str(bad))
    assert r.exit_code == 2
    flat = " ".join(r.output.split())
    assert "event_retention_days=0" in flat and "greater than or equal to 1" in flat
    assert "min_sample_for_training=5: unknown setting" in flat
    r = cli("events", "stats", "--config", str(ws.root / "missing.yaml"))
    assert r.exit_code == 2 and "file does not exist" in r.output
    # nothing was touched: the stored events are all still there
    r = cli("events", "stats", *ws.opts())
    assert f"total {ws.n_signals + N_FILLS:,}" in r.output


# ---------------------------------------------------------------------------- in-process reads
READS = [("audit", "tail", "-n", "5"), ("events", "tail", "-n", "3"), ("events", "stats"),
         ("jobs", "list"), ("breakers", "list"), ("status",), ("audit", "verify"),
         ("models", "list"), ("models", "show", "alpha:v1"), ("models", "history", "alpha"),
         ("models", "at", "alpha", "2100-01-01T00:00Z", "--stage", "development"),
         ("models", "evaluations", "alpha:v1"), ("drift", "alerts"), ("drift", "baselines"),
         ("models", "retrains"), ("models", "requests"), ("rollouts", "list"),
         ("rollouts", "ab")]
HEAVY = ("mlflow", "river", "sklearn", "scipy", "fastapi", "starlette", "httpx",
         "ordinis.engines.learning.engine.facade")


def test_inprocess_reads_import_neither_mlflow_river_nor_fastapi(
    ws: Workspace, submitted: Result
) -> None:
    """A read on a data dir opens the event store, and MLflow's tables read-only for models:
    the cost of a read is the stores', not MLflow's import and start (the loop's state too:
    drift, retraining triggers, promotion requests, rollouts, A/B tests)."""
    import subprocess

    code = ("import json, sys\nfrom ordinis.engines.learning.cli import app\n"
            "for argv in json.loads(sys.argv[1]):\n"
            "    try: app([*argv, '--json', *sys.argv[2:]])\n"
            "    except SystemExit as e: assert not e.code, (argv, e.code)\n"
            f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(READS), *ws.opts()],
                         capture_output=True, text=True, timeout=300)
    assert "LOADED []" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]


def test_inprocess_commands_print_no_transport_warning_without_httpx2(
    ws: Workspace, submitted: Result
) -> None:
    """A plain ``pip install`` has httpx but not httpx2, and Starlette's test client (the CLI's
    in-process transport) then warns at import; a user's command must not print that."""
    import subprocess

    code = ("import sys\nsys.modules['httpx2'] = None  # as on a plain install\n"
            "from ordinis.engines.learning.cli import app\n"
            "try: app(['models', 'blockers', 'alpha:v1', *sys.argv[1:]])  # the full app\n"
            "except SystemExit as e: assert e.code in (0, 1), e.code  # 1: it is blocked\n"
            "import httpx, starlette.testclient\n"
            "print('TRANSPORT', starlette.testclient.httpx.__name__)")
    out = subprocess.run([sys.executable, "-c", code, *ws.opts()],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "TRANSPORT httpx" in out.stdout  # the fallback path really ran
    assert "httpx2" not in out.stderr and "Warning" not in out.stderr, out.stderr[-2000:]


def test_inprocess_reads_answer_what_the_server_answers(ws: Workspace, submitted: Result) -> None:
    """The in-process reads (EngineReader + api.local: the event store, MLflow's tables
    read-only) give the JSON of the HTTP app over the full read-only engine, page for page."""
    from fastapi.testclient import TestClient

    from ordinis.engines.learning import EngineReader
    from ordinis.engines.learning.api import create_app
    from ordinis.engines.learning.api.local import answer

    cfg = LearningEngineConfig.load(ws.config, env=False, data_dir=ws.data_dir)
    job_id = re.search(r"submitted (\S+)", submitted.output).group(1)  # type: ignore[union-attr]
    queries: list[tuple[str, dict[str, object]]] = [
        ("/v1/audit", {"limit": 7}), ("/v1/audit/verify", {}), ("/v1/events/stats", {}),
        ("/v1/events", {"limit": 4, "offset": 2, "event_type": "order_filled"}),
        ("/v1/events", {"limit": 3, "symbol": "JPM"}), ("/v1/jobs", {}),
        ("/v1/jobs", {"model_name": "alpha", "limit": 1}), (f"/v1/jobs/{job_id}", {}),
        ("/v1/breakers", {}), ("/v1/status", {}),
        ("/v1/models", {}), ("/v1/models/alpha/versions", {}),
        ("/v1/models/alpha/versions", {"limit": 1, "offset": 0}),
        ("/v1/models/alpha/history", {}), ("/v1/versions/alpha:v1", {}),
        ("/v1/versions/alpha:v1/lineage", {}), ("/v1/versions/alpha:v1/evaluations", {}),
        ("/v1/models/alpha/at", {"t": "2100-01-01T00:00Z", "stage": "development"}),
    ]
    app = create_app(LearningEngine.open_read_only(cfg), insecure_local=True)
    with EngineReader(cfg) as reader, TestClient(app) as http:
        for path, params in queries:
            served = http.get(path, params=params)
            assert served.status_code == 200, (path, served.text)
            local, remote = answer(reader, path, params), served.json()
            if path == "/v1/status":
                assert local["models"] == ["alpha"]  # from the stage history, without MLflow
                for doc in (local, remote):
                    doc.pop("clock")
            assert local == remote, path
        assert answer(reader, "/v1/versions/alpha:v1/blockers", {}) is None  # the full engine
        for path, params, status in (("/v1/models/nope/versions", {}, 404),
                                     ("/v1/versions/alpha:v99", {}, 404),
                                     ("/v1/models/alpha/at", {"t": "soon"}, 422)):
            assert http.get(path, params=params).status_code == status
            with pytest.raises(LearningEngineError):
                answer(reader, path, params)
        with pytest.raises(NotFoundError, match="no training job 'nope'"):
            answer(reader, "/v1/jobs/nope", {})
        assert answer(reader, "/health", {})["level"] == "healthy"


# ---------------------------------------------------------------------------- retrain
def _retrain_copy(
    ws: Workspace, tmp_path: Path, pipeline: dict[str, dict[str, object]]
) -> list[str]:
    """A copy of the workspace whose config points at a pipeline variant."""
    copy = tmp_path / "data"
    shutil.copytree(ws.data_dir, copy)
    pipe = write_pipeline_variant(tmp_path / "pipeline.yaml", stages=pipeline)
    config = tmp_path / "learning.yaml"
    config.write_text(CONFIG_YAML + f"pipeline_config_path: {pipe}\n")
    return ["--data-dir", str(copy), "--config", str(config)]


def test_models_retrain_runs_the_loop_to_staging_and_lists_the_trigger(
    ws: Workspace, submitted: Result, tmp_path: Path
) -> None:
    assert submitted.exit_code == 0
    opts = _retrain_copy(ws, tmp_path, {
        "data_collection": {"window": "36500d"},  # the 2001-2004 events, seen from today
        "training": {"algorithm": "logistic", "params": {}},
        "evaluation": {"benchmarks": ["pack_01_bull"], "gate_set": str(ws.gates),
                       "thresholds": {}},
    })
    r = cli("models", "retrain", "alpha", "--reason", "weekly review", *opts)
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert re.search(r"trigger \S+ \(pending\)", flat)
    assert "promoted: version alpha:v2; gates: test-loose:" in flat
    assert "promoted to staging; rollout: alpha has no production version" in flat

    r = cli("models", "retrains", "alpha", "--json", *opts)
    assert r.exit_code == 0, r.output
    [t] = json.loads(r.stdout)
    assert (t["trigger_type"], t["status"], t["version_id"]) == ("manual", "promoted", "alpha:v2")
    assert t["reason"].startswith("weekly review (by ") and t["job_id"]
    r = cli("models", "list", "--json", *opts)
    stages = {v["version_id"]: v["stage"] for v in json.loads(r.stdout)}
    assert stages == {"alpha:v1": "development", "alpha:v2": "staging"}


def test_models_retrain_refused_by_a_safeguard_exits_1_with_the_reason(
    ws: Workspace, submitted: Result, tmp_path: Path
) -> None:
    assert submitted.exit_code == 0
    opts = _retrain_copy(ws, tmp_path, {})  # a 90-day window ending today: no samples
    r = cli("models", "retrain", "alpha", "--reason", "try", *opts)
    assert r.exit_code == 1, r.output
    flat = " ".join(r.output.split())
    assert re.search(r"refused: 0 training samples of alpha since \S+, 1000 needed "
                     r"\(min_samples\)", flat)
    r = cli("models", "retrains", *opts)
    assert r.exit_code == 0 and column(r.output, 3) == "refused"


def test_models_retrain_of_an_unknown_model_or_without_waiting_is_refused(
    ws: Workspace, submitted: Result, tmp_path: Path
) -> None:
    assert submitted.exit_code == 0
    opts = _retrain_copy(ws, tmp_path, {})
    r = cli("models", "retrain", "alhpa", "--reason", "typo", *opts)
    assert r.exit_code == 2
    assert "model 'alhpa' is not registered; known models: alpha" in " ".join(r.output.split())
    r = cli("models", "retrain", "alpha", "--reason", "later", "--no-wait", *opts)
    assert r.exit_code == 2 and "--no-wait needs a running server" in r.output
    r = cli("models", "retrains", "--json", *opts)
    assert r.exit_code == 0 and json.loads(r.stdout) == []  # nothing was stored
