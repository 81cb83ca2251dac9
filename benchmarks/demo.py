"""The closed-loop demo, timed by phase: load, ingest (the bar loop), train, evaluate, rollout,
report. Goal: the full demo (sp500, 1990-2022) under 90 s on the 2-core machine.

Baseline measured in the same run: the host's bar loop alone (features, the momentum rule,
the simulated execution with costs) over the same bars, with no engine at all; the ratio says
what the engine costs the host per bar.

    python benchmarks/demo.py [--quick] [--data sp500|bitcoin]

Last line: RESULT demo_s=… events_per_s=… retrains=… promotions=… rollbacks=…
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from ordinis.engines.learning import FEATURE_NAMES
from ordinis.engines.learning.demo.execution import SimulatedExecution, host_policy
from ordinis.engines.learning.demo.market_data import load_data
from ordinis.engines.learning.demo.replay import DemoOptions, run_demo


def host_alone(data: str, quick: bool) -> tuple[float, int]:
    """Seconds of the host's own loop over the bars (no engine) and the bars it ran."""
    panel = load_data(data, None, None, quick=quick)
    policy = host_policy(panel.periods_per_year)
    book = SimulatedExecution(list(panel.symbols), policy)
    policies = [policy] * len(panel.symbols)
    col = FEATURE_NAMES.index("ret_20")
    t0 = time.perf_counter()
    for d in range(len(panel.days)):
        if d:
            book.settle(panel.target[d - 1])
        signal = np.where(panel.valid[d], np.sign(np.nan_to_num(panel.features[d, :, col])), 0.0)
        book.trade(signal, policies)
    return time.perf_counter() - t0, len(panel.days)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="nine years instead of 33")
    ap.add_argument("--data", default="sp500", choices=["sp500", "bitcoin"])
    args = ap.parse_args()

    base_s, bars = host_alone(args.data, args.quick)
    print(f"baseline: the host's loop alone, {bars:,} bars in {base_s:.2f} s")

    with tempfile.TemporaryDirectory(prefix="ordinis-demo-bench-") as tmp:
        opts = DemoOptions(
            data_dir=Path(tmp) / "demo", data=args.data, quick=args.quick, progress=False
        )
        t0 = time.perf_counter()
        outcome = asyncio.run(run_demo(opts, Console(quiet=True)))
        demo_s = time.perf_counter() - t0
    rec, t = outcome.record, outcome.record.times
    events = rec.events_recorded + rec.trades
    print(
        f"phases (s): load {t.load:.1f}, ingest {t.ingest:.1f}, train {t.train:.1f}, "
        f"evaluate {t.evaluate:.1f}, rollout {t.rollout:.1f}, report {t.report:.1f}; "
        f"total {demo_s:.1f}"
    )
    print(
        f"{len(rec.days):,} bars, {rec.events_recorded:,} signal events, {rec.trades:,} trade "
        f"outcomes; the bar loop costs {t.ingest / max(base_s, 1e-9):.0f}x the host alone"
    )
    print(
        f"RESULT demo_s={demo_s:.1f} events_per_s={events / max(t.ingest, 1e-9):.0f} "
        f"retrains={rec.retrains} promotions={rec.promotions} rollbacks={rec.rollbacks}"
    )


if __name__ == "__main__":
    main()
