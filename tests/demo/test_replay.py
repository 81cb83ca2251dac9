"""The demo end to end on a short span: a host through the public API, the record, the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from ordinis.engines.learning import EngineReader, LearningEngineConfig
from ordinis.engines.learning.demo.collect import HOLD, LOOP, STATIC
from ordinis.engines.learning.demo.replay import DemoOptions, run_demo
from ordinis.engines.learning.demo.report_html import FIGURES


@pytest.mark.slow
async def test_short_replay_fills_the_record_and_writes_the_report(tmp_path: Path) -> None:
    opts = DemoOptions(
        data_dir=tmp_path / "demo", start="1990-01-01", end="1993-06-30", n_symbols=4,
        initial_train_years=2.0, progress=False, report=tmp_path / "out" / "r.html",
    )
    outcome = await run_demo(opts, Console(quiet=True))
    rec = outcome.record
    n = len(rec.days)
    assert [b.name for b in rec.books] == [LOOP, STATIC, HOLD]
    assert all(len(b.returns) == n and np.isfinite(b.returns).all() for b in rec.books)
    # the production gates judged v1 first, and refused it: no lowered bar opened production
    sets = [(g.version_id, g.gate_set) for g in rec.gate_reports]
    assert sets[0] == ("spx-signal:v1", "production")
    assert not rec.gate_reports[0].passed and not rec.production_reached
    assert any(s.stage == "serving" for s in rec.stages)  # the staging path, labelled
    # before the first model both books traded the rule; after it, the static book is v1's
    first = next(i for i, (at, v) in enumerate(outcome.served) if v != "rule")
    day = rec.days.index(outcome.served[first][0])
    np.testing.assert_array_equal(rec.books[0].returns[:day], rec.books[1].returns[:day])
    assert rec.verdict is not None and rec.verdict.days == n - day
    assert rec.trades > 0 and rec.events_recorded > 0 and rec.audit_ok
    html = outcome.report_path.read_text(encoding="utf-8")
    assert outcome.report_path == tmp_path / "out" / "r.html"
    for name in FIGURES:
        assert f"data-figure='{name}'" in html
    # the report's first sentence says what the paired test decided, and only that
    said, unsaid = "Yes: the closed loop beat", "No: the closed loop did not beat"
    if not rec.verdict.beat:
        said, unsaid = unsaid, said
    assert said in html and unsaid not in html
    # the data dir keeps the engine settings it ran with: the CLI and `serve` can open it
    settings = LearningEngineConfig.load(tmp_path / "demo" / "learning.yaml", env=False)
    assert settings.event_retention_days == 36500 and settings.data_dir == tmp_path / "demo"
    assert settings.allowed_model_types == ["signal", "equity_daily_signal"]
    # the record's audit count is the stored chain's after shutdown, the count `audit verify` gives
    with EngineReader(settings) as reader:
        records = reader.audit_records()
        assert rec.audit_records == reader.verify_audit().checked == len(records)
    assert records[-1].action == "engine.stop"


@pytest.mark.slow
async def test_bitcoin_replay_names_its_model_and_says_the_rule_traded(tmp_path: Path) -> None:
    """On river's Bitcoin the first model fails even the demo's gates, so no version serves:
    the model is named for what it trades, and every note says the rule traded throughout."""
    opts = DemoOptions(data_dir=tmp_path / "demo", data="bitcoin", progress=False)
    outcome = await run_demo(opts, Console(quiet=True))
    rec = outcome.record
    assert rec.model_name == "btc-signal"
    assert {g.version_id for g in rec.gate_reports} == {"btc-signal:v1"}
    assert [(g.gate_set, g.passed) for g in rec.gate_reports] == [
        ("production", False), ("demo", False)]
    assert not any(s.stage == "serving" for s in rec.stages)
    assert outcome.served and all(v == "rule" for _, v in outcome.served)
    assert not any("staged version" in note for note in rec.notes)
    assert sum("rule traded throughout" in note for note in rec.notes) == 2
