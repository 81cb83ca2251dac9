"""The closed-loop demo: replay 1990-2022 S&P 500 stocks through the LearningEngine.

A simulated clock follows the bars. Until the first model exists a momentum rule trades;
then the engine trains a model on the stored events, registers it, evaluates it on the
benchmark packs and gates it. From there each day the serving model predicts, trades are
reported through the FeedbackCollector, drift is checked on the clock, and the loop retrains,
evaluates and gates by itself. Everything it does is printed as it happens.

Honest rules apply: evaluations are as of the simulated clock and out of each version's training
window (the newest 20 % of a training window is held out and judged as its forward holdout).
Production needs the production gates, parity included, which only live shadow/canary evidence
can satisfy; when no model passes them the demo says so and trades its STAGING version (the
staging path), and a challenger replaces it only when a one-sided paired test says it is better.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from ordinis.engines.learning import (
    LearningEngine,
    LearningEngineError,
    PositionMapping,
    PositionPolicy,
)
from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import (
    EventType,
    LearningEvent,
    ModelStage,
    TrainingStatus,
)
from ordinis.engines.learning.demo.market_data import FeaturePanel, load_panel
from ordinis.engines.learning.demo.report import print_evaluation
from ordinis.engines.learning.demo.workdir import prepare_demo_dir
from ordinis.engines.learning.features.bar_features import FEATURE_NAMES
from ordinis.engines.learning.feedback.pipeline_spec import write_pipeline_variant

MODEL = "spx-signal"
# What the demo trades: the sign of the signal, the full slice long or short, 1 + 1 bps costs.
DEMO_POLICY = PositionPolicy(mapping=PositionMapping.SIGN, cost_bps=1.0, slippage_bps=1.0)
BASELINE_MODEL = "momentum-rule"


@dataclass(slots=True)
class DemoOptions:
    """What to replay and where to keep it."""

    data_dir: Path = Path("data/demo")
    start: str = "1990-01-01"
    end: str = "2022-12-31"
    n_symbols: int = 20
    fresh: bool = False  # replace a previous demo run (only a directory marked by the demo)
    initial_train_years: float = 6.0
    baseline_periods: int = 125
    gate_set: str = "demo"
    holdout_fraction: float = 0.2


@dataclass(slots=True)
class DemoSummary:
    """What the demo did, for the final table and for tests."""

    events_recorded: int = 0
    events_stored: int = 0
    ingest_seconds: float = 0.0
    trades: int = 0
    drift_alerts: int = 0
    retrains: int = 0
    promotions: list[str] = field(default_factory=list)
    loop_lines: list[str] = field(default_factory=list)
    production_versions: list[str] = field(default_factory=list)
    audit_ok: bool = False
    audit_records: int = 0
    blocked_days: int = 0


def demo_config(opts: DemoOptions) -> LearningEngineConfig:
    """Settings for daily bars of 20 stocks: weekly drift checks on a 125-day live window of the
    book (about six months), drift at 50 % degradation, a 180-day cooldown, 5-year windows."""
    return LearningEngineConfig.create(
        data_dir=opts.data_dir,
        max_events_memory=100_000,
        event_retention_days=36500,
        flush_batch_size=20_000,
        min_samples_for_training=1000,
        drift_check_interval_seconds=7 * 86400.0,
        retrain_cooldown_seconds=180 * 86400.0,
        drift_threshold_pct=0.5,
        max_retrains_per_day=1,
        live_metrics_window=125,
        breaker_max_consecutive_losses=60,
        breaker_max_drawdown_pct=0.5,
        breaker_recovery_timeout_seconds=3 * 86400.0,
        pipeline_config_path=_demo_pipeline(opts),
    )


def _demo_pipeline(opts: DemoOptions) -> Path:
    """The packaged pipeline.yaml with a 5-year window and the demo's gate set."""
    return write_pipeline_variant(
        opts.data_dir / "pipeline.yaml",
        stages={
            "data_collection": {"window": "1825d"},
            # PSI above 0.25 is the conventional "significant shift"; 0.1 (the engine default)
            # refuses most 5-year windows of volatility-level features against the last one
            "data_validation": {"max_feature_drift": 0.25},
            "evaluation": {
                "gate_set": opts.gate_set,
                "thresholds": {},
                "benchmarks": ["pack_01_bull", "pack_02_sideways", "pack_03_crash", "pack_04_bear"],
            },
        },
        triggers={
            "drift_alerts": {"min_severity": "critical"},
            # 20 stocks trade every day: 8 losing trades in a row is a normal afternoon here
            "consecutive_losses": {"count": 60},
        },
    )


class _Replay:
    """State of one replay: the engine, the panel, positions and what was printed."""

    def __init__(
        self, engine: LearningEngine, panel: FeaturePanel, console: Console, opts: DemoOptions
    ) -> None:
        self.engine = engine
        self.panel = panel
        self.console = console
        self.opts = opts
        self.summary = DemoSummary()
        self.positions = np.zeros(len(panel.symbols))
        self.previous = np.zeros(len(panel.symbols))
        self.position_model: str = BASELINE_MODEL
        self.position_version: str | None = None
        self.equity = 1.0
        self.model: Any = None
        self.model_version: str | None = None
        self.blocked = False
        self.candidates: list[str] = []
        self.baseline_pending = True
        self.serving: str | None = None  # the staging version traded when none is in production
        self.policy = DEMO_POLICY

    # ------------------------------------------------------------------ one day
    async def step(self, d: int) -> None:
        engine, panel = self.engine, self.panel
        clock = engine.clock
        assert isinstance(clock, SimulatedClock)
        clock.set(panel.days[d])
        await self._settle_trades(d)
        allowed, reason = engine.should_allow_signals()
        if not allowed:
            self.summary.blocked_days += 1
            if not self.blocked:
                self.console.print(f"[red]{panel.days[d]:%Y-%m-%d} signals blocked:[/red] {reason}")
            self.blocked = True
            self.positions[:] = 0.0
            return
        if self.blocked:
            self.console.print(f"[green]{panel.days[d]:%Y-%m-%d} signals allowed again[/green]")
            self.blocked = False
        self._refresh_model(d)
        valid = panel.valid[d]
        feats = panel.features[d]
        if self.model is not None:
            frame = pd.DataFrame(feats, columns=list(FEATURE_NAMES))
            frame = frame.fillna(0.0)
            signal = np.asarray(self.model.predict(frame), dtype=float)
            model_name, version = MODEL, self.model_version
        else:
            signal = np.sign(np.nan_to_num(feats[:, FEATURE_NAMES.index("ret_20")]))
            model_name, version = BASELINE_MODEL, None
        for s, sym in enumerate(panel.symbols):
            if not valid[s]:
                signal[s] = 0.0
                continue
            engine.record_event(
                LearningEvent(
                    EventType.SIGNAL_GENERATED,
                    "signal",
                    symbol=sym,
                    timestamp=panel.days[d],
                    payload={
                        "features": dict(zip(FEATURE_NAMES, map(float, feats[s]), strict=True)),
                        "signal": float(signal[s]),
                        "model_name": model_name,
                        "model_version": version or "rule",
                    },
                    outcome=float(panel.target[d, s]),
                )
            )
            self.summary.events_recorded += 1
        self.previous = self.positions.copy()
        self.positions = self.policy.positions(signal)
        self.position_model, self.position_version = model_name, version

    async def _settle_trades(self, d: int) -> None:
        """Yesterday's positions earn yesterday's next-day return; report each closed trade."""
        if d == 0 or not self.positions.any():
            return
        panel = self.panel
        collector = self.engine.feedback
        n_open = max(1, int(np.count_nonzero(self.positions)))
        for s, sym in enumerate(panel.symbols):
            pos = self.positions[s]
            ret = panel.target[d - 1, s]
            if pos == 0 or not np.isfinite(ret):
                continue
            # the version's position policy defines the trade's return (costs included)
            trade_ret = self.policy.trade_return(float(pos), float(self.previous[s]), float(ret))
            self.equity *= 1.0 + trade_ret / n_open
            await collector.record_trade_outcome(
                sym,
                pnl=trade_ret,
                return_pct=trade_ret,
                model_name=self.position_model,
                model_version=self.position_version,
                metadata={"signal": float(pos)},
                equity=self.equity,
            )
            self.summary.trades += 1

    def _serving(self) -> Any:
        """Production if a version passed the production gates, else the staged version."""
        prod = self.engine.get_production_model(MODEL)
        if prod is not None:
            return prod
        return self.engine.get_model_version(self.serving) if self.serving else None

    def _refresh_model(self, d: int) -> None:
        prod = self._serving()
        if prod is None or prod.version_id == self.model_version:
            return
        self.policy = PositionPolicy.of_lineage(prod.lineage, DEMO_POLICY)
        self.model = self.engine.load_model(prod.version_id)
        self.model_version = prod.version_id
        self.engine.reset_live_metrics(MODEL)  # live metrics of the new model only
        self.baseline_pending = True
        self.summary.production_versions.append(prod.version_id)
        self.console.print(
            f"[bold cyan]{self.panel.days[d]:%Y-%m-%d} now trading with "
            f"{prod.version_id}[/bold cyan]"
        )

    # ------------------------------------------------------------------ first model
    async def first_model(self, d: int) -> None:
        engine, console = self.engine, self.console
        now = self.panel.days[d]
        await engine.flush_events()
        console.rule(f"[bold]{now:%Y-%m-%d}: train the first model on the stored events")
        start = now - timedelta(days=int(365 * self.opts.initial_train_years))
        # the newest part of the window is held out: the model is judged there (forward holdout)
        end = now - (now - start) * self.opts.holdout_fraction
        job = await engine.submit_training_job(
            MODEL,
            "signal",
            {
                "algorithm": "lightgbm",
                "start": start.isoformat(),
                "end": end.isoformat(),
                "params": {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15},
                "position_policy": DEMO_POLICY.to_json(),
            },
            actor="demo",
        )
        t0 = time.perf_counter()
        job = await engine.wait_for_training_job(job.job_id)
        if job.status is not TrainingStatus.COMPLETED or not job.model_version_id:
            console.print(f"[red]training failed:[/red] {job.error_message}")
            return
        console.print(
            f"job {job.job_id} {job.status.value} in {time.perf_counter() - t0:.1f} s -> "
            f"registered {job.model_version_id}; holdout "
            + ", ".join(f"{k}={v:.3f}" for k, v in sorted(job.metrics.items()))
        )
        version_id = job.model_version_id
        console.rule("evaluation as of now, out of sample: production gates")
        strict = await engine.evaluate_model(version_id, gate_set="production")
        print_evaluation(console, strict)
        console.rule(f"evaluation: the demo's gate set ({self.opts.gate_set}: safety required)")
        result = await engine.evaluate_model(version_id, gate_set=self.opts.gate_set)
        print_evaluation(console, result)
        if not result.passed:
            console.print(
                "[yellow]the first model did not pass; the momentum rule keeps trading[/yellow]"
            )
            return
        await engine.promote_model(
            MODEL, version_id, ModelStage.STAGING, actor="demo", reason="demo gates passed"
        )
        blocker = engine.production_blocker(version_id)
        if blocker is None:
            await engine.promote_model(
                MODEL, version_id, ModelStage.PRODUCTION, actor="demo",
                reason="passed the production gates",
            )
            self.summary.promotions.append(f"{now:%Y-%m-%d} {version_id} -> production")
            console.print(f"[green]{version_id} promoted: staging -> production[/green]")
            return
        self.serving = version_id
        self.summary.promotions.append(f"{now:%Y-%m-%d} {version_id} -> staging (serving)")
        console.print(
            f"[yellow]no honest model passes production ({blocker}); the demo trades "
            f"{version_id} from STAGING (the staging path) and its loop runs on it[/yellow]"
        )

    async def review_candidates(self) -> None:
        """The demo's operator: a staged challenger that beats the champion goes to production."""
        while self.candidates:
            version_id = self.candidates.pop(0)
            champion = self._serving()
            if champion is None or champion.version_id == version_id:
                continue
            try:
                cmp = await self.engine.compare_models(version_id, champion.version_id)
            except LearningEngineError as exc:
                self.console.print(
                    f"{self.engine.clock.now():%Y-%m-%d} operator: cannot compare {version_id} "
                    f"with {champion.version_id}: {exc}"
                )
                continue
            self.console.print(
                f"{self.engine.clock.now():%Y-%m-%d} operator: challenger {version_id} vs "
                f"champion {champion.version_id}: {cmp.describe()}"
            )
            if not cmp.a_better:  # promotion follows the one-sided test at its alpha
                continue
            reason = f"challenger beat {champion.version_id}: one-sided p={cmp.p_value:.3f}"
            if self.engine.production_blocker(version_id) is None:
                await self.engine.promote_model(
                    MODEL, version_id, ModelStage.PRODUCTION, actor="demo-operator",
                    reason=reason,
                )
                self.summary.promotions.append(f"{self.engine.clock.now():%Y-%m-%d} {version_id}")
            else:
                self.serving = version_id
                self.summary.promotions.append(
                    f"{self.engine.clock.now():%Y-%m-%d} {version_id} (staging path)"
                )
            self.baseline_pending = True

    def maybe_set_baseline(self) -> bool:
        """Once the serving model has traded enough periods, its live metrics are the baseline."""
        live = self.engine.live_metrics(MODEL)
        needed = min(self.opts.baseline_periods, self.engine.config.live_metrics_window)
        if live.n < needed:
            return False
        metrics = {
            k: v
            for k, v in live.as_dict().items()
            if k in ("sharpe", "hit_rate", "win_rate", "max_drawdown")
        }
        self.engine.set_baseline(MODEL, metrics)
        self.console.print(
            f"{self.engine.clock.now():%Y-%m-%d} drift baseline of {MODEL}: "
            + ", ".join(f"{k}={v:.3f}" for k, v in metrics.items())
        )
        return True


async def run_demo(opts: DemoOptions, console: Console | None = None) -> DemoSummary:
    """Run the whole replay and print what happens; returns the summary."""
    console = console or Console()
    for noisy in ("mlflow", "alembic", "ordinis.engines.learning.safety"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    prepare_demo_dir(opts.data_dir, opts.fresh)
    t_load = time.perf_counter()
    panel = load_panel(opts.start, opts.end, opts.n_symbols)
    console.print(
        f"loaded {len(panel.days):,} days x {len(panel.symbols)} stocks "
        f"({panel.days[0]:%Y-%m-%d} .. {panel.days[-1]:%Y-%m-%d}) "
        f"in {time.perf_counter() - t_load:.1f} s"
    )
    clock = SimulatedClock(panel.days[0] - timedelta(hours=1))
    config = demo_config(opts)
    async with LearningEngine(config, clock=clock) as engine:
        replay = _Replay(engine, panel, console, opts)

        def on_loop_event(event: Any) -> None:
            line = str(event)
            replay.summary.loop_lines.append(line)
            colour = {"drift_alert": "yellow", "promotion": "green"}.get(event.step.value, "white")
            if event.step.value == "training" and event.outcome == "completed":
                replay.summary.retrains += 1
            if event.step.value == "promotion" and event.outcome == "promoted":
                replay.candidates.append(
                    event.message.split()[1]
                    if event.message.startswith("version ")
                    else _version_in(event.message)
                )
            console.print(f"[{colour}]{line}[/{colour}]")

        engine.subscribe_loop_events(on_loop_event)
        first_day = panel.days[0] + timedelta(days=int(365 * opts.initial_train_years))
        trained = False
        t0 = time.perf_counter()
        ingest_done = False
        for d in range(len(panel.days)):
            if not trained and panel.days[d] >= first_day:
                flushed = await engine.flush_events()
                replay.summary.ingest_seconds = time.perf_counter() - t0
                if not ingest_done:
                    _print_ingest(console, engine, replay.summary, flushed)
                    ingest_done = True
                await replay.first_model(d)
                trained = True
            await replay.step(d)
            if replay.baseline_pending and replay.model is not None:
                replay.baseline_pending = not replay.maybe_set_baseline()
            if engine.has_background_work:
                await engine.drain()  # a retrain in flight takes no simulated time
            if replay.candidates:
                await replay.review_candidates()
        await engine.flush_events()
        await engine.drain()
        _print_summary(console, engine, replay.summary, panel.days[0])
        return replay.summary


def _version_in(message: str) -> str:
    """The model version id (name:vN) named in a loop message."""
    for word in message.replace(",", " ").split():
        if word.startswith(f"{MODEL}:v"):
            return word
    return message


def _print_ingest(
    console: Console, engine: LearningEngine, summary: DemoSummary, flushed: int
) -> None:
    stats = engine.event_stats()
    by_type = ", ".join(f"{k}={v:,}" for k, v in sorted(stats.by_type.items()))
    rate = summary.events_recorded / summary.ingest_seconds if summary.ingest_seconds else 0.0
    console.rule("[bold]events replayed and stored")
    console.print(
        f"{stats.total:,} events stored ({by_type}); "
        f"last flush committed {flushed:,}; replay with trading ran at {rate:,.0f} signal events/s"
    )


def _print_summary(
    console: Console, engine: LearningEngine, summary: DemoSummary, start: datetime
) -> None:
    stats = engine.event_stats()
    summary.events_stored = stats.total
    alerts = engine.get_drift_alerts()
    summary.drift_alerts = len(alerts)
    verification = engine.verify_audit()
    summary.audit_ok = bool(verification.ok)
    summary.audit_records = int(verification.checked)
    console.rule("[bold]closed loop: summary")
    report = engine.loop_report(start, engine.clock.now() + timedelta(seconds=1))
    console.print(report.render())
    console.print(
        f"events stored: {stats.total:,}; trades reported: {summary.trades:,}; drift alerts: "
        f"{len(alerts)}; days with signals blocked: {summary.blocked_days}"
    )
    for mv in engine.list_model_versions(MODEL):
        label = mv.evaluation_label or "not evaluated"
        console.print(f"  {mv.version_id:<16} {mv.stage.value:<12} {label}")
    console.print(
        f"audit log: {verification.checked} records, chain "
        + (
            "[green]intact[/green]"
            if verification.ok
            else f"[red]broken: {verification.problem}[/red]"
        )
    )
