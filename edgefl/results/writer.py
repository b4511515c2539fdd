"""Atomic writers for run results and the choice of a fresh output directory.

Every file is written to a temporary file in the same directory, flushed and
fsync'ed, then renamed over the target, so a reader never sees a half file and an
interrupted run never leaves one.
"""

from __future__ import annotations

import csv
import io
import math
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgefl import strict_json

def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    tmp = str(path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp")
    # O_EXCL: a fresh file of our own; mode 0o666 lets the kernel apply the process umask,
    # so results are ordinary files without reading (or flipping) the umask here
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"newline": ""})) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _fmt(v: Any) -> Any:
    # repr-exact floats so identical runs give byte-identical files
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else repr(float(v))
    if isinstance(v, np.integer):
        return int(v)
    return v


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with exact float formatting."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_fmt(v) for v in row])
    return buf.getvalue()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Atomically write a CSV file."""
    write_atomic(path, csv_text(header, rows))


def write_json(path: Path, obj: Any) -> None:
    """Atomically write pretty, strict JSON (non-finite numbers as null)."""
    write_atomic(path, strict_json.dumps(obj, indent=2, sort_keys=False) + "\n")  # json_ready converts numpy and paths


#: empty file that marks a results directory as taken by a run (created with O_EXCL)
CLAIM_FILE = ".edgefl-run"


def _claim(directory: Path) -> bool:
    """Take ``directory`` for this run: create it or find it empty, and win the race for its
    claim file. Atomic: of several processes claiming the same directory exactly one succeeds."""
    directory.mkdir(exist_ok=True)
    try:
        os.close(os.open(directory / CLAIM_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:
        return False
    if any(p.name != CLAIM_FILE for p in directory.iterdir()):  # someone else's files: not ours
        (directory / CLAIM_FILE).unlink()
        return False
    return True


def fresh_output_dir(requested: Path, overwrite: bool = False) -> Path:
    """Create (or take, if it is an empty directory) and return ``requested``, else the first free
    ``requested-N``; with ``overwrite`` an existing ``requested`` is returned as it is.
    An existing result is never silently overwritten, and parallel runs asking for the same
    name (sweep points) get different directories: each candidate is claimed atomically
    (:data:`CLAIM_FILE` created with O_EXCL)."""
    requested = Path(requested).absolute()
    if overwrite and requested.exists():
        return requested  # the caller checks it is a writable directory
    requested.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        cand = requested if n == 0 else requested.with_name(f"{requested.name}-{n}")
        if not cand.exists() or cand.is_dir():
            try:
                if _claim(cand):
                    return cand
            except FileExistsError:  # a file of that name appeared in between
                pass
        n += 1
