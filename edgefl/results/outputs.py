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

from edgefl.results.records import RoundRecord, columns, totals
from edgefl.results.writer import write_csv, write_json
from edgefl.sim.engine import Interval

__all__ = ["package_versions", "split_wall", "totals", "write_rounds", "write_summary", "write_timeline"]

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


def split_wall(records: Sequence[RoundRecord]) -> tuple[list[str], list[str]]:
    """Column names of rounds.csv and of wall_times.csv, in record order."""
    cols = columns(records)
    wall = [c for c in cols if c.endswith("_wall_s")]
    return [c for c in cols if c not in wall], wall


def write_timeline(out_dir: Path, events: Sequence[Interval]) -> None:
    """timeline.csv: one row per interval of the timing diagram."""
    write_csv(out_dir / "timeline.csv", TIMELINE_COLUMNS,
              ((e.round, e.actor, e.phase, e.start, e.end, e.bits) for e in events))


def write_rounds(out_dir: Path, records: Sequence[RoundRecord]) -> None:
    """rounds.csv (deterministic metrics) and wall_times.csv (measured wall clock)."""
    cols, wall = split_wall(records)
    write_csv(out_dir / "rounds.csv", cols, ([rec.get(c, math.nan) for c in cols] for rec in records))
    if wall:
        write_csv(out_dir / "wall_times.csv", ["round", *wall],
                  ([rec.round, *(rec.get(c, math.nan) for c in wall)] for rec in records))


def write_summary(out_dir: Path, summary: dict[str, Any]) -> None:
    """summary.json."""
    write_json(out_dir / "summary.json", summary)
