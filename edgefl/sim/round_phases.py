"""What the phases of a round hand to each other: timeline intervals, the local work of phase 2
and the outcome of the uploads and decoding of phases 3-5 (DSC paper Sec. IV-D, Fig. 5).

Plain frozen dataclasses, so :mod:`edgefl.sim.engine`, :mod:`edgefl.sim.air`,
:mod:`edgefl.sim.round_record` and :mod:`edgefl.sim.fast_path` share them without import cycles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgefl.compress.base import CompressionResult


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
    end: float  # when the round ended (aggregation done)
    #: per row, seconds the server spent on DSC retries (feedback, increment upload, re-decodes); None: no schedule
    retry_s: np.ndarray | None = None


@dataclass(frozen=True)
class AirPlan:
    """What phases 1-2, the allocator and the compression hand to phases 3-5 of round ``round``
    (started at ``t0``), rows = the participants ``sel``: upload ``order``, bandwidth ``share``,
    whether decoding is ``successive`` (needs the earlier uploads as side information), the
    deadline after ``t0`` (None: none), the aggregation time, the multicast rate to the
    participants at t (DSC feedback) and the link's random stream of (row, upload number)."""

    round: int
    t0: float
    sel: np.ndarray
    work: LocalWork
    order: np.ndarray
    res: CompressionResult
    share: np.ndarray
    successive: bool
    deadline_s: float | None
    aggregate_s: float
    downlink_rate: Callable[[float], float]
    link_rng: Callable[[int, int], Any]

    @property
    def deadline(self) -> float | None:
        """The deadline as an absolute time (None: none)."""
        return None if self.deadline_s is None else self.t0 + self.deadline_s
