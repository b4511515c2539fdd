"""How fast one run plays out at scale on the vectorised path (issue 20, speed).

Cases (each in its own process, so that its peak memory, max RSS, is its own; wall time covers
building the simulation and playing all rounds, not writing files; ``output.timeline: false``,
what a planner runs):

* quickstart-style: the quickstart (signSGD, Gaussian CEO gradients with a small P, default 100,
  Rayleigh block fading, analytic) at 1,000 and 10,000 workers x 100 rounds, TDMA and FDMA;
  goals 1 s and 10 s;
* the NR cell: ``scenarios/nr_cell.yaml`` with a population of 10,000, 1,000 per round, NR HARQ,
  Gauss-Markov fading (5 Hz Doppler), its 250 ms deadline, traces off, 100 rounds, as a planner
  runs it (``output.timing_only: true``: signSGD's bits are counted, no gradient is drawn; workers
  out of coverage excluded); goal 30 s and 1 GB. Where the 200 m cell is refused at build time
  (a version without ``channel.out_of_coverage``), the case runs at ``--nr-radius`` and says so.

Every wall time is also printed as a ratio to a reference measured in the same run (a fixed
Python + numpy workload, ``reference()``), so figures from machines of different speed compare.

    python benchmarks/des_scale.py [--rounds 100] [--params 100] [--simpy]

``--simpy`` also times the SimPy reference engine on the quickstart cases up to 1,000 workers.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOALS_S = {"quickstart-1000": 1.0, "quickstart-10000": 10.0, "nr_cell": 30.0}
GOAL_MB = {"nr_cell": 1024.0}
GM = ["channel.correlation.kind=gauss_markov", "channel.correlation.doppler_hz=5"]


def reference() -> float:
    """Seconds of a fixed workload: 10^6 Python loop steps and 50 numpy sorts of 10^5 normals."""
    t = time.perf_counter()
    acc = 0.0
    for i in range(1_000_000):
        acc += i * 0.5
    rng = np.random.default_rng(0)
    for _ in range(50):
        np.sort(rng.standard_normal(100_000))
    return time.perf_counter() - t


def scenario(case: str, workers: int, rounds: int, params: int, access: str, nr_radius: float):
    """The resolved scenario of a case, and a note when the NR cell had to shrink."""
    sys.path.insert(0, str(ROOT))
    from edgefl.scenario import ScenarioError, load_scenario
    from edgefl.sim.build import build_simulation

    if case == "quickstart":
        return load_scenario(ROOT / "scenarios" / "quickstart.yaml", [
            f"workers.count={workers}", f"rounds={rounds}", f"gradients.params={params}",
            "workers.placement.radius_m=500", f"channel.access={access}", "output.timeline=false"]), ""
    sets = [f"workers.count={workers}", "workers.per_round=1000", f"rounds={rounds}", "channel.trace=null",
            "workers.trace=null", *GM, "output.timeline=false", "output.timing_only=true"]
    rs = load_scenario(ROOT / "scenarios" / "nr_cell.yaml", sets, max_memory=1e15)
    try:
        build_simulation(rs)  # the coverage check
        return rs, ""
    except ScenarioError as exc:
        if "no uplink rate" not in str(exc) and "no downlink rate" not in str(exc):
            raise
    rs = load_scenario(ROOT / "scenarios" / "nr_cell.yaml", [*sets, f"workers.placement.radius_m={nr_radius}"],
                       max_memory=1e15)
    return rs, f"radius {nr_radius:g} m (200 m refused: workers out of coverage)"


def one(case: str, workers: int, rounds: int, params: int, access: str, engine: str, nr_radius: float) -> dict:
    """Build and run one case in this process; wall time and peak RSS."""
    from edgefl.sim.build import build_simulation

    rs, note = scenario(case, workers, rounds, params, access, nr_radius)
    t0 = time.perf_counter()
    sim = build_simulation(rs, engine)
    t1 = time.perf_counter()
    sim.run()
    t2 = time.perf_counter()
    return {"case": case, "workers": workers, "rounds": rounds, "access": rs.scenario.channel.access,
            "engine_path": sim.engine_path, "build_s": t1 - t0, "run_s": t2 - t1, "wall_s": t2 - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "note": note}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--params", type=int, default=100)
    ap.add_argument("--workers", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--nr-workers", type=int, default=10000, help="population of the NR cell case (0: skip it)")
    ap.add_argument("--nr-radius", type=float, default=100.0)
    ap.add_argument("--simpy", action="store_true", help="also time the SimPy engine at up to 1,000 workers")
    ap.add_argument("--one", nargs=3, metavar=("CASE", "ACCESS", "ENGINE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        case, acc, engine = args.one
        print(json.dumps(one(case, args.workers[0], args.rounds, args.params, acc, engine, args.nr_radius)))
        return

    cases = [("quickstart", k, acc, "auto") for k in args.workers for acc in ("tdma", "fdma")]
    if args.simpy:
        cases += [("quickstart", k, acc, "simpy") for k in args.workers if k <= 1000 for acc in ("tdma", "fdma")]
    if args.nr_workers:
        cases.append(("nr_cell", args.nr_workers, "tdma", "auto"))
    ref = reference()
    print(f"rounds={args.rounds}, quickstart P={args.params}; reference workload {ref:.3f} s "
          "(ratio = wall / reference)")
    print(f"{'case':>18} {'access':>6} {'path':>6} {'build s':>8} {'run s':>8} {'wall s':>8} {'ratio':>7} "
          f"{'goal s':>7} {'ok':>3} {'peak MB':>8}  note")
    for case, k, acc, engine in cases:
        out = subprocess.run([sys.executable, __file__, "--one", case, acc, engine, "--workers", str(k),
                              "--rounds", str(args.rounds), "--params", str(args.params),
                              "--nr-radius", str(args.nr_radius)],
                             check=True, capture_output=True, text=True, cwd=ROOT)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        name = f"{case}-{k}" if case == "quickstart" else case
        goal = GOALS_S.get(name) if engine == "auto" and args.rounds == 100 else None
        ok = "" if goal is None else ("yes" if r["wall_s"] < goal and r["peak_rss_mb"] < GOAL_MB.get(name, 1e12)
                                      else "NO")
        print(f"{name:>18} {r['access']:>6} {r['engine_path']:>6} {r['build_s']:>8.2f} {r['run_s']:>8.2f} "
              f"{r['wall_s']:>8.2f} {r['wall_s'] / ref:>7.1f} {goal or float('nan'):>7.0f} {ok:>3} "
              f"{r['peak_rss_mb']:>8.0f}  {r['note']}", flush=True)


if __name__ == "__main__":
    main()
