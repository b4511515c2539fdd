"""Channel traces: replay measured (or ns-3 / Sionna exported) per-worker channels over time.

A channel trace is a CSV in the format of :mod:`edgefl.trace_table` with exactly one value
column:

* ``path_gain_db``: total channel power gain worker <-> server in dB (path loss, shadowing
  and small-scale fading together, so <= 0 dB in practice). The link budget applies it
  both ways (reciprocal channel): SNR_ul = P_worker + G - N_ul(B) and
  SNR_dl = P_server + G - N_dl(B), N(B) = -174 + 10 log10 B + NF dBm
  (:mod:`edgefl.radio.noise`).
* ``snr_db``: the uplink SNR measured over the channel's whole uplink band B_ul. It is
  turned into the gain G = SNR - P_worker + N_ul(B_ul), after which the two rules above
  hold: on a sub-band B the uplink SNR is SNR + 10 log10(B_ul / B) (same power, less noise).

Interpolation (``linear`` in dB, or ``previous``) and wrap-around are explicit; a
worker or a time outside the trace is an error naming the file and its rows.
Example traces ship in ``channels/traces/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from edgefl.trace_table import Interpolation, TraceError, TraceFileConfig, TraceTable, read_trace

#: value columns of a channel trace and their accepted ranges (dB)
CHANNEL_COLUMNS = {"snr_db": (-100.0, 100.0), "path_gain_db": (-300.0, 0.0)}


class ChannelTraceConfig(TraceFileConfig):
    """``channel.trace``: a trace file (path relative to the scenario file, or under the catalog
    root such as ``channels/traces/example_snr.csv``) and how to read it between samples. A bare
    string is the file with the defaults."""

    file: str = Field(min_length=1, description="CSV trace: time_s, worker, snr_db | path_gain_db")
    interpolation: Literal["linear", "previous"] = Field(
        "linear", description="between samples: linear in dB, or hold the previous sample")


class ChannelTrace:
    """Per-worker channel gain over time from a trace file."""

    def __init__(self, table: TraceTable, interpolation: Interpolation = "linear", wrap: bool = False) -> None:
        if len(table.columns) != 1:
            raise TraceError(
                f"{table.path}: a channel trace has exactly one of {sorted(CHANNEL_COLUMNS)}, got {list(table.columns)}"
            )
        if interpolation not in ("linear", "previous"):
            raise TraceError(f"interpolation must be 'linear' or 'previous', got {interpolation!r}")
        self.table = table
        self.kind = table.columns[0]
        self.interpolation: Interpolation = interpolation
        self.wrap = bool(wrap)

    @classmethod
    def read(cls, path: str | Path, n_workers: int, interpolation: Interpolation = "linear",
             wrap: bool = False) -> ChannelTrace:
        """Parse ``path`` and check that workers 0..n_workers-1 all have rows."""
        table = read_trace(path, CHANNEL_COLUMNS)
        table.require_workers(n_workers)
        return cls(table, interpolation, wrap)

    def value_db(self, worker: int, t: float) -> float:
        """The trace column (snr_db or path_gain_db) of ``worker`` at time ``t`` s."""
        return self.table.value(self.kind, worker, t, self.interpolation, self.wrap)

    def gain_db(self, worker: int, t: float, worker_tx_dbm: float, uplink_noise_full_band_dbm: float) -> float:
        """Channel power gain G (dB) of ``worker`` at ``t``.

        ``path_gain_db`` traces: the trace value. ``snr_db`` traces:
        G = SNR - P_worker + N_ul(B_ul), with ``uplink_noise_full_band_dbm`` = N_ul(B_ul).
        """
        v = self.value_db(worker, t)
        if self.kind == "path_gain_db":
            return v
        return v - worker_tx_dbm + uplink_noise_full_band_dbm

    def mean_gain_db(self, worker: int, worker_tx_dbm: float, uplink_noise_full_band_dbm: float) -> float:
        """Mean over the worker's samples of G in dB: the large-scale gain the planner (P1) uses."""
        v = float(np.mean(self.table.worker_series(worker).values[self.kind]))
        return v if self.kind == "path_gain_db" else v - worker_tx_dbm + uplink_noise_full_band_dbm
