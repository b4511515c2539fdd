"""How long ``edgefl plan`` takes on the two planning questions of issue 20 (figures, not a test).

    python benchmarks/plan_speed.py [--skip-nr] [--max-memory 64G]

1. ``edgefl plan scenarios/quickstart.yaml --deadline 0.3 --coverage`` (goal: under 3 s);
2. ``edgefl plan scenarios/nr_cell.yaml --deadline 0.25`` with a population of 10,000 phones and
   1,000 per round (``workers.count=10000 workers.per_round=1000``; the scenario's 100-worker SNR
   and availability traces off, ``channel.trace=null workers.trace=null``) (goal: under 15 s).

Each case runs through the CLI body in its own process (imports included, as a user would see
it). Wall times are printed as such and as ratios against a reference measured in the same run
on the same machine: one timing-only ``edgefl run`` of 100 rounds of the same scenario (build
and play, the unit the planner spends its time in), so a ratio says how many such runs a plan
costs whatever the machine's speed. Also printed: samples per point and the engine path.
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
CASES = {
    "quickstart --deadline 0.3 --coverage": (
        ROOT / "scenarios" / "quickstart.yaml", [], ["--deadline", "0.3", "--coverage"], 3.0),
    "nr_cell 10,000 / 1,000 per round --deadline 0.25": (
        ROOT / "scenarios" / "nr_cell.yaml",
        ["workers.count=10000", "workers.per_round=1000", "channel.trace=null", "workers.trace=null"],
        ["--deadline", "0.25"], 15.0),
}


def _reference(scenario: Path, sets: list[str], max_memory: str | None) -> dict:
    """Wall time of one timing-only run of 100 rounds (build + play), in a fresh process."""
    code = f"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {str(ROOT)!r})
t0 = time.perf_counter()
from edgefl.estimate import parse_memory
from edgefl.scenario import load_scenario
from edgefl.planning.samples import build, play, timing_run
mm = {max_memory!r}
rs = load_scenario({str(scenario)!r}, {sets!r}, max_memory=None if mm is None else parse_memory(mm))
t1 = time.perf_counter()
sim = build(timing_run(rs, 100), "auto")
play(sim, 100)
t2 = time.perf_counter()
print(json.dumps({{"import_load_s": t1 - t0, "run_s": t2 - t1, "engine_path": sim.engine_path}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _plan(scenario: Path, sets: list[str], args: list[str], max_memory: str | None) -> tuple[float, float, dict]:
    """Wall time and CPU time (user + system) of ``edgefl plan ... --json`` in a fresh process, and its
    answer; on a machine shared with other jobs the CPU time is what the wall time would be alone."""
    cmd = [sys.executable, "-m", "edgefl.cli", "plan", str(scenario), *args, "--json"]
    for s in sets:
        cmd += ["--set", s]
    if max_memory:
        cmd += ["--max-memory", max_memory]
    t0 = time.perf_counter()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return wall, cpu, json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-nr", action="store_true", help="only the quickstart case")
    ap.add_argument("--max-memory", default=None, help="passed to load/plan (e.g. 64G) if the estimate refuses")
    a = ap.parse_args()
    for name, (scenario, sets, args, goal) in CASES.items():
        if a.skip_nr and scenario.name == "nr_cell.yaml":
            continue
        ref = _reference(scenario, sets, a.max_memory)
        wall, cpu, rep = _plan(scenario, sets, args, a.max_memory)
        unit = ref["import_load_s"] + ref["run_s"]
        print(f"== plan {name}")
        print(f"  wall time            : {wall:8.2f} s   (goal {goal:g} s: {'met' if wall <= goal else 'NOT met'})")
        print(f"  CPU time             : {cpu:8.2f} s   (user + system of the plan process)")
        print(f"  reference            : {unit:8.2f} s   (import + load + one timing-only run of 100 rounds, "
              f"engine {ref['engine_path']})")
        print(f"  ratio plan/reference : {wall / unit:8.2f}")
        for key in ("max_workers", "min_bandwidth", "coverage"):
            if key in rep:
                s = rep[key]["sampling"]
                val = {"max_workers": rep[key].get("max_workers"),
                       "min_bandwidth": rep[key].get("min_uplink_bandwidth_hz"),
                       "coverage": rep[key].get("max_radius_m")}[key]
                print(f"  {key:<14}: {val!s:>24}  ({s['samples']} samples/point over {s['over']}, "
                      f"stopped: {s['stopped']}, engine {'/'.join(s['engine_paths'])})")
        oc = rep.get("out_of_coverage")
        if oc and oc["workers"]:
            print(f"  out of coverage: {len(oc['workers'])} of {oc['placed']} workers")


if __name__ == "__main__":
    main()
