"""Per-worker time series read from a CSV trace, with explicit interpolation and wrap-around.

File format (shared by channel and device traces): UTF-8 CSV (a leading byte-order mark is
allowed), lines starting with ``#``
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

import codecs
import csv
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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
    """A parsed trace held as flat arrays sorted by (worker, file order): ``times`` (n,),
    ``values`` {column: (n,)}, ``lines`` (n,) and, per worker present, the slice
    ``starts[i]:starts[i+1]`` of worker ``workers[i]``. :attr:`series` hands out
    :class:`WorkerSeries` views of those slices, built when asked for (no per-row objects)."""

    path: str
    columns: tuple[str, ...]
    times: np.ndarray
    values: dict[str, np.ndarray]
    lines: np.ndarray
    workers: np.ndarray  # (m,) sorted worker ids present
    starts: np.ndarray  # (m + 1,) offsets into the sorted arrays
    _views: dict[int, WorkerSeries] = field(default_factory=dict, repr=False)  # series handed out so far

    @property
    def series(self) -> WorkerSeriesMap:
        return WorkerSeriesMap(self)

    def require_workers(self, n_workers: int) -> None:
        """Error unless every worker 0..n_workers-1 has rows."""
        present = self.workers[self.workers < n_workers]
        if present.size < n_workers:
            missing = np.setdiff1d(np.arange(min(n_workers, present.size + 10)), present)[:10].tolist()
            raise TraceError(
                f"{self.path}: no rows for worker(s) {missing} of the scenario's {n_workers}; "
                f"the trace has workers {self.workers[:20].tolist()}"
            )

    def worker_series(self, worker: int) -> WorkerSeries:
        s = self.series.get(int(worker))
        if s is None:
            present = self.workers[:20].tolist()
            raise TraceError(f"{self.path}: worker {worker} has no rows (workers present: {present})")
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


class WorkerSeriesMap(Mapping[int, WorkerSeries]):
    """worker id -> :class:`WorkerSeries` (array views) of a :class:`TraceTable`, in id order."""

    def __init__(self, table: TraceTable) -> None:
        self._t = table

    def _index(self, worker: int) -> int | None:
        ids = self._t.workers
        i = int(np.searchsorted(ids, worker))
        return i if i < ids.size and ids[i] == worker else None

    def __getitem__(self, worker: int) -> WorkerSeries:
        t = self._t
        s = t._views.get(int(worker))
        if s is not None:
            return s
        i = self._index(int(worker))
        if i is None:
            raise KeyError(worker)
        sl = slice(int(t.starts[i]), int(t.starts[i + 1]))
        s = t._views[int(worker)] = WorkerSeries(t.times[sl], {c: v[sl] for c, v in t.values.items()}, t.lines[sl])
        return s

    def __contains__(self, worker: object) -> bool:
        return isinstance(worker, (int, np.integer)) and self._index(int(worker)) is not None

    def __iter__(self) -> Iterator[int]:
        return (int(w) for w in self._t.workers)

    def __len__(self) -> int:
        return int(self._t.workers.size)


#: text parsed at a time: a chunk's strings are the reader's working memory besides the arrays
CHUNK_BYTES = 4 << 20
MAX_WORKER = 2**31 - 1
SHOWN_CHARS = 80  # of an offending line quoted in an error


def read_trace(path: str | Path, value_columns: dict[str, tuple[float, float]],
               required: tuple[str, ...] = ()) -> TraceTable:
    """Parse a trace CSV. ``value_columns`` maps every allowed value column to its [lo, hi] range;
    the header must hold ``time_s``, ``worker``, all of ``required`` and only allowed columns.

    The file is read in chunks of about :data:`CHUNK_BYTES` into float64 arrays (numpy's CSV
    parser; a chunk it rejects is parsed line by line to name the offending line), so memory is
    about 3 x rows x (columns + 1) x 8 bytes plus one chunk, whatever the file's size."""
    p = Path(path)
    try:
        fh = open(p, "rb")  # noqa: SIM115 - closed below; the chunks are read lazily
    except OSError as exc:
        raise TraceError(f"{p}: cannot read trace ({exc.strerror or exc})") from None
    header: list[str] | None = None
    order: list[int] = []
    blocks: list[list[np.ndarray]] = []  # per chunk: line numbers, then time_s, worker, value columns
    with fh:
        for first, pieces in _chunks(fh, p):
            nos, texts = [], []
            for i, ln in enumerate(pieces):
                s = ln.strip()
                if s and not s.startswith("#"):
                    nos.append(first + i)
                    texts.append(ln)
            del pieces
            if header is None and texts:
                header = _header(p, nos[0], texts[0], value_columns, required)
                order = [header.index("time_s"), header.index("worker"),
                         *(header.index(h) for h in header if h in value_columns)]
                nos, texts = nos[1:], texts[1:]
            if texts:
                arr = _parse_block(p, texts, nos, header)
                blocks.append([np.asarray(nos, dtype=np.int64), *(arr[:, j].copy() for j in order)])
    if header is None:
        raise TraceError(f"{p}: empty trace (need a header 'time_s,worker,...' and rows)")
    if not blocks:
        raise TraceError(f"{p}: header but no rows")
    columns = []
    for j in range(len(order) + 1):  # one column at a time, freeing the chunks' pieces as it goes
        columns.append(np.concatenate([b[j] for b in blocks]))
        for b in blocks:
            b[j] = None
    del blocks
    lines = columns.pop(0)
    return _table(p, [h for h in header if h in value_columns], value_columns, columns, lines)


def _chunks(fh: Any, p: Path) -> Iterator[tuple[int, list[str]]]:
    """(file line number of the first, decoded lines) per chunk; a UTF-8 BOM is dropped and a
    byte that is not UTF-8 is an error naming its line."""
    lineno, start = 1, True
    while True:
        raw = fh.readlines(CHUNK_BYTES)
        if not raw:
            return
        blob = b"".join(raw)
        del raw
        if start and blob.startswith(codecs.BOM_UTF8):
            blob = blob[len(codecs.BOM_UTF8):]
        start = False
        try:
            text = blob.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = lineno + blob.count(b"\n", 0, exc.start)
            raise TraceError(f"{p}:{bad}: byte {blob[exc.start]:#04x} is not UTF-8 text; save the trace as "
                             "UTF-8") from None
        pieces = text.splitlines()
        yield lineno, pieces
        lineno += len(pieces)


def _header(p: Path, line: int, text: str, value_columns: dict[str, tuple[float, float]],
            required: tuple[str, ...]) -> list[str]:
    try:
        header = [h.strip() for h in next(csv.reader([text]))]
    except csv.Error as exc:
        raise TraceError(f"{p}:{line}: header is not CSV ({exc})") from None
    allowed = {"time_s", "worker", *value_columns}
    unknown = [h for h in header if h not in allowed]
    missing = [h for h in ("time_s", "worker", *required) if h not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise TraceError(
            f"{p}:{line}: header {_short(header)} must have time_s, worker"
            f"{', ' + ', '.join(required) if required else ''} and only columns from {sorted(allowed)}"
            + (f"; unknown {_short(unknown)}" if unknown else "") + (f"; missing {missing}" if missing else "")
        )
    if not any(h in value_columns for h in header):
        raise TraceError(f"{p}:{line}: no value column; allowed: {sorted(value_columns)}")
    return header


def _short(x: Any) -> str:
    r = repr(x)
    return r if len(r) <= SHOWN_CHARS else r[:SHOWN_CHARS] + "...'"


def _parse_block(p: Path, texts: list[str], nos: list[int], header: list[str]) -> np.ndarray:
    """(rows, len(header)) float64 of one chunk: numpy's parser, else line by line (which names the line)."""
    try:
        arr = np.loadtxt(texts, delimiter=",", dtype=np.float64, ndmin=2, comments=None, quotechar='"')
        if arr.shape == (len(texts), len(header)):
            return arr
    except ValueError:
        pass
    out = np.empty((len(texts), len(header)))
    for row, (line, raw) in enumerate(zip(nos, texts)):
        try:
            cells = [c.strip() for c in next(csv.reader([raw]))]
        except csv.Error as exc:
            raise TraceError(f"{p}:{line}: not a CSV row ({exc}): {_short(raw)}") from None
        if len(cells) != len(header):
            raise TraceError(f"{p}:{line}: {len(cells)} fields, the header has {len(header)}")
        for j, (name, cell) in enumerate(zip(header, cells)):
            try:
                out[row, j] = float(cell)
            except ValueError:
                raise TraceError(f"{p}:{line}: non-numeric field {name} = {_short(cell)}") from None
    return out


def _table(p: Path, cols: list[str], value_columns: dict[str, tuple[float, float]], data: list[np.ndarray],
           lines: np.ndarray) -> TraceTable:
    """Check every row (the first bad one in file order is named) and group the rows by worker;
    ``data`` holds the columns time_s, worker, then ``cols`` (emptied as the sorted copies are made)."""
    t, w = data[0], data[1]
    with np.errstate(invalid="ignore"):
        checks = [(~(np.isfinite(t) & (t >= 0)), "time_s must be finite and >= 0", 0),
                  (~(np.isfinite(w) & (w >= 0) & (w <= MAX_WORKER) & (w == np.floor(w))),
                   f"worker must be an integer in 0..{MAX_WORKER}", 1)]
        for j, c in enumerate(cols, start=2):
            lo, hi = value_columns[c]
            v = data[j]
            checks.append((~(np.isfinite(v) & (v >= lo) & (v <= hi)), f"{c} must be finite in [{lo:g}, {hi:g}]", j))
    first = min((int(np.argmax(bad)) for bad, _, _ in checks if bad.any()), default=None)
    if first is not None:
        _, what, j = next(c for c in checks if c[0][first])
        raise TraceError(f"{p}:{int(lines[first])}: {what}, got {data[j][first]:g}")
    del checks
    order = np.argsort(w, kind="stable")  # per worker, file order
    ws = w[order].astype(np.int64)
    ts = t[order]
    data[0] = data[1] = t = w = None  # type: ignore[call-overload]
    same = ws[1:] == ws[:-1]
    back = np.flatnonzero(same & (ts[1:] <= ts[:-1]))
    if back.size:
        j = int(back[np.argmin(lines[order[back + 1]])])
        raise TraceError(
            f"{p}:{int(lines[order[j + 1]])}: time_s {ts[j + 1]:g} of worker {int(ws[j + 1])} is not after its "
            f"previous sample ({ts[j]:g} s at line {int(lines[order[j]])}); times must increase per worker"
        )
    starts = np.concatenate([[0], np.flatnonzero(~same) + 1, [ws.size]]).astype(np.int64)
    del same
    values = {}
    for j, c in enumerate(cols, start=2):
        values[c] = data[j][order]
        data[j] = None  # type: ignore[call-overload]
    return TraceTable(path=str(p), columns=tuple(cols), times=ts, values=values, lines=lines[order],
                      workers=ws[starts[:-1]], starts=starts)


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
