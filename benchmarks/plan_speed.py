"""How long ``edgefl plan`` takes on the two planning questions of issue 20 (figures, not a test).

    python benchmarks/plan_speed.py [--skip-nr] [--max-memory 64G] [--jobs N] [--serial]

1. ``edgefl plan scenarios/quickstart.yaml --deadline 0.3 --coverage`` (goal: under 3 s);
2. ``edgefl plan scenarios/nr_cell.yaml --deadline 0.25`` with a population of 10,000 phones and
   1,000 per round (``workers.count=10000 workers.per_round=1000``; the scenario's 100-worker SNR
   and availability traces off, ``channel.trace=null workers.trace=null``) (goal: under 15 s).

Each case runs through the CLI body in its own process (imports included, as a user would see
it). Wall times are printed as such and as ratios against a reference measured in the same run
on the same machine: one timing-only ``edgefl run`` of 100 rounds of the same scenario (build
and play, the unit the planner spends its time in), so a ratio says how many such runs a plan
costs whatever the machine's speed. Also printed: the processes the plan used (``--jobs``, by
default plan's own choice: a pool of every CPU for long plans, see
:func:`edgefl.planning.api.auto_jobs`), the CPU time including the pool's children, samples per
point and the engine path; ``--serial`` also runs each case with ``--jobs 1`` in the same session
(the pool's speed-up on this machine, and a check that the answers are identical).
"""

from __future__ import annotations

import argparse
import json
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


_PLAN_CODE = """
import io, json, os, resource, sys, time
from contextlib import redirect_stdout
sys.path.insert(0, {root!r})
if __name__ == "__main__":
    t0 = time.perf_counter()
    from edgefl.cli import app
    from edgefl.planning import api
    out = io.StringIO()
    with redirect_stdout(out):
        app({args!r}, standalone_mode=False)
    wall = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb = own.ru_maxrss / 1024
    server = 0.0  # the fork server's CPU (it imported edgefl once for the pool's children), if one ran
    from multiprocessing import forkserver
    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid:
        with open(f"/proc/{{pid}}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    print(json.dumps({{"wall_s": wall, "cpu_s": own.ru_utime + own.ru_stime + server, "max_rss_mb": rss_mb,
                      "report": json.loads(out.getvalue()), **api.LAST_RUN}}))
"""


def _plan(scenario: Path, sets: list[str], args: list[str], max_memory: str | None,
          jobs: int | None) -> tuple[float, float, dict, dict]:
    """Wall time and CPU time of ``edgefl plan ... --json`` run through the CLI body in a fresh process
    (imports included), its answer and how it ran (processes, CPU seconds in the pool's children). CPU
    time: the plan process's own (user + system) and its fork server's, plus its pool children's as
    they report it; on a
    machine shared with other jobs it is what the plan costs, whatever the wall time."""
    cli = ["plan", str(scenario), *args, "--json"]
    for s in sets:
        cli += ["--set", s]
    if max_memory:
        cli += ["--max-memory", max_memory]
    if jobs is not None:
        cli += ["--jobs", str(jobs)]
    code = _PLAN_CODE.format(root=str(ROOT), args=cli)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"edgefl {' '.join(cli)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, res["cpu_s"] + res["pool_cpu_s"], res["report"], res


def _print_run(label: str, wall: float, cpu: float, run: dict, goal: float | None, unit: float) -> None:
    jobs = int(run["jobs"])
    met = f"   (goal {goal:g} s: {'met' if wall <= goal else 'NOT met'})" if goal is not None else ""
    print(f"  {label:<21}: {wall:8.2f} s wall{met}")
    print(f"  {'':<21}  {cpu:8.2f} s CPU   ({jobs} process{'es' * (jobs > 1)}; plan process and fork server "
          f"{run['cpu_s']:.2f} s + pool children {run['pool_cpu_s']:.2f} s)")
    slots = run.get("slot_cpu_s") or []
    if slots:  # what the wall time would be on idle CPUs, at least: the busiest child's CPU and the rest
        floor = run["cpu_s"] + max(slots)
        print(f"  {'':<21}  {floor:8.2f} s at least on {jobs} idle CPUs (plan process + busiest child; children "
              f"{' / '.join(f'{c:.1f}' for c in slots)} s)")
    mem = run.get("slot_max_rss_mb") or []
    print(f"  {'':<21}  {run['max_rss_mb']:8.0f} MB peak memory of the plan process"
          + (f", of its children {' / '.join(f'{m:.0f}' for m in mem)} MB" if mem else ""))
    print(f"  {'':<21}  {wall / unit:8.2f} x the reference")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-nr", action="store_true", help="only the quickstart case")
    ap.add_argument("--max-memory", default=None, help="passed to load/plan (e.g. 64G) if the estimate refuses")
    ap.add_argument("--jobs", type=int, default=None, help="plan --jobs (default: plan's own choice)")
    ap.add_argument("--serial", action="store_true", help="also run each case with --jobs 1 (the speed-up "
                    "of the pool measured in the same session)")
    a = ap.parse_args()
    for name, (scenario, sets, args, goal) in CASES.items():
        if a.skip_nr and scenario.name == "nr_cell.yaml":
            continue
        ref = _reference(scenario, sets, a.max_memory)
        wall, cpu, rep, run = _plan(scenario, sets, args, a.max_memory, a.jobs)
        unit = ref["import_load_s"] + ref["run_s"]
        print(f"== plan {name}")
        _print_run(f"plan (--jobs {a.jobs if a.jobs is not None else 'default'})", wall, cpu, run, goal, unit)
        if a.serial:
            wall1, cpu1, rep1, run1 = _plan(scenario, sets, args, a.max_memory, 1)
            _print_run("plan --jobs 1", wall1, cpu1, run1, None, unit)
            print(f"  {'serial / pool wall':<21}: {wall1 / wall:8.2f}   (answers "
                  f"{'identical' if rep1 == rep else 'DIFFERENT'})")
        print(f"  reference            : {unit:8.2f} s   (import + load + one timing-only run of 100 rounds, "
              f"engine {ref['engine_path']})")
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
