"""How fast the SimPy engine plays out large networks.

Runs the quickstart scenario scaled to 1,000 workers x 100 rounds in analytic
fidelity (signSGD, a small P so that gradient generation does not dominate) and
prints simulated events per second, wall time, and the share of wall time spent
in the SimPy part, against a reference measured in the same run: the same round
timing computed by the pure vectorised/looped formulas of edgefl.sim.timing.

    python benchmarks/des_scale.py [--workers 1000] [--rounds 100] [--params 1000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from edgefl.scenario import load_scenario
from edgefl.sim.build import build_simulation
from edgefl.sim.timing import completion_order, serial_pipeline

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--params", type=int, default=1000)
    args = ap.parse_args()

    rs = load_scenario(ROOT / "scenarios" / "quickstart.yaml", [
        f"workers.count={args.workers}", f"rounds={args.rounds}", f"gradients.params={args.params}",
        "workers.placement.radius_m=500",
    ])
    sim = build_simulation(rs)
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    n_events = len(sim.events)

    # reference: the same TDMA pipeline as plain Python/numpy over the recorded ready times
    k = args.workers
    t1 = time.perf_counter()
    for r in range(args.rounds):
        ready = np.random.default_rng(r).uniform(0, 1, k)
        serial_pipeline(ready, completion_order(ready), np.full(k, 1e-3), np.zeros(k))
    ref = time.perf_counter() - t1

    print(f"workers={k} rounds={args.rounds} P={args.params}")
    print(f"wall time            : {wall:.2f} s  ({wall / args.rounds * 1e3:.1f} ms per round)")
    print(f"timeline events      : {n_events}  -> {n_events / wall:,.0f} events/s")
    print(f"pure-formula pipeline: {ref:.3f} s  (SimPy engine / formula = {wall / ref:.1f}x)")
    print(f"simulated time       : {sim.rounds[-1]['end_s']:.1f} s")


if __name__ == "__main__":
    main()
