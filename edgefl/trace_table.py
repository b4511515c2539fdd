"""Per-worker time series read from a CSV trace, with explicit interpolation and wrap-around.

File format (shared by channel and device traces): UTF-8 CSV, lines starting with ``#``
are comments, the first other line is the header. Two columns are always required:

* ``time_s``: sample time in seconds of simulated time (finite, >= 0), strictly increasing
  within each worker (rows of different workers may interleave);
* ``worker``: the worker index 0..K-1 of the scenario.

The other columns are the values, named by the reader that uses the table
(:mod:`edgefl.radio.trace`, :mod:`edgefl.device_trace`). Every error names the file and
line (1-based, comments included) of the offending row.

Lookup of worker k at time t over its samples (t_0 < ... < t_{n-1}, values v_i):

* ``interpolation="linear"``: straight line between the neighbouring samples;
  ``"previous"``: zero-order hold, the value of the last sample at or before t.
  Both return v_i exactly at t = t_i.
* ``wrap=False``: t outside [t_0, t_{n-1}] is an error naming the first and last rows of
  worker k. ``wrap=True``: the trace repeats with period
  T = t_{n-1} - t_0 + (t_{n-1} - t_{n-2}) (the last sample lasts one more sampling
  interval, so a uniformly sampled trace of n samples spaced dt has T = n dt); t maps to
  t_0 + ((t - t_0) mod T) and between t_{n-1} and t_0 + T the linear rule runs from
  v_{n-1} back to v_0. A single-sample worker is constant (wrapped) or defined at t_0 only.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from edgefl.config_model import StrictModel

Interpolation = Literal["linear", "previous"]


class TraceError(ValueError):
    """A malformed trace file or a lookup outside it."""


class TraceFileConfig(StrictModel):
    """A trace file in a scenario (path relative to the scenario file, or under a catalog root
    such as ``channels/traces/...``); a bare string is the file with the defaults."""

    file: str = Field(min_length=1, description="CSV trace file")
    wrap: bool = Field(False, description="repeat the trace past its end (else a later time is an error)")

    @model_validator(mode="before")
    @classmethod
    def _bare_file(cls, data: Any) -> Any:
        return {"file": data} if isinstance(data, str) else data


@dataclass(frozen=True, eq=False)
class WorkerSeries:
    """Samples of one worker: times (n,), values {column: (n,)}, file line of every sample."""

    times: np.ndarray
    values: dict[str, np.ndarray]
    lines: np.ndarray

    @property
    def period(self) -> float:
        """Wrap-around period T = t_{n-1} - t_0 + (t_{n-1} - t_{n-2}); inf for a single sample."""
        t = self.times
        return math.inf if t.size < 2 else float(t[-1] - t[0] + (t[-1] - t[-2]))


@dataclass(frozen=True, eq=False)
class TraceTable:
    """A parsed trace: one :class:`WorkerSeries` per worker present in the file."""

    path: str
    columns: tuple[str, ...]
    series: dict[int, WorkerSeries]

    def require_workers(self, n_workers: int) -> None:
        """Error unless every worker 0..n_workers-1 has rows."""
        missing = [k for k in range(n_workers) if k not in self.series]
        if missing:
            raise TraceError(
                f"{self.path}: no rows for worker(s) {missing[:10]} of the scenario's {n_workers}; "
                f"the trace has workers {sorted(self.series)[:20]}"
            )

    def worker_series(self, worker: int) -> WorkerSeries:
        s = self.series.get(int(worker))
        if s is None:
            raise TraceError(f"{self.path}: worker {worker} has no rows (workers present: {sorted(self.series)[:20]})")
        return s

    def value(self, column: str, worker: int, t: float, interpolation: Interpolation, wrap: bool) -> float:
        """Value of ``column`` for ``worker`` at time ``t`` (rules in the module docstring)."""
        s = self.worker_series(worker)
        v = s.values[column]
        times = s.times
        t0, t_last = float(times[0]), float(times[-1])
        if wrap and times.size > 1:
            t = t0 + math.fmod(t - t0, s.period)
            if t < t0:
                t += s.period
        elif wrap:
            return float(v[0])
        elif not t0 <= t <= t_last:
            raise TraceError(
                f"{self.path}: time {t:g} s is outside the trace of worker {worker}, which covers "
                f"[{t0:g}, {t_last:g}] s (lines {int(s.lines[0])}-{int(s.lines[-1])}); "
                "set wrap: true to repeat the trace"
            )
        i = int(np.searchsorted(times, t, side="right")) - 1  # last sample at or before t
        if times[i] == t or interpolation == "previous":
            return float(v[i])
        if i + 1 < times.size:
            t_a, t_b, v_a, v_b = times[i], times[i + 1], v[i], v[i + 1]
        else:  # wrapped gap between the last sample and the repeat of the first
            t_a, t_b, v_a, v_b = times[i], t0 + s.period, v[i], v[0]
        return float(v_a + (v_b - v_a) * (t - t_a) / (t_b - t_a))


def read_trace(path: str | Path, value_columns: dict[str, tuple[float, float]],
               required: tuple[str, ...] = ()) -> TraceTable:
    """Parse a trace CSV. ``value_columns`` maps every allowed value column to its [lo, hi] range;
    the header must hold ``time_s``, ``worker``, all of ``required`` and only allowed columns."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise TraceError(f"{p}: cannot read trace ({exc.strerror or exc})") from None
    numbered = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1)
                if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise TraceError(f"{p}: empty trace (need a header 'time_s,worker,...' and rows)")
    header_line, header_text = numbered[0]
    header = [h.strip() for h in next(csv.reader([header_text]))]
    allowed = {"time_s", "worker", *value_columns}
    unknown = [h for h in header if h not in allowed]
    missing = [h for h in ("time_s", "worker", *required) if h not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise TraceError(
            f"{p}:{header_line}: header {header} must have time_s, worker"
            f"{', ' + ', '.join(required) if required else ''} and only columns from {sorted(allowed)}"
            + (f"; unknown {unknown}" if unknown else "") + (f"; missing {missing}" if missing else "")
        )
    cols = [h for h in header if h in value_columns]
    if not cols:
        raise TraceError(f"{p}:{header_line}: no value column; allowed: {sorted(value_columns)}")
    rows: dict[int, list[tuple[float, list[float], int]]] = {}
    for line, raw in numbered[1:]:
        cells = [c.strip() for c in next(csv.reader([raw]))]
        if len(cells) != len(header):
            raise TraceError(f"{p}:{line}: {len(cells)} fields, the header has {len(header)}")
        rec = dict(zip(header, cells))
        try:
            t = float(rec["time_s"])
            w_f = float(rec["worker"])
            vals = [float(rec[c]) for c in cols]
        except ValueError:
            raise TraceError(f"{p}:{line}: non-numeric field in {raw!r}") from None
        if not (math.isfinite(t) and t >= 0):
            raise TraceError(f"{p}:{line}: time_s must be finite and >= 0, got {rec['time_s']}")
        if not (w_f >= 0 and w_f == int(w_f)):
            raise TraceError(f"{p}:{line}: worker must be an integer >= 0, got {rec['worker']}")
        for c, v in zip(cols, vals):
            lo, hi = value_columns[c]
            if not (math.isfinite(v) and lo <= v <= hi):
                raise TraceError(f"{p}:{line}: {c} must be finite in [{lo:g}, {hi:g}], got {rec[c]}")
        w = int(w_f)
        prev = rows.setdefault(w, [])
        if prev and t <= prev[-1][0]:
            raise TraceError(
                f"{p}:{line}: time_s {t:g} of worker {w} is not after its previous sample "
                f"({prev[-1][0]:g} s at line {prev[-1][2]}); times must increase per worker"
            )
        prev.append((t, vals, line))
    if not rows:
        raise TraceError(f"{p}: header but no rows")
    series = {
        w: WorkerSeries(
            times=np.array([r[0] for r in rs]),
            values={c: np.array([r[1][j] for r in rs]) for j, c in enumerate(cols)},
            lines=np.array([r[2] for r in rs]),
        )
        for w, rs in rows.items()
    }
    return TraceTable(path=str(p), columns=tuple(cols), series=series)


def find_trace(file: str, base_dir: Path, kind: str) -> Path:
    """The trace ``file``: absolute, relative to ``base_dir`` (the scenario's folder), or relative to
    a catalog root (so ``channels/traces/x.csv`` finds the shipped example); ``kind`` is the
    catalog folder (``channels`` or ``devices``) whose roots are searched."""
    from edgefl import catalog

    p = Path(file)
    cands = [p] if p.is_absolute() else [base_dir / p, *(d.parent / p for d in catalog.search_path(kind))]
    from edgefl.file_checks import FileArgError, check_input_file

    for c in cands:
        if c.exists():  # a FIFO, device or directory is named, not read (it could block forever)
            try:
                return check_input_file(c, "trace")
            except FileArgError as exc:
                raise TraceError(str(exc)) from None
    raise TraceError(f"trace file {file!r} not found (looked in: {', '.join(str(c.parent) for c in cands)})")
