"""What the phases of a round hand to each other: timeline intervals, the local work of phase 2
and the outcome of the uploads and decoding of phases 3-5 (DSC paper Sec. IV-D, Fig. 5).

Plain frozen dataclasses, so :mod:`edgefl.sim.engine`, :mod:`edgefl.sim.air`,
:mod:`edgefl.sim.round_record` and :mod:`edgefl.sim.fast_path` share them without import cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """One interval on the timing diagram (a row of timeline.csv)."""

    round: int
    actor: str  # "server" or "worker<k>"
    phase: str  # broadcast, rate_control, compute, encode, upload, decode, aggregate
    start: float
    end: float
    bits: float = 0.0


@dataclass(frozen=True)
class LocalWork:
    """Phase 2 of a round: per-worker compute and encode seconds and upload-ready times."""

    t_bc: float
    compute_s: np.ndarray
    encode_s: np.ndarray
    ready: np.ndarray  # absolute times
    wait_s: np.ndarray | None = None  # device trace: wait for the availability window after the model


@dataclass(frozen=True)
class AirOutcome:
    """Phases 3-5 of a round, per row: air time (retries included, cut at the deadline), delivery
    by the link, DSC feedback receive time, bits a late upload put on the air before the deadline,
    whether the upload (and its retries) ended by the deadline, and the rows the server
    aggregated (in decoding order)."""

    airtime: np.ndarray
    delivered: np.ndarray
    feedback_s: np.ndarray
    late_bits: np.ndarray
    on_time: np.ndarray
    aggregated: np.ndarray
    #: per row, seconds the server spent on DSC retries (feedback, increment upload, re-decodes); None: no schedule
    retry_s: np.ndarray | None = None
