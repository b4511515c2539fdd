"""5G NR modulation-and-coding tables of 3GPP TS 38.214, read from ``edgefl/radio/data/``.

* ``mcs1``: Table 5.1.3.1-1, MCS index table 1 (QPSK to 64QAM), I_MCS 0-28;
* ``mcs2``: Table 5.1.3.1-2, MCS index table 2 (QPSK to 256QAM), I_MCS 0-27;
* ``cqi1``: Table 5.2.2.1-2, 4-bit CQI table 1 (QPSK to 64QAM), CQI 1-15;
* ``cqi2``: Table 5.2.2.1-3, 4-bit CQI table 2 (QPSK to 256QAM), CQI 1-15.

PUSCH without transform precoding (the uplink of edgefl's uploads) uses the two MCS
tables of Sec. 5.1.3.1 (38.214 Sec. 6.1.4.1). Reserved rows (retransmission-only MCS
indices, CQI 0 "out of range") are not in the files. Each row holds the modulation
order Q_m, the target code rate R x 1024 and the spectral efficiency Q_m R as printed
in the standard (4 decimals).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np

TableName = Literal["mcs1", "mcs2", "cqi1", "cqi2"]

#: file and TS 38.214 table number of every shipped table
TABLES: dict[str, tuple[str, str]] = {
    "mcs1": ("nr_mcs_table1.csv", "TS 38.214 Table 5.1.3.1-1"),
    "mcs2": ("nr_mcs_table2.csv", "TS 38.214 Table 5.1.3.1-2"),
    "cqi1": ("nr_cqi_table1.csv", "TS 38.214 Table 5.2.2.1-2"),
    "cqi2": ("nr_cqi_table2.csv", "TS 38.214 Table 5.2.2.1-3"),
}

_COLUMNS = ("modulation_order", "target_code_rate_x1024", "spectral_efficiency")


@dataclass(frozen=True, eq=False)
class NRTable:
    """One MCS or CQI table; arrays are indexed by row (row i has ``index[i]``)."""

    name: str
    citation: str
    index: np.ndarray  # I_MCS or CQI index, int
    modulation_order: np.ndarray  # Q_m, bits per symbol
    code_rate: np.ndarray  # R = (R x 1024) / 1024
    spectral_efficiency: np.ndarray  # Q_m R as printed, bit/s/Hz

    def __len__(self) -> int:
        return int(self.index.size)


def parse_table(text: str, name: str, citation: str) -> NRTable:
    """Parse one table file: ``#`` comment lines, a header ``<kind>_index,`` + the three columns."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if not rows or len(rows[0]) != 4 or not rows[0][0].endswith("_index") or tuple(rows[0][1:]) != _COLUMNS:
        raise ValueError(f"{name}: header must be '<kind>_index,{','.join(_COLUMNS)}', got {rows[:1]}")
    try:
        data = np.array([[float(v) for v in r] for r in rows[1:]], dtype=float)
    except ValueError as exc:
        raise ValueError(f"{name}: non-numeric entry ({exc})") from None
    if data.ndim != 2 or data.shape[1] != 4 or data.shape[0] == 0:
        raise ValueError(f"{name}: every row needs 4 numbers, got shape {data.shape}")
    idx = data[:, 0].astype(int)
    if not np.array_equal(idx, np.arange(idx[0], idx[0] + idx.size)):
        raise ValueError(f"{name}: indices must be consecutive, got {idx.tolist()}")
    return NRTable(
        name=name,
        citation=citation,
        index=idx,
        modulation_order=data[:, 1].astype(int),
        code_rate=data[:, 2] / 1024.0,
        spectral_efficiency=data[:, 3],
    )


@cache
def load_table(name: TableName) -> NRTable:
    """The shipped table ``name`` (one of :data:`TABLES`)."""
    if name not in TABLES:
        raise ValueError(f"unknown NR table {name!r}; allowed: {', '.join(TABLES)}")
    fname, citation = TABLES[name]
    text = resources.files("edgefl.radio").joinpath("data", fname).read_text(encoding="utf-8")
    return parse_table(text, name, citation)
