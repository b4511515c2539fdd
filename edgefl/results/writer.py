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
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgefl import strict_json

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are ordinary files
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


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json(path: Path, obj: Any) -> None:
    """Atomically write pretty, strict JSON (non-finite numbers as null)."""
    write_atomic(path, strict_json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def fresh_output_dir(requested: Path, overwrite: bool = False) -> Path:
    """``requested`` if it is absent or empty (or ``overwrite``), else the first free
    ``requested-N``: an existing result is never silently overwritten."""
    requested = Path(requested).absolute()
    if overwrite or not requested.exists() or (requested.is_dir() and not any(requested.iterdir())):
        return requested
    n = 1
    while True:
        cand = requested.with_name(f"{requested.name}-{n}")
        if not cand.exists():
            return cand
        n += 1
