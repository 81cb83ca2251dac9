"""The report's stage chart and canary traffic on a recorded run with real rollouts.

The demo's own host (``_Host``: SignalEngine through ``engine.predict_batch``, the simulated
execution, outcomes through ``record_prediction_outcome`` and the FeedbackCollector) trades a
short synthetic market whose next-day return follows the 20-day return. Through the engine's
rollout path, v2 (the same edge) goes shadow -> canary -> production and v3 (inverted) is
rolled back by the evidence during its canary. ``collect_record`` reads the run back through the
public API and the report is rendered in chromium.

The production verdict is waived here (``require_eval_pass=False``): this test is about the
report of rollouts; the demo itself never waives it.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import chromium, console_messages, run_browser
from demo_models import Ret20Model
from rich.console import Console

from ordinis.engines.learning import (
    FEATURE_NAMES,
    LearningEngine,
    LearningEngineConfig,
    ModelStage,
    RolloutPhase,
    SimulatedClock,
    write_pipeline_variant,
)
from ordinis.engines.learning.demo.collect import collect_record
from ordinis.engines.learning.demo.market_data import FeaturePanel
from ordinis.engines.learning.demo.record import DemoRecord, MarkKind
from ordinis.engines.learning.demo.replay import MODEL, DemoOptions, _Host
from ordinis.engines.learning.demo.report_html import FIGURES, write_report

START = datetime(2021, 1, 4, 21, tzinfo=UTC)
SYMBOLS = [f"S{i:02d}" for i in range(20)]


def _panel(n: int, seed: int = 5) -> FeaturePanel:
    """Business days; the next day's return follows the sign of ret_20 (an edge), t-noise."""
    rng = np.random.default_rng(seed)
    days = [d.to_pydatetime() for d in pd.bdate_range(START, periods=n, tz=UTC)]
    k = FEATURE_NAMES.index("ret_20")
    features = rng.normal(0.0, 0.05, size=(n, len(SYMBOLS), len(FEATURE_NAMES)))
    target = 0.01 * np.tanh(features[:, :, k] / 0.05) + 0.01 * rng.standard_t(4, (n, len(SYMBOLS)))
    close = 100 * np.cumprod(1 + np.vstack([np.zeros((1, len(SYMBOLS))), target[:-1]]), axis=0)
    return FeaturePanel(days, SYMBOLS, features, target, np.ones((n, len(SYMBOLS)), bool),
                        close, source="synthetic edge", periods_per_year=252.0)


def _config(data_dir: Path) -> LearningEngineConfig:
    pipeline = write_pipeline_variant(
        data_dir / "pipeline.yaml", stages={"production": {"approval": "automatic"}}
    )
    return LearningEngineConfig.create(
        data_dir=data_dir,
        pipeline_config_path=pipeline,
        enable_drift_detection=False,
        require_eval_pass=False,  # the report of rollouts is tested here, not the gates
        breaker_max_consecutive_losses=10_000,
        breaker_max_drawdown_pct=0.9,
    )


async def _recorded_run(tmp_path: Path) -> DemoRecord:
    panel = _panel(260)
    opts = DemoOptions(data_dir=tmp_path / "run", progress=False)
    opts.data_dir.mkdir(parents=True)
    clock = SimulatedClock(panel.days[0] - timedelta(hours=1))
    async with LearningEngine(_config(opts.data_dir), clock=clock) as engine:
        host = _Host(engine, panel, Console(quiet=True), opts)
        policy = host.policy.to_json()

        async def candidate(scale: float) -> str:
            mv = await engine.register_model_version(
                MODEL, engine.allocate_model_version(MODEL), model=Ret20Model(scale),
                lineage={"position_policy": policy},
            )
            await engine.promote_model(MODEL, mv.version_id, ModelStage.STAGING, reason="test")
            return mv.version_id

        v1 = await candidate(1.0)
        v2 = v3 = ""
        rolled_back = False
        for d in range(len(panel.days)):
            await host.bar(d)
            if rolled_back:
                break  # the bar after the rollback: the host trades without v3
            if d == 2:
                await host._promote(v1, ModelStage.PRODUCTION, "first production version")
            elif d == 10:
                v2 = await candidate(1.0)
                await host._promote(v2, ModelStage.PRODUCTION, "retrained: same edge")
            elif v2 and not v3 and engine.get_rollout(MODEL).phase is RolloutPhase.PRODUCTION:
                v3 = await candidate(-1.0)
                await host._promote(v3, ModelStage.PRODUCTION, "retrained: inverted")
            await engine.update()
            await engine.advance_rollouts()
            await engine.drain()
            host.poll_rollout()
            rolled_back = bool(v3) and engine.get_rollout(MODEL).phase.is_final
        await engine.flush_events()
        assert v3, f"v2 never reached production: {engine.get_rollout(MODEL).decisions[-1]}"
        assert engine.get_rollout(MODEL).phase is RolloutPhase.ROLLED_BACK
        return collect_record(
            engine, panel, MODEL, host.books.loop, host.books.static, None, host.serving_sets,
            {"events": host.events, "trades": host.trades}, rollouts=list(host.rollouts.values()),
        )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> DemoRecord:
    import asyncio

    return asyncio.run(_recorded_run(tmp_path_factory.mktemp("rollouts")))


@pytest.mark.slow
def test_the_record_holds_each_stage_the_canary_ramp_and_the_rollback(
    recorded: DemoRecord,
) -> None:
    rec = recorded
    stages = {(s.version_id, s.stage) for s in rec.stages}
    v1, v2, v3 = (f"{MODEL}:v{i}" for i in (1, 2, 3))
    for stage in ("shadow", "canary", "production"):
        assert (v2, stage) in stages, stage
    assert {(v1, "production"), (v3, "shadow"), (v3, "canary")} <= stages
    assert (v3, "production") not in stages
    assert (v1, "archived") in stages and (v3, "archived") in stages
    # the host's serving line: v1 alone, v1 and v2 through the canary, then v2 (and v3 in
    # its canary, if its 10 % of the keys held one of these 20 symbols); v3 stops serving when
    # it is rolled back
    serving = {v: [s for s in rec.stages if s.version_id == v and s.stage == "serving"]
               for v in (v1, v2, v3)}
    canary_v2 = next(s for s in rec.stages if s.version_id == v2 and s.stage == "canary")
    assert serving[v1][0].end is not None and serving[v1][0].end > canary_v2.start
    assert serving[v2][0].start <= canary_v2.end  # type: ignore[operator]
    v3_end = next(s for s in rec.stages if s.version_id == v3 and s.stage == "canary").end
    assert all(s.end is not None and s.end <= v3_end + timedelta(days=4)  # type: ignore[operator]
               for s in serving[v3])
    ramp = sorted({t.traffic for t in rec.traffic if t.version_id == v2 and t.traffic > 0})
    assert ramp == [0.10, 0.25, 0.50, 1.00]
    v3_steps = [t for t in rec.traffic if t.version_id == v3]
    assert max(t.traffic for t in v3_steps) > 0 and v3_steps[-1].traffic == 0.0
    assert v3_steps[-1].phase == "rolled_back"
    rollbacks = [m for m in rec.marks if m.kind is MarkKind.ROLLBACK]
    assert rec.rollbacks == 1 and len(rollbacks) == 1 and v3 in rollbacks[0].label
    assert "harm" in rollbacks[0].label
    assert rec.production_reached and rec.promotions == 2  # v1, then v2 (v3 never)
    # the timeline's promotions are the promotions to production the summary counts; a
    # candidate put in staging is marked as staged, not as a promotion
    promotions = [m for m in rec.marks if m.kind is MarkKind.PROMOTION]
    assert [m.label for m in promotions] == [f"{v1} -> production", f"{v2} -> production"]
    staged = [m for m in rec.marks if m.kind is MarkKind.STAGED]
    assert staged and all(m.label.endswith("-> staging") for m in staged)
    # spans of one version never overlap, and each starts where the previous one ended
    for v in (v1, v2, v3):
        spans = sorted((s for s in rec.stages if s.version_id == v and s.stage != "serving"),
                       key=lambda s: s.start)
        for a, b in itertools.pairwise(spans):
            assert a.end == b.start


@pytest.mark.slow
def test_the_report_draws_the_stages_and_the_canary_traffic(
    recorded: DemoRecord, tmp_path: Path
) -> None:
    path = write_report(recorded, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert "with canary traffic" in text and "candidate traffic (%)" in text
    assert "A candidate earned production on the production gates." in text
    for stage in ("shadow", "canary", "production", "archived", "serving"):
        assert re.search(rf">{stage}<", text), f"stage {stage!r} missing from the legend"
    assert ">rollback (1)<" in text  # the timeline counts the rollback
    done = run_browser(chromium(), "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    m = re.search(r"<figure[^>]*data-figure=\"stages\"[^>]*>(.*?)</figure>", done.stdout, re.S)
    assert m is not None and m.group(1).count("<path") > 10
    for name in FIGURES:
        assert f'data-figure="{name}"' in done.stdout
    assert not console_messages(done.stderr)
