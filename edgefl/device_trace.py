"""Device traces: replay per-worker compute speed and availability windows (FedScale-style).

A device trace is a CSV in the format of :mod:`edgefl.trace_table` with the columns

* ``speed_factor`` (> 0): multiplies the worker's device-profile FLOP/s from this sample on
  (1 = the profile; 0.5 = half as fast, e.g. throttled or busy with other apps);
* ``available`` (0 or 1): whether the worker can take part from this sample on.

At least one of the two is required; a missing column means 1. Both are piecewise
constant (zero-order hold: a row holds until the worker's next row), the way client
behaviour traces record state changes (Lai et al., "FedScale: Benchmarking model and
system performance of federated learning at scale", ICML 2022, client availability and
compute traces). Wrap-around is explicit (period rule of :mod:`edgefl.trace_table`);
without it, a time outside a worker's rows is an error naming them. Example traces ship
in ``devices/traces/``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import Field

from edgefl.trace_table import TraceError, TraceFileConfig, TraceTable, read_trace

DEVICE_COLUMNS = {"speed_factor": (1e-9, 1e9), "available": (0.0, 1.0)}


class DeviceTraceConfig(TraceFileConfig):
    """``workers.trace``: a device trace file (next to the scenario or under a catalog root, e.g.
    ``devices/traces/example_availability.csv``); a bare string is the file, no wrap."""

    file: str = Field(min_length=1, description="CSV trace: time_s, worker, speed_factor and/or available")


class DeviceTrace:
    """Compute-speed factor and availability of every worker over time."""

    def __init__(self, table: TraceTable, wrap: bool = False) -> None:
        col = table.columns
        if "available" in col:
            a = table.values["available"]
            bad = np.flatnonzero((a != 0) & (a != 1))
            if bad.size:
                i = int(bad[np.argmin(table.lines[bad])])  # the first in file order
                raise TraceError(f"{table.path}:{int(table.lines[i])}: available must be 0 or 1, got {a[i]:g}")
        self.table = table
        self.wrap = bool(wrap)

    @classmethod
    def read(cls, path: str | Path, n_workers: int, wrap: bool = False) -> DeviceTrace:
        """Parse ``path`` and check that workers 0..n_workers-1 all have rows."""
        table = read_trace(path, DEVICE_COLUMNS)
        table.require_workers(n_workers)
        return cls(table, wrap)

    def _value(self, column: str, worker: int, t: float) -> float:
        if column not in self.table.columns:
            self.table.worker_series(worker)  # still an error for an unknown worker
            return 1.0
        return self.table.value(column, worker, t, "previous", self.wrap)

    def speed_factor(self, worker: int, t: float) -> float:
        """Multiplier of the worker's profile FLOP/s at time ``t``."""
        return self._value("speed_factor", worker, t)

    def available(self, worker: int, t: float) -> bool:
        """Whether ``worker`` is available at time ``t``."""
        return self._value("available", worker, t) == 1.0

    def next_available(self, worker: int, t: float) -> float:
        """Earliest time >= t at which ``worker`` is available (inf if never again)."""
        if self.available(worker, t):
            return t
        if "available" not in self.table.columns:
            return t
        s = self.table.series[int(worker)]
        on = s.times[s.values["available"] == 1.0]
        if on.size == 0:
            return math.inf
        if not self.wrap:
            later = on[on > t]
            return float(later[0]) if later.size else math.inf
        t0, period = float(s.times[0]), s.period
        cycles = math.floor((t - t0) / period) if math.isfinite(period) else 0
        for c in (cycles, cycles + 1):
            cand = on + c * period
            later = cand[cand > t]
            if later.size:
                return float(later[0])
        return math.inf

    def round_state(self, t: float, n_workers: int) -> tuple[np.ndarray, np.ndarray]:
        """(speed factors, seconds each worker waits for its availability window) for local work
        that could start at ``t``: a worker unavailable at t starts when its next window opens
        (inf if never); its speed is the trace's at that start."""
        start = np.array([self.next_available(k, t) for k in range(n_workers)])
        if np.any(np.isinf(start)):
            k = int(np.flatnonzero(np.isinf(start))[0])
            raise TraceError(f"{self.table.path}: worker {k} is never available again after t = {t:g} s")
        speed = np.array([self.speed_factor(k, float(s)) for k, s in enumerate(start)])
        return speed, start - t
