"""Turn a simulation's records into timeline.csv, rounds.csv and summary.json.

Wall-clock measurements (metric names ending in ``_wall_s``) are machine noise, so
they go to ``wall_times.csv`` instead of rounds.csv: the same scenario and seed then
give byte-identical rounds.csv and timeline.csv.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from edgefl.results.writer import write_csv, write_json
from edgefl.sim.engine import Event

TIMELINE_COLUMNS = ["round", "actor", "phase", "start", "end", "bits"]
_PACKAGES = ["edgefl-sim", "numpy", "scipy", "simpy", "numba", "onnxruntime", "onnx", "pydantic"]


def package_versions() -> dict[str, str]:
    """Versions of edgefl and its main dependencies, for summary.json."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def split_wall(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Column names of rounds.csv and of wall_times.csv, in first-seen order."""
    cols: list[str] = []
    for row in rows:
        for key in row:
            if key not in cols:
                cols.append(key)
    wall = [c for c in cols if c.endswith("_wall_s")]
    return [c for c in cols if c not in wall], wall


def write_timeline(out_dir: Path, events: Sequence[Event]) -> None:
    """timeline.csv: one row per interval of the timing diagram."""
    write_csv(out_dir / "timeline.csv", TIMELINE_COLUMNS,
              ((e.round, e.actor, e.phase, e.start, e.end, e.bits) for e in events))


def write_rounds(out_dir: Path, rows: Sequence[dict[str, Any]]) -> None:
    """rounds.csv (deterministic metrics) and wall_times.csv (measured wall clock)."""
    cols, wall = split_wall(rows)
    cols = cols or ["round"]  # a run stopped before its first round still gets a header
    write_csv(out_dir / "rounds.csv", cols, ([row.get(c, math.nan) for c in cols] for row in rows))
    if wall:
        write_csv(out_dir / "wall_times.csv", ["round", *wall],
                  ([row.get("round"), *(row.get(c, math.nan) for c in wall)] for row in rows))


def totals(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Run totals for summary.json."""
    if not rows:
        return {"rounds_done": 0}
    out: dict[str, Any] = {
        "rounds_done": len(rows),
        "simulated_time_s": rows[-1]["end_s"],
        "mean_round_latency_s": sum(r["latency_s"] for r in rows) / len(rows),
        "bits_total": sum(r["bits_total"] for r in rows),
        "mean_bits_per_param": sum(r["bits_per_param"] for r in rows) / len(rows),
        "mean_distortion": sum(r["distortion"] for r in rows) / len(rows),
        "decode_failures": sum(r["decode_failures"] for r in rows),
        "undetected_errors": sum(r["undetected_errors"] for r in rows),
        "retries": sum(r["retries"] for r in rows),
        "worker_energy_j": sum(r["worker_energy_j"] for r in rows),
    }
    last = rows[-1]
    for key in ("train_loss", "test_accuracy"):
        if key in last:
            out[f"final_{key}"] = last[key]
    return out


def write_summary(out_dir: Path, summary: dict[str, Any]) -> None:
    """summary.json."""
    write_json(out_dir / "summary.json", summary)
