"""The closed-loop demo, written as an ordinis host would write it, through the public API only.

A simulated clock follows the bars. Every bar the host's SignalEngine asks the engine which
model serves each symbol; the simulated execution trades with costs and slippage; each closed
position goes to the FeedbackCollector; the breakers gate trading through
``should_allow_signals()``. Each version trades with the position policy the registry keeps
with it (``engine.position_policy``): the strategy its evaluation judged. The first training job
asks for the host's policy and every retrain keeps it. Until the first model exists a momentum
rule trades, with the host's policy. The loop
(drift, retraining through the safeguards, evaluation, gates) runs by itself on the clock.

Honest rules: production needs the production gates of the model's type; when no version
earns them the demo says so, trades its staged versions (the staging path, labelled as such)
and never lowers a bar. Beside the closed loop the host keeps two paper books on the same
execution: the first model never retrained, and equal-weight buy-and-hold.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ordinis.engines.learning import (
    FEATURE_NAMES,
    EvaluationResult,
    EventType,
    LearningEngine,
    LearningEngineConfig,
    LearningEngineError,
    LearningEvent,
    ModelStage,
    PositionPolicy,
    RolloutReport,
    RolloutStrategy,
    SimulatedClock,
    TradeOutcome,
    TrainingStatus,
    write_pipeline_variant,
)
from ordinis.engines.learning.demo.collect import (
    MIN_VERDICT_BARS,
    collect_record,
    record_audit,
)
from ordinis.engines.learning.demo.execution import SimulatedExecution, host_policy
from ordinis.engines.learning.demo.market_data import FeaturePanel, load_data
from ordinis.engines.learning.demo.record import DemoRecord, PhaseTimes
from ordinis.engines.learning.demo.report import print_evaluation
from ordinis.engines.learning.demo.report_html import write_report
from ordinis.engines.learning.demo.signals import SignalEngine
from ordinis.engines.learning.demo.trainer import MODEL_TYPE
from ordinis.engines.learning.demo.trainer import SPEC as TRAINER_SPEC
from ordinis.engines.learning.demo.workdir import prepare_demo_dir

MODEL = "spx-signal"  # the model's name on the default data
MODEL_NAMES = {"sp500": MODEL, "bitcoin": "btc-signal"}  # the name says what it trades
RULE = "momentum-rule"
QUICK_END_YEARS = 9.0  # --quick: nine years from the start (first model after six)
# LightGBM's settings of the first model; the pipeline's retrains use the same ones
LGBM_PARAMS: dict[str, Any] = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15}


@dataclass(slots=True)
class DemoOptions:
    """What to replay and where to keep it (the CLI's options)."""

    data_dir: Path = Path("data/demo")
    data: str = "sp500"
    start: str | None = None
    end: str | None = None
    n_symbols: int = 20
    fresh: bool = False  # replace a previous demo run (only a directory marked by the demo)
    quick: bool = False
    pipeline: Path | None = None  # --config: a pipeline.yaml of the user's instead of the demo's
    report: Path | None = None  # --report: where the HTML goes (default: data dir/report.html)
    initial_train_years: float | None = None  # default: 6 (sp500), 3 (bitcoin)
    holdout_fraction: float = 0.2
    baseline_periods: int = 125
    staging_gate_set: str = "demo"
    progress: bool = True

    @property
    def report_path(self) -> Path:
        return self.report or self.data_dir / "report.html"

    @property
    def model_name(self) -> str:
        """The registered model's name, after the data it trades."""
        return MODEL_NAMES.get(self.data, f"{self.data}-signal")


@dataclass(slots=True)
class _Books:
    """Daily returns of the three books, indexed like the panel's days."""

    loop: np.ndarray
    static: np.ndarray
    first_model_day: int | None = None


@dataclass(slots=True)
class DemoOutcome:
    """What ``run_demo`` returns: the record the report was made of and where the report is."""

    record: DemoRecord
    report_path: Path
    served: list[tuple[datetime, str]] = field(default_factory=list)  # lead version from then


def demo_config(opts: DemoOptions, periods_per_year: float) -> LearningEngineConfig:
    """Settings for daily bars of 20 stocks: weekly drift checks on a 125-period live window
    (about six months), drift at 50 % degradation, a 180-day cooldown, 5-year windows."""
    bar = 365.0 / periods_per_year  # calendar days per bar
    return LearningEngineConfig.create(
        data_dir=opts.data_dir,
        max_events_memory=100_000,
        event_retention_days=36500,
        retention_check_interval_seconds=30 * 86400.0,  # nothing is old enough to purge
        flush_batch_size=20_000,
        min_samples_for_training=1000 if periods_per_year > 200 else 200,
        drift_check_interval_seconds=7 * 86400.0 * max(1.0, bar / 1.45),
        retrain_cooldown_seconds=180 * 86400.0,
        drift_threshold_pct=0.5,
        max_retrains_per_day=1,
        live_metrics_window=125,  # periods of the book: about six months of daily bars
        breaker_max_consecutive_losses=60,
        breaker_max_drawdown_pct=0.5,
        breaker_recovery_timeout_seconds=3 * 86400.0,
        pipeline_config_path=opts.pipeline or _demo_pipeline(opts),
        allowed_model_types=["signal", MODEL_TYPE],
        max_concurrent_jobs=1,  # one model, retrains one at a time: one warm worker is enough
    )


def _demo_pipeline(opts: DemoOptions) -> Path:
    """The packaged pipeline.yaml with a 5-year window; candidates are staged on the demo set."""
    return write_pipeline_variant(
        opts.data_dir / "pipeline.yaml",
        stages={
            "data_collection": {"window": "1825d"},
            "training": {"model_type": MODEL_TYPE, "params": LGBM_PARAMS},
            # PSI above 0.25 is the conventional "significant shift"; 0.1 (the engine default)
            # refuses most 5-year windows of volatility-level features against the last one
            "data_validation": {"max_feature_drift": 0.25},
            "evaluation": {
                "gate_set": opts.staging_gate_set,
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


def _momentum(features: np.ndarray) -> np.ndarray:
    """The host's own rule before any model serves: the sign of the 20-day return."""
    return np.sign(np.nan_to_num(features[:, FEATURE_NAMES.index("ret_20")]))


class _Host:
    """One replay: the engine, the SignalEngine, the execution, the paper books, the console."""

    def __init__(
        self, engine: LearningEngine, panel: FeaturePanel, console: Console, opts: DemoOptions
    ) -> None:
        self.engine = engine
        self.panel = panel
        self.console = console
        self.opts = opts
        self.model = opts.model_name
        self.signals = SignalEngine(engine, self.model, FEATURE_NAMES, _momentum)
        self.policy = host_policy(panel.periods_per_year)
        self.book = SimulatedExecution(list(panel.symbols), self.policy)
        self.static_book = SimulatedExecution(list(panel.symbols), self.policy)
        n = len(panel.days)
        self.books = _Books(np.zeros(n), np.zeros(n))
        self.static_signals: np.ndarray | None = None
        self.static_policy = self.policy
        self._policies: dict[str, PositionPolicy] = {"rule": self.policy}
        self.serving: str | None = None  # the lead version: the one trading the most symbols
        self.serving_set: tuple[str, ...] = ()
        self.blocked = False
        self.blocked_days = 0
        self.events = 0
        self.trades = 0
        self.candidates: list[str] = []
        self.switches = 0
        self.baseline_pending = False
        self.served: list[tuple[datetime, str]] = []
        self.serving_sets: list[tuple[datetime, tuple[str, ...]]] = []  # a canary: two versions
        self.rollouts: dict[str, RolloutReport] = {}  # rollout id -> its newest report
        self.versions: list[str] = ["rule"] * len(panel.symbols)  # who set each position
        self.prediction_ids: list[str | None] = [None] * len(panel.symbols)
        self.times = PhaseTimes()

    # ------------------------------------------------------------------ one bar
    async def bar(self, d: int) -> None:
        engine, panel = self.engine, self.panel
        clock = engine.clock
        assert isinstance(clock, SimulatedClock)
        clock.set(panel.days[d])
        if d > 0:
            await self._settle(d)
        allowed, reason = engine.should_allow_signals()
        if not allowed:
            self.blocked_days += 1
            if not self.blocked:
                self.console.print(f"[red]{panel.days[d]:%Y-%m-%d}[/red] {reason}")
            self.blocked = True
            self.book.flatten()
        else:
            if self.blocked:
                self.console.print(f"[green]{panel.days[d]:%Y-%m-%d} signals allowed again[/green]")
                self.blocked = False
            self._trade(d)
        self._paper_static(d)

    def _trade(self, d: int) -> None:
        panel = self.panel
        valid = panel.valid[d]
        served = self.signals.bar(panel.symbols, panel.features[d])
        self._track_serving(d, [s.version_id for i, s in enumerate(served) if valid[i]])
        values = np.array([s.value if valid[i] else 0.0 for i, s in enumerate(served)])
        self.book.trade(values, [self.policy_of(s.version_id) for s in served])
        self.prediction_ids = [s.prediction_id for s in served]
        self.versions = [s.version_id for s in served]
        feats = panel.features[d]
        for s, sym in enumerate(panel.symbols):
            if not valid[s]:
                continue
            self.engine.record_event(
                LearningEvent(
                    EventType.SIGNAL_GENERATED,
                    "signal",
                    symbol=sym,
                    timestamp=panel.days[d],
                    payload={
                        "features": dict(zip(FEATURE_NAMES, map(float, feats[s]), strict=True)),
                        "signal": float(values[s]),
                        "model_name": self.model if served[s].version_id != "rule" else RULE,
                        "model_version": served[s].version_id,
                    },
                    outcome=float(panel.target[d, s]),
                )
            )
            self.events += 1

    async def _settle(self, d: int) -> None:
        """Yesterday's positions earn the bar's return; each closed position is reported."""
        returns = self.panel.target[d - 1]
        fills, book_return = self.book.settle(returns)
        self.books.loop[d] = book_return
        versions, ids = self.versions, self.prediction_ids
        # each served prediction's realised return (the asset's, not the position's): during a
        # rollout the engine attributes it to champion and candidate alike
        for i, pid in enumerate(ids):
            if pid is not None and math.isfinite(returns[i]):
                self.engine.record_prediction_outcome(pid, float(returns[i]))
        if self.engine.has_background_work:
            # what fell due at the new time (scheduled drift checks, rollout ticks) finishes
            # here, before the book's trades feed the tracker: the same replay on every run
            t0 = time.perf_counter()
            await self.engine.drain()  # a retrain it starts takes no simulated time
            self.times.train += time.perf_counter() - t0
        index = {s: i for i, s in enumerate(self.panel.symbols)}
        trades = []
        for fill in fills:
            i = index[fill.symbol]
            version = versions[i]
            trades.append(
                TradeOutcome(
                    fill.symbol,
                    pnl=fill.trade_return,
                    return_pct=fill.trade_return,
                    signal_id=ids[i],
                    model_name=self.model if version != "rule" else RULE,
                    model_version=None if version == "rule" else version,
                    metadata={"position": fill.position},
                    equity=self.book.equity,
                )
            )
        # the book closes at the bar: every position reported, the breakers see each in turn
        await self.engine.feedback.record_trade_outcomes(trades)
        self.trades += len(trades)

    def _paper_static(self, d: int) -> None:
        """The first model, never retrained, on the same execution (a paper book)."""
        panel = self.panel
        if d > 0:
            _, r = self.static_book.settle(panel.target[d - 1])
            self.books.static[d] = r if self.static_signals is not None else self.books.loop[d]
        if self.static_signals is None:
            self.static_book.rebalance(self.book.positions, self.book.policies)
            return
        signals = self.static_signals[d]
        self.static_book.trade(signals, [self.static_policy] * len(signals))

    def policy_of(self, version: str) -> PositionPolicy:
        """The position policy a version carries (kept by the registry), the host's for its rule."""
        policy = self._policies.get(version)
        if policy is None:
            policy = self._policies[version] = self.engine.position_policy(version)
        return policy

    def pin_static(self, d: int, version_id: str) -> None:
        """Fix the first model's signals for day ``d`` on: each uses that day's features only,
        so one batch prediction equals one prediction per bar (and costs far less). It trades
        with its own position policy, like every version."""
        model = self.engine.load_model(version_id)
        self.static_policy = self.policy_of(version_id)
        panel = self.panel
        rows = panel.features[d:].reshape(-1, len(FEATURE_NAMES))
        frame = pd.DataFrame(np.nan_to_num(rows), columns=list(FEATURE_NAMES))
        values = np.asarray(model.predict(frame), dtype=float).reshape(-1, len(panel.symbols))
        signals = np.zeros(panel.valid.shape)
        signals[d:] = np.where(panel.valid[d:], values, 0.0)
        self.static_signals = signals

    def _track_serving(self, d: int, versions: list[str]) -> None:
        """Which versions trade today (two during a canary) and which one leads."""
        if not versions:
            return
        counts: dict[str, int] = {}
        for v in versions:
            counts[v] = counts.get(v, 0) + 1
        now = tuple(sorted(counts))
        if now != self.serving_set:
            self.serving_set = now
            self.serving_sets.append((self.panel.days[d], now))
        lead = max(counts, key=lambda v: counts[v])
        if lead != self.serving:
            self._now_serving(d, lead)

    def _now_serving(self, d: int, version: str) -> None:
        self.serving = version
        self.served.append((self.panel.days[d], version))
        if version == "rule":
            return
        self.engine.reset_live_metrics(self.model)  # live metrics of the new version only
        self.baseline_pending = True
        how = (
            "from PRODUCTION"
            if self.engine.get_production_model(self.model)
            else "from STAGING (the staging path: no version holds production)"
        )
        self.console.print(f"[bold cyan]{self.panel.days[d]:%Y-%m-%d} now trading {version} {how}")

    # ------------------------------------------------------------------ models
    async def first_model(self, d: int) -> None:
        engine, console = self.engine, self.console
        now = self.panel.days[d]
        await engine.flush_events()
        console.rule(f"[bold]{now:%Y-%m-%d}: train the first model on the stored events")
        start = now - timedelta(days=int(365 * _train_years(self.opts)))
        end = now - (now - start) * self.opts.holdout_fraction  # the forward holdout is kept out
        t0 = time.perf_counter()
        job = await engine.submit_training_job(
            self.model,
            MODEL_TYPE,
            {
                "algorithm": "lightgbm",
                "start": start.isoformat(),
                "end": end.isoformat(),
                "params": dict(LGBM_PARAMS),
                # the strategy the version is judged and traded with (kept in its lineage)
                "position_policy": self.policy.to_json(),
            },
            actor="demo",
        )
        job = await engine.wait_for_training_job(job.job_id)
        self.times.train += time.perf_counter() - t0
        if job.status is not TrainingStatus.COMPLETED or not job.model_version_id:
            console.print(f"[red]training failed:[/red] {job.error_message}")
            return
        version_id = job.model_version_id
        console.print(
            f"job {job.job_id} {job.status.value} in {time.perf_counter() - t0:.1f} s -> "
            f"registered {version_id}; holdout "
            + ", ".join(f"{k}={v:.3f}" for k, v in sorted(job.metrics.items()))
        )
        self.pin_static(d, version_id)
        await self.judge(version_id, first=True)

    async def judge(self, version_id: str, first: bool = False) -> None:
        """Production gates first; if they refuse, stage on the demo set and say why."""
        engine, console = self.engine, self.console
        t0 = time.perf_counter()
        console.rule(f"{version_id}: the production gates of its model type")
        strict = await engine.evaluate_model(version_id, gate_set="production")
        print_evaluation(console, strict)
        if strict.passed:
            await self._promote(version_id, ModelStage.PRODUCTION, "passed the production gates")
            self.times.evaluate += time.perf_counter() - t0
            return
        console.print(f"[yellow]{version_id} does not earn production: {_why(strict)}[/yellow]")
        if _only_parity_waits(strict) and await self._shadow(version_id):
            self.times.evaluate += time.perf_counter() - t0
            return
        if not first:
            self.times.evaluate += time.perf_counter() - t0
            self.signals.stage(version_id)
            return
        staged = await engine.evaluate_model(version_id, gate_set=self.opts.staging_gate_set)
        print_evaluation(console, staged)
        self.times.evaluate += time.perf_counter() - t0
        if not staged.passed:
            console.print("[yellow]not even staged: the momentum rule keeps trading[/yellow]")
            return
        await self._promote(version_id, ModelStage.STAGING, "passed the demo's staging gates")
        self.signals.stage(version_id)

    async def _promote(self, version_id: str, stage: ModelStage, reason: str) -> None:
        t0 = time.perf_counter()
        # production is reached through a canary ramp (and can roll back)
        strategy = RolloutStrategy.CANARY if stage is ModelStage.PRODUCTION else None
        await self.engine.promote_model(
            self.model, version_id, stage, rollout_strategy=strategy, actor="demo", reason=reason
        )
        self.times.rollout += time.perf_counter() - t0
        self.switches += 1

    async def _shadow(self, version_id: str) -> bool:
        """Only live evidence is missing: run the version in shadow, where the engine gathers
        it (parity), then judge it again. False when the engine refuses the rollout."""
        t0 = time.perf_counter()
        try:
            await self.engine.start_rollout(
                self.model, version_id, RolloutStrategy.SHADOW, actor="demo",
                reason="production gates wait for live evidence",
            )
        except LearningEngineError as exc:
            self.console.print(f"[yellow]{version_id}: no shadow rollout: {exc}[/yellow]")
            return False
        self.times.rollout += time.perf_counter() - t0
        self.console.print(f"[cyan]{version_id}: shadow rollout started for live evidence[/cyan]")
        return True

    def poll_rollout(self) -> None:
        """Keep each rollout's newest state (the report shows their traffic over time)."""
        try:
            report = self.engine.get_rollout(self.model)
        except LearningEngineError:
            return
        self.rollouts[str(report.rollout_id)] = report

    async def review_candidates(self) -> None:
        """The demo's operator: a staged challenger replaces the serving version only when a
        paired test on the same packs says it is better."""
        while self.candidates:
            version_id = self.candidates.pop(0)
            champion = self.signals.serving_version()
            if champion is None or champion == version_id:
                continue
            t0 = time.perf_counter()
            try:
                cmp = await self.engine.compare_models(version_id, champion)
            except LearningEngineError as exc:
                self.console.print(f"operator: cannot compare {version_id} with {champion}: {exc}")
                continue
            finally:
                self.times.evaluate += time.perf_counter() - t0
            better = _challenger_better(cmp)
            self.console.print(
                f"{self.engine.clock.now():%Y-%m-%d} operator: challenger {version_id} vs "
                f"{champion}: Sharpe difference {cmp.sharpe_diff:+.3f} "
                f"[{cmp.lower:+.3f}, {cmp.upper:+.3f}], p={cmp.p_value:.3f} -> "
                + ("switch" if better else "keep the champion")
            )
            if better:
                await self.judge(version_id)
                self.switches += 1

    def maybe_set_baseline(self) -> bool:
        """Once the serving version has traded enough, its live metrics become the baseline."""
        live = self.engine.live_metrics(self.model)
        needed = min(self.opts.baseline_periods, self.engine.config.live_metrics_window)
        if live.n < needed:
            return False
        metrics = {
            k: v
            for k, v in live.as_dict().items()
            if k in ("sharpe", "hit_rate", "win_rate", "max_drawdown") and math.isfinite(v)
        }
        self.engine.set_baseline(self.model, metrics)
        self.console.print(
            f"{self.engine.clock.now():%Y-%m-%d} drift baseline of {self.model}: "
            + ", ".join(f"{k}={v:.3f}" for k, v in metrics.items())
        )
        return True


def _only_parity_waits(result: EvaluationResult) -> bool:
    """True when every failed required gate is a parity gate (waiting for live evidence)."""
    report = result.gate_report
    if report is None or not report.failures:
        return False
    return all(g.gate_type.value == "parity" for g in report.failures)


def _first_model_day(panel: FeaturePanel, opts: DemoOptions) -> datetime:
    """When the first model trains: ``_train_years`` after the first bar. A span that ends
    before it has traded a month more is refused, naming the options (the loop would show
    nothing: no model, no drift, no retrain, no verdict)."""
    years = _train_years(opts)
    first_day = panel.days[0] + timedelta(days=int(365 * years))
    after = sum(1 for day in panel.days if day >= first_day)
    if after <= MIN_VERDICT_BARS:
        have = (panel.days[-1] - panel.days[0]).days / 365.25
        raise ValueError(
            f"--start/--end: the span {panel.days[0]:%Y-%m-%d} .. {panel.days[-1]:%Y-%m-%d} "
            f"holds {have:.1f} years of bars, and the first model trains on the first "
            f"{years:g} and must then trade: choose a span longer than {years:g} years "
            f"(e.g. --start {panel.days[-1] - timedelta(days=int(365.25 * (years + 1))):%Y-%m-%d}"
            f" for this --end)"
        )
    return first_day


def _train_years(opts: DemoOptions) -> float:
    """Years of bars before the first model: six of daily stocks, three of bitcoin."""
    if opts.initial_train_years is not None:
        return opts.initial_train_years
    return 6.0 if opts.data == "sp500" else 3.0


def _why(result: EvaluationResult) -> str:
    report = result.gate_report
    if report is None:
        return "no gate report"
    return report.summary()


def _challenger_better(cmp: Any) -> bool:
    """The engine's one-sided verdict when it gives one, else a positive significant difference."""
    verdict = getattr(cmp, "a_better", None)
    if isinstance(verdict, bool):
        return verdict
    return bool(cmp.sharpe_diff > 0 and cmp.lower > 0)


def _progress(console: Console, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]simulated year {task.fields[year]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("years"),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


async def run_demo(opts: DemoOptions, console: Console | None = None) -> DemoOutcome:
    """Run the whole replay, print what happens, write the HTML report; returns the record."""
    console = console or Console()
    t_start = time.perf_counter()
    for noisy in ("mlflow", "alembic", "ordinis.engines.learning.safety"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    t0 = time.perf_counter()
    panel = load_data(opts.data, opts.start, opts.end, opts.n_symbols, opts.quick)
    first_day = _first_model_day(panel, opts)  # refused before the data dir is touched
    prepare_demo_dir(opts.data_dir, opts.fresh)
    console.print(
        f"loaded {panel.source}: {len(panel.days):,} bars x {len(panel.symbols)} "
        f"({panel.days[0]:%Y-%m-%d} .. {panel.days[-1]:%Y-%m-%d}) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    load_seconds = time.perf_counter() - t0
    clock = SimulatedClock(panel.days[0] - timedelta(hours=1))
    config = demo_config(opts, panel.periods_per_year)
    # The data dir's engine settings (100-year retention among them), for the CLI and `serve`
    pipeline = config.pipeline_config_path
    settings = config.model_copy(update={  # absolute paths: the file works from any directory
        "data_dir": config.data_dir.resolve(),
        "pipeline_config_path": pipeline.resolve() if pipeline is not None else None,
    }).save(opts.data_dir / LearningEngineConfig.SETTINGS_FILE)
    async with LearningEngine(config, clock=clock) as engine:
        engine.register_trainer(MODEL_TYPE, TRAINER_SPEC)
        host = _Host(engine, panel, console, opts)
        host.times.load = load_seconds
        retrains = 0

        def on_loop_event(event: Any) -> None:
            nonlocal retrains
            step = event.step.value
            if step == "training" and event.outcome == "completed":
                retrains += 1
            if step == "promotion" and event.outcome == "promoted":
                host.candidates.append(_version_in(event.message, host.model))
            colour = {"drift_alert": "yellow", "promotion": "green"}.get(step, "white")
            console.print(f"[{colour}]{event}[/{colour}]", highlight=False)

        engine.subscribe_loop_events(on_loop_event)
        trained = False
        years = sorted({day.year for day in panel.days})
        t_loop = time.perf_counter()
        with _progress(console, opts.progress) as progress:
            task = progress.add_task("replay", total=len(years), year=years[0])
            year = panel.days[0].year
            for d in range(len(panel.days)):
                if panel.days[d].year != year:
                    year = panel.days[d].year
                    progress.update(task, advance=1, year=year)
                if not trained and panel.days[d] >= first_day:
                    await engine.flush_events()
                    await host.first_model(d)
                    host.books.first_model_day = d
                    trained = True
                await host.bar(d)
                if host.baseline_pending:
                    host.baseline_pending = not host.maybe_set_baseline()
                if engine.has_background_work:
                    t_bg = time.perf_counter()
                    await engine.drain()  # a retrain in flight takes no simulated time
                    host.times.train += time.perf_counter() - t_bg
                if host.candidates:
                    await host.review_candidates()
                host.poll_rollout()
            progress.update(task, advance=1, year=year)
        await engine.flush_events()
        await engine.drain()
        t_report = time.perf_counter()
        times = host.times
        times.ingest = t_report - t_loop - times.train - times.evaluate - times.rollout
        record = collect_record(
            engine,
            panel,
            model_name=host.model,
            loop_returns=host.books.loop,
            static_returns=host.books.static,
            first_model_day=host.books.first_model_day,
            served=host.serving_sets,
            rollouts=list(host.rollouts.values()),
            counts={
                "events": host.events,
                "trades": host.trades,
                "retrains": retrains,
                "switches": host.switches,
                "blocked_days": host.blocked_days,
            },
        )
    # the engine's shutdown appends its own audit record: the chain is checked as stored after it
    record_audit(config, record)
    host.times.report = 0.0
    path = write_report(record, opts.report_path)
    host.times.report = time.perf_counter() - t_report
    host.times.total = time.perf_counter() - t_start
    record.times = host.times
    _print_summary(console, record, path, settings)
    return DemoOutcome(record, path, host.served)


def _version_in(message: str, model: str) -> str:
    """The version id of ``model`` (name:vN) named in a loop message."""
    for word in message.replace(",", " ").split():
        if word.startswith(f"{model}:v"):
            return word
    return message


def _print_summary(console: Console, rec: DemoRecord, path: Path, settings: Path) -> None:
    console.rule("[bold]closed loop: summary")
    for b in rec.books:
        console.print(
            f"{b.name:<40} {b.annual_return:+7.2%} a year, max drawdown {b.max_drawdown:6.1%}"
        )
    if rec.verdict is not None and len(rec.books) > 1:
        colour = "green" if rec.verdict.beat else "red"
        console.print(
            f"[{colour}]{rec.verdict.sentence(rec.books[0].name, rec.books[1].name)}[/{colour}]"
        )
        if rec.books_identical:
            console.print("The two books are the same on every tested day: the loop traded the "
                          "first model throughout.")
    if not rec.production_reached:
        console.print(
            "[yellow]No version earned production on the production gates; the report shows "
            "each refusal and why.[/yellow]"
        )
    console.print(
        f"retrains {rec.retrains}, promotions {rec.promotions}, rollbacks {rec.rollbacks}, "
        f"drift alerts {sum(1 for m in rec.marks if m.kind.value == 'drift alert')}, breaker "
        f"trips {rec.breaker_trips} in {len(rec.trips)} blocked stretches; "
        f"audit log {rec.audit_records} records, chain "
        + ("intact" if rec.audit_ok else "BROKEN")
    )
    console.print(f"serve this data dir: ordinis-learning serve --data-dir {settings.parent} "
                  f"--config {settings} --insecure-local", highlight=False, soft_wrap=True)
    console.print(f"report: [bold]{path.resolve()}[/bold]")
