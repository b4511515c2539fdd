"""How fast one analytic run plays out at scale (issue 11 item 7).

The quickstart scenario (signSGD, Gaussian CEO gradients with a small P, default 100, so that
gradient generation does not dominate: at P = 1,000 and 10,000 workers the source alone draws
10^9 normals per run and signSGD reads them twice, which is most of the wall time; Rayleigh
block fading) scaled to 1,000 and 10,000 workers x 100
rounds, analytic fidelity, TDMA and FDMA, with ``output.timeline: false`` (what a planning
sweep runs). Each case runs in its own process so that its peak memory (max RSS) is its own;
wall time covers building the simulation and playing all rounds (not writing files).

Goals: 1,000 x 100 under 2 s, 10,000 x 100 under 60 s (on 2 cores).

    python benchmarks/des_scale.py [--rounds 100] [--params 1000] [--simpy]

``--simpy`` also times the SimPy reference engine on the 1,000-worker cases; ``--timeline`` keeps
every interval (``output.timeline: true``) to show what the timeline costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOALS_S = {1000: 2.0, 10000: 60.0}


def one(workers: int, rounds: int, params: int, access: str, engine: str, timeline: bool = False) -> dict:
    """Build and run one case in this process; wall time and peak RSS."""
    sys.path.insert(0, str(ROOT))
    from edgefl.scenario import load_scenario
    from edgefl.sim.build import build_simulation

    rs = load_scenario(ROOT / "scenarios" / "quickstart.yaml", [
        f"workers.count={workers}", f"rounds={rounds}", f"gradients.params={params}",
        "workers.placement.radius_m=500", f"channel.access={access}", f"output.timeline={str(timeline).lower()}",
    ])
    t0 = time.perf_counter()
    sim = build_simulation(rs, engine)
    t1 = time.perf_counter()
    sim.run()
    t2 = time.perf_counter()
    return {"workers": workers, "rounds": rounds, "access": access, "engine_path": sim.engine_path,
            "timeline_events": len(sim.events),
            "build_s": t1 - t0, "run_s": t2 - t1, "wall_s": t2 - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "simulated_s": sim.rounds[-1].end_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--params", type=int, default=100)
    ap.add_argument("--workers", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--simpy", action="store_true", help="also time the SimPy engine at 1,000 workers")
    ap.add_argument("--timeline", action="store_true", help="keep the timeline (every interval) in memory")
    ap.add_argument("--one", nargs=2, metavar=("ACCESS", "ENGINE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.workers[0], args.rounds, args.params, *args.one, timeline=args.timeline)))
        return

    cases = [(k, acc, "auto") for k in args.workers for acc in ("tdma", "fdma")]
    if args.simpy:
        cases += [(k, acc, "simpy") for k in args.workers if k <= 1000 for acc in ("tdma", "fdma")]
    print(f"rounds={args.rounds} P={args.params} analytic signSGD, timeline {'on' if args.timeline else 'off'}")
    print(f"{'workers':>8} {'access':>6} {'path':>6} {'build s':>8} {'run s':>8} {'wall s':>8} "
          f"{'goal s':>7} {'ok':>3} {'peak MB':>8}")
    for k, acc, engine in cases:
        out = subprocess.run([sys.executable, __file__, "--one", acc, engine, "--workers", str(k),
                              "--rounds", str(args.rounds), "--params", str(args.params),
                              *(["--timeline"] if args.timeline else [])],
                             check=True, capture_output=True, text=True, cwd=ROOT)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        goal = GOALS_S.get(k)
        ok = "" if goal is None else ("yes" if r["wall_s"] < goal else "NO")
        print(f"{k:>8} {acc:>6} {r['engine_path']:>6} {r['build_s']:>8.2f} {r['run_s']:>8.2f} "
              f"{r['wall_s']:>8.2f} {goal or float('nan'):>7.0f} {ok:>3} {r['peak_rss_mb']:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
