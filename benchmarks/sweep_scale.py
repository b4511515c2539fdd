"""Points per second of `edgefl sweep` on 200 analytic points: local process pool vs Dask.

Each engine runs in a fresh subprocess (no warm caches shared between them; the edgefl of
this checkout, via PYTHONPATH) on the same
200-point study (quickstart, 5 rounds, 200 uplink bandwidths), into a temporary directory.
Peak memory is the largest total resident set size of the process tree (the study
process, its fork server / Dask nannies and all pool workers), sampled every 20 ms with
psutil. Wall time includes engine start-up (fork server or LocalCluster).

    python benchmarks/sweep_scale.py [--points 200] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _study(tmp: Path, points: int) -> Path:
    import yaml

    path = tmp / "scale.yaml"
    path.write_text(yaml.safe_dump({
        "name": "sweep_scale", "base": str(ROOT / "scenarios" / "quickstart.yaml"),
        "set": ["rounds=5", "output.timeline=false"],
        "axes": {"channel.uplink_bandwidth_hz": {"log": [1.0e6, 1.0e8, points]}},
        "seeds": 1, "metrics": ["latency_s:p95"]}))
    return path


def _tree_rss() -> int:
    try:
        import psutil
    except ImportError:  # pragma: no cover
        sys.exit('benchmarks/sweep_scale.py needs psutil (installed with the dask extra: pip install -e ".[dask]")')

    me = psutil.Process()
    total = 0
    for p in [me, *me.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            pass
    return total


def one(engine: str, points: int, jobs: int) -> dict:
    """Run the study on one engine here; return points, wall seconds and peak tree RSS."""
    from edgefl.sweep.run import run_study
    from edgefl.sweep.study import load_study

    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss())
            stop.wait(0.02)

    with tempfile.TemporaryDirectory() as tmp:
        st = load_study(_study(Path(tmp), points), Path(tmp) / "out")
        th = threading.Thread(target=sample, daemon=True)
        th.start()
        t0 = time.perf_counter()
        rep = run_study(st, engine=engine, jobs=jobs, progress=False, plots=False)
        wall = time.perf_counter() - t0
        stop.set()
        th.join()
    assert rep.ran == points and rep.failed == 0, rep
    return {"engine": engine, "points": points, "wall_s": wall, "points_per_s": points / wall,
            "peak_rss_mb": peak[0] / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--one", choices=["local", "dask"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one, a.points, a.jobs)))
        return
    res = {}
    for engine in ("local", "dask"):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        out = subprocess.run([sys.executable, __file__, "--one", engine, "--points", str(a.points),
                              "--jobs", str(a.jobs)], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if out.returncode:
            sys.exit(f"{engine} run failed:\n{out.stderr[-3000:]}")
        res[engine] = json.loads(out.stdout.strip().splitlines()[-1])
        r = res[engine]
        print(f"{engine:>6}: {r['points']} points in {r['wall_s']:.1f} s = {r['points_per_s']:.2f} points/s, "
              f"peak RSS of the process tree {r['peak_rss_mb']:.0f} MB ({a.jobs} jobs)")
    lo, da = res["local"], res["dask"]
    print(f"dask / local: speed {da['points_per_s'] / lo['points_per_s']:.2f}x, "
          f"peak memory {da['peak_rss_mb'] / lo['peak_rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
