"""Rollout benchmark: the step analysis on replays of real returns, the router and predict path.

Replays: stationary block bootstrap (arch, mean block 20 days) of the daily returns of the 20
S&P 500 stocks shipped with skfolio (1990-2022), whole cross-sections resampled together. On
each replay the champion trades every stock with a planted edge: its signal is
``tanh(a * next_return / sd + noise)``, ``a`` set (on separate development replays) so that one
stock's strategy has an annual Sharpe of about ``--sharpe`` (1.5); the book is the mean of the
20. Scenarios on the same replays:

* ``aa``: the candidate is the champion (same signals);
* ``aa_retrain`` (extra): an equally skilled retrain, its noise 0.8-correlated with the champion's;
* ``broken``: half inverted signals, half pure noise of the same size.

Ours: the very rules of the engine (``rollout.machine.next_move`` on a ``RolloutState`` and the
``EvidenceBook``'s anytime-valid paired test), with the packaged pipeline.yaml plan (shadow 24 h,
ramp 10/25/50/100 % with holds 1/4/12/24 h) and automatic approval, one period per trading day.
Baseline: Argo-style fixed threshold, steps of 20 trading days on the same ramp, each step
needing "candidate Sharpe >= 0.9 x champion's" on the keys the sticky router gives each.

Before the replays, the analysis settings (library defaults: alpha 0.05, 20 periods minimum,
design 60) are checked on simulated nulls (Student-t(3) and GARCH(1,1)-t paired differences),
never tuned on the replays reported here.

Then the hot path on a running engine with a canary rollout: ``engine.route`` p99 and
``engine.predict`` p99 minus the model's own p99 (a model that returns its input), measured in
the same run; baseline: a dict lookup.

    python benchmarks/rollout.py [--replays 200] [--horizon 750] [--calls 50000]

Last line: RESULT aa_false_rollback=… aa_promoted=… aa_median_days_to_full=… broken_caught=…
broken_exposure=… baseline_aa_false_rollback=… baseline_broken_caught=… router_p99_us=…
predict_overhead_p99_us=… (then extra keys)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import math
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from arch.bootstrap import StationaryBootstrap
from arch.univariate import GARCH, ConstantMean, StudentsT
from skfolio.datasets import load_sp500_dataset

from ordinis.engines.learning import LearningEngine, LearningEngineConfig
from ordinis.engines.learning.core.models import RolloutStrategy
from ordinis.engines.learning.feedback.pipeline_spec import load_pipeline_spec
from ordinis.engines.learning.rollout.evidence import EvidenceBook
from ordinis.engines.learning.rollout.machine import MoveKind, next_move
from ordinis.engines.learning.rollout.plan import RolloutPlan, build_plan
from ordinis.engines.learning.rollout.router import bucket_of, threshold_for
from ordinis.engines.learning.rollout.sequential import PairedSequentialTest, SequentialSettings
from ordinis.engines.learning.rollout.state import RolloutPhase, RolloutState

T0 = datetime(2000, 1, 3, 21, tzinfo=UTC)
BASELINE_STEP_DAYS = 20
KEYS = 20


# ---------------------------------------------------------------- data and scenarios
def stock_returns() -> np.ndarray:
    prices = load_sp500_dataset()
    return prices.pct_change().dropna().to_numpy()


def replays(r: np.ndarray, n: int, horizon: int, seed: int) -> list[np.ndarray]:
    """``n`` block-bootstrap replays of ``horizon + 1`` days (cross-sections kept together)."""
    bs = StationaryBootstrap(20, np.arange(r.shape[0]), seed=seed)
    out = []
    for data, _ in bs.bootstrap(n):
        idx = data[0][: horizon + 1]
        out.append(r[idx])
    return out


def signal(a: float, z_next: np.ndarray, noise: np.ndarray) -> np.ndarray:
    return np.tanh(a * z_next + noise)


def per_stock_sharpe(a: float, reps: list[np.ndarray], seed: int) -> float:
    rng = np.random.default_rng(seed)
    out = []
    for rr in reps:
        z = rr / rr.std(axis=0)
        pos = signal(a, z[1:], rng.normal(size=z[1:].shape))
        pnl = pos * rr[1:]
        out.append(np.mean(pnl.mean(axis=0) / pnl.std(axis=0)) * math.sqrt(252))
    return float(np.mean(out))


def calibrate_edge(r: np.ndarray, target: float, horizon: int) -> float:
    """The edge strength giving one stock's strategy about ``target`` annual Sharpe, found on
    development replays (their own seed, never the reported ones)."""
    dev = replays(r, 30, horizon, seed=12345)
    lo, hi = 0.0, 2.0
    for _ in range(25):
        mid = (lo + hi) / 2
        if per_stock_sharpe(mid, dev, 7) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(slots=True)
class Scenario:
    """Per-day, per-key PnL of champion and candidate on one replay."""

    champion: np.ndarray  # (days, keys)
    candidate: np.ndarray


def scenario(kind: str, rr: np.ndarray, a: float, rng: np.random.Generator) -> Scenario:
    z = rr / rr.std(axis=0)
    eps = rng.normal(size=z[1:].shape)
    champ = signal(a, z[1:], eps)
    if kind == "aa":
        cand = champ
    elif kind == "aa_retrain":
        cand = signal(a, z[1:], 0.8 * eps + 0.6 * rng.normal(size=eps.shape))
    elif kind == "inverted":
        cand = -champ
    elif kind == "noise":
        cand = np.tanh(np.sqrt(a * a + 1.0) * rng.normal(size=eps.shape))
    else:
        raise ValueError(kind)
    nxt = rr[1:]
    return Scenario(champ * nxt, cand * nxt)


# ---------------------------------------------------------------- the two controllers
@dataclass(slots=True)
class Outcome:
    rolled_back: bool
    promoted: bool
    day: int | None  # day of the final decision
    max_traffic: float
    exposure: float  # traffic x trading days given to the candidate


def run_ours(sc: Scenario, plan: RolloutPlan) -> Outcome:
    """The engine's rules, one closed period per trading day."""
    state = RolloutState("r", "m", "cand", "champ", plan, RolloutPhase.SHADOW, T0, T0)
    book = EvidenceBook(plan.analysis)
    cand_day = sc.candidate.mean(axis=1)
    champ_day = sc.champion.mean(axis=1)
    max_traffic = exposure = 0.0
    for t in range(len(cand_day)):
        exposure += state.traffic if state.phase is RolloutPhase.CANARY else 0.0
        book.add_period(float(cand_day[t]), float(champ_day[t]))
        now = T0 + timedelta(days=t + 1)
        move = next_move(state, now, book.analyse())
        if move.kind is MoveKind.STAY:
            continue
        if move.kind is MoveKind.ROLLBACK:
            return Outcome(True, False, t + 1, max_traffic, exposure)
        if move.kind is MoveKind.PRODUCTION:
            return Outcome(False, True, t + 1, 1.0, exposure)
        if move.kind is MoveKind.AWAIT_APPROVAL:
            state.phase = RolloutPhase.AWAITING_APPROVAL
        else:
            state.phase = RolloutPhase.CANARY
            state.step, state.traffic = move.step, move.traffic
            state.step_started_periods = book.periods
            max_traffic = max(max_traffic, move.traffic)
        state.phase_started_at = now
    return Outcome(False, False, None, max_traffic, exposure)


def _sharpe(x: np.ndarray) -> float:
    sd = x.std(ddof=1) if x.size > 1 else 0.0
    return float(x.mean() / sd) if sd > 0 else 0.0


def run_baseline(sc: Scenario, plan: RolloutPlan, rollout_id: str) -> Outcome:
    """Argo-style: each step lasts BASELINE_STEP_DAYS; candidate Sharpe >= 0.9 x champion's on
    the keys the router assigns to each, or roll back."""
    buckets = np.array([bucket_of(rollout_id, f"K{k:02d}") for k in range(KEYS)])
    exposure = max_traffic = 0.0
    t = 1  # one day of shadow, as ours
    for step in plan.ramp:
        mask = buckets < threshold_for(step.traffic)
        end = t + BASELINE_STEP_DAYS
        if end > sc.candidate.shape[0]:
            return Outcome(False, False, None, max_traffic, exposure)
        max_traffic = step.traffic
        exposure += step.traffic * BASELINE_STEP_DAYS
        if mask.any() and (~mask).any():
            cand = sc.candidate[t:end][:, mask].mean(axis=1)
            champ = sc.champion[t:end][:, ~mask].mean(axis=1)
            if _sharpe(cand) < 0.9 * _sharpe(champ):
                return Outcome(True, False, end, max_traffic, exposure)
        t = end
    return Outcome(False, True, t, 1.0, exposure)


# ---------------------------------------------------------------- calibration on nulls
def null_false_harm(
    settings: SequentialSettings, horizon: int, sims: int, seed: int
) -> dict[str, float]:
    """Share of simulated rollouts with no true difference that the analysis ever rolls back:
    paired differences i.i.d. Student-t(3), and GARCH(1,1) with t(4) innovations."""
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {}
    garch = ConstantMean(None, volatility=GARCH(), distribution=StudentsT(seed=rng))
    params = np.array([0.0, 0.02, 0.08, 0.9, 4.0])
    for name in ("t3", "garch_t4"):
        harms = 0
        for _ in range(sims):
            if name == "t3":
                d = rng.standard_t(3, size=horizon)
            else:
                d = garch.simulate(params, horizon, burn=200)["data"].to_numpy()
            champ = 0.1 + rng.standard_t(3, size=horizon)
            test = PairedSequentialTest(settings)
            for x, h in zip(d, champ, strict=True):
                test.add_period(float(x) + float(h), float(h))
                if test.analyse().verdict.value == "rollback":
                    harms += 1
                    break
        out[name] = harms / sims
    return out


# ---------------------------------------------------------------- the hot path
class EchoModel:
    feature_names = ("x",)

    def predict(self, features: Any) -> list[float]:
        return [features["x"]]


def _p99_us(samples: list[int]) -> float:
    return float(np.percentile(np.asarray(samples, dtype=float), 99)) / 1000.0


async def hot_path(calls: int) -> dict[str, float]:
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = LearningEngineConfig.create(data_dir=Path(tmp), require_eval_pass=False,
                                          enable_drift_detection=False)
        async with LearningEngine(cfg) as engine:
            for v in ("v1", "v2"):
                mv = await engine.register_model_version("hot", v, model=EchoModel())
                await engine.promote_model("hot", mv.version_id, "staging")
            await engine.promote_model("hot", "hot:v1", "production")
            await engine.promote_model("hot", "hot:v2", "production",
                                       rollout_strategy=RolloutStrategy.CANARY)
            keys = [f"K{i:03d}" for i in range(500)]
            model = EchoModel()
            feats = {"x": 0.25}
            table: dict[str, int] = {k: i for i, k in enumerate(keys)}
            route, predict, pc = engine.route, engine.predict, time.perf_counter_ns
            for k in keys:  # warm the bucket cache
                route("hot", k)
            gc.collect()
            gc.disable()
            try:
                base, rt, mdl, prd = [], [], [], []
                for i in range(calls):
                    k = keys[i % 500]
                    t0 = pc()
                    table.get(k)
                    t1 = pc()
                    route("hot", k)
                    t2 = pc()
                    model.predict(feats)
                    t3 = pc()
                    predict("hot", k, feats)
                    t4 = pc()
                    base.append(t1 - t0)
                    rt.append(t2 - t1)
                    mdl.append(t3 - t2)
                    prd.append(t4 - t3)
                    if i % 5000 == 4999:  # the host's cycle: shadows, events
                        gc.enable()
                        await engine.update()
                        gc.disable()
            finally:
                gc.enable()
            return {"dict_p99_us": _p99_us(base), "router_p99_us": _p99_us(rt),
                    "model_p99_us": _p99_us(mdl), "predict_p99_us": _p99_us(prd),
                    "route_p50_us": float(np.median(rt)) / 1000.0}


# ---------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replays", type=int, default=200)
    ap.add_argument("--horizon", type=int, default=750, help="trading days per replay")
    ap.add_argument("--sharpe", type=float, default=1.5, help="one stock's planted Sharpe")
    ap.add_argument("--null-sims", type=int, default=300)
    ap.add_argument("--calls", type=int, default=50_000)
    args = ap.parse_args()
    t_start = time.perf_counter()
    spec = load_pipeline_spec()
    plan = build_plan(spec, LearningEngineConfig(), RolloutStrategy.CANARY, approval="automatic")
    settings = plan.analysis
    print(f"plan: shadow {plan.shadow_seconds / 3600:.0f}h, ramp "
          + ", ".join(f"{s.traffic:.0%}/{s.hold_seconds / 3600:.0f}h" for s in plan.ramp)
          + f", >= {plan.min_periods_per_step} new periods per step; analysis alpha="
          f"{settings.alpha} margin={settings.margin} min_periods={settings.min_periods} "
          f"design={settings.design_periods}")

    nulls = null_false_harm(settings, args.horizon, args.null_sims, seed=99)
    print("calibration on simulated nulls (no true difference, "
          f"{args.null_sims} x {args.horizon} periods): false rollback "
          + ", ".join(f"{k}={v:.3f}" for k, v in nulls.items()))

    r = stock_returns()
    a = calibrate_edge(r, args.sharpe, args.horizon)
    reps = replays(r, args.replays, args.horizon, seed=2024)
    rng = np.random.default_rng(7)
    stock_sh = per_stock_sharpe(a, reps, 3)
    results: dict[str, list[Outcome]] = {}
    baseline: dict[str, list[Outcome]] = {}
    book_sharpes = []
    for kind in ("aa", "aa_retrain", "inverted", "noise"):
        results[kind], baseline[kind] = [], []
        for i, rr in enumerate(reps):
            sc = scenario(kind, rr, a, rng)
            if kind == "aa":
                book_sharpes.append(_sharpe(sc.champion.mean(axis=1)) * math.sqrt(252))
            results[kind].append(run_ours(sc, plan))
            baseline[kind].append(run_baseline(sc, plan, f"replay-{i}"))
    print(f"replays: {len(reps)} x {args.horizon} days; planted edge a={a:.3f}: one stock's "
          f"Sharpe {stock_sh:.2f}, the champion's book Sharpe {np.mean(book_sharpes):.2f} "
          f"(median over replays)")

    def rate(xs: list[Outcome], pred: Any) -> float:
        return float(np.mean([pred(o) for o in xs]))

    for kind in results:
        ours, base = results[kind], baseline[kind]
        full = [o.day for o in ours if o.promoted and o.day is not None]
        print(f"  {kind:11s} ours: rolled back {rate(ours, lambda o: o.rolled_back):.3f} "
              f"promoted {rate(ours, lambda o: o.promoted):.3f} median days to full "
              f"{np.median(full) if full else float('nan'):.0f} max traffic past 25% "
              f"{rate(ours, lambda o: o.max_traffic > 0.25):.3f} exposure "
              f"{np.mean([o.exposure for o in ours]):.1f} traffic-days | baseline: rolled back "
              f"{rate(base, lambda o: o.rolled_back):.3f} promoted "
              f"{rate(base, lambda o: o.promoted):.3f} exposure "
              f"{np.mean([o.exposure for o in base]):.1f}")

    aa, aar = results["aa"], results["aa_retrain"]
    broken = results["inverted"] + results["noise"]
    base_broken = baseline["inverted"] + baseline["noise"]
    aa_full = [o.day for o in aa if o.promoted and o.day is not None]
    aar_full = [o.day for o in aar if o.promoted and o.day is not None]
    caught = rate(broken, lambda o: o.rolled_back and o.max_traffic <= 0.25)
    print(f"replays done in {time.perf_counter() - t_start:.1f}s")

    hp = asyncio.run(hot_path(args.calls))
    overhead = hp["predict_p99_us"] - hp["model_p99_us"]
    print(f"hot path ({args.calls} calls, machine shared): dict p99 {hp['dict_p99_us']:.2f}us "
          f"(baseline), route p50 {hp['route_p50_us']:.2f}us p99 {hp['router_p99_us']:.2f}us, "
          f"model alone p99 {hp['model_p99_us']:.2f}us, predict p99 {hp['predict_p99_us']:.2f}us")
    print(f"total {time.perf_counter() - t_start:.1f}s")
    print(
        f"RESULT aa_false_rollback={rate(aa, lambda o: o.rolled_back):.3f} "
        f"aa_promoted={rate(aa, lambda o: o.promoted):.3f} "
        f"aa_median_days_to_full={np.median(aa_full) if aa_full else float('nan'):.0f} "
        f"broken_caught={caught:.3f} "
        f"broken_exposure={np.mean([o.exposure for o in broken]):.2f} "
        f"baseline_aa_false_rollback={rate(baseline['aa'], lambda o: o.rolled_back):.3f} "
        f"baseline_broken_caught={rate(base_broken, lambda o: o.rolled_back):.3f} "
        f"router_p99_us={hp['router_p99_us']:.2f} "
        f"predict_overhead_p99_us={overhead:.2f} "
        f"aa_retrain_false_rollback={rate(aar, lambda o: o.rolled_back):.3f} "
        f"aa_retrain_promoted={rate(aar, lambda o: o.promoted):.3f} "
        f"aa_retrain_median_days_to_full="
        f"{np.median(aar_full) if aar_full else float('nan'):.0f} "
        f"baseline_broken_exposure={np.mean([o.exposure for o in base_broken]):.2f} "
        f"null_false_rollback_t3={nulls['t3']:.3f} "
        f"null_false_rollback_garch={nulls['garch_t4']:.3f}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
