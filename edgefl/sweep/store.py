"""The on-disk layout of a study and the atomic commit of each point.

``<out>/points/<key>/`` holds one finished point (grid point x seed): the run's files
(rounds.csv, summary.json, timeline.csv if the scenario keeps it) and ``point.json``
(status ``ok`` or ``error``). A failed point also has ``error.txt`` and
``traceback.txt``. A point directory is assembled under a temporary name and renamed
into place only when complete, so a killed study never leaves a half point: what is
there is finished, what is missing reruns.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefl.results.writer import write_atomic, write_json

POINTS = "points"
_TMP, _OLD = ".tmp-", ".old-"


@dataclass
class PointResult:
    """What a worker sends back for one point: its files (bytes) or its error."""

    key: str
    status: str  # "ok" | "error" | "interrupted"
    files: dict[str, bytes] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    wall_s: float = 0.0


def points_dir(out: Path) -> Path:
    return Path(out) / POINTS


def point_dir(out: Path, key: str) -> Path:
    return points_dir(out) / key


def clean_stale(out: Path) -> None:
    """Remove half-assembled point directories left by a killed study."""
    pd = points_dir(out)
    if pd.is_dir():
        for p in pd.iterdir():
            if p.name.startswith((_TMP, _OLD)):
                shutil.rmtree(p, ignore_errors=True)


def read_status(out: Path, key: str) -> dict[str, Any] | None:
    """``point.json`` of a committed point, or None when the point has not finished."""
    try:
        return json.loads((point_dir(out, key) / "point.json").read_text())
    except (OSError, ValueError):
        return None


def commit(out: Path, result: PointResult, meta: dict[str, Any]) -> Path:
    """Write ``result`` as ``<out>/points/<key>`` atomically (temp dir, then rename); a
    previous (failed) directory of the same key is replaced."""
    final = point_dir(out, result.key)
    tmp = final.with_name(f"{_TMP}{result.key}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    for name, data in result.files.items():
        write_atomic(tmp / name, data)
    info = {**meta, "key": result.key, "status": result.status, "error": result.error, "wall_s": result.wall_s}
    if result.status == "error":
        write_atomic(tmp / "error.txt", (result.error or "") + "\n")
        write_atomic(tmp / "traceback.txt", result.traceback or result.error or "")
    write_json(tmp / "point.json", info)  # last: its presence marks the point as finished
    if final.exists():
        old = final.with_name(f"{_OLD}{result.key}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    return final
