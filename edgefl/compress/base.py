"""The interface every gradient compression scheme implements.

The simulator hands a scheme the local gradients of one round, stacked as a (K, P)
array, together with the upload order; the scheme returns what goes on the air
(bits per worker), what the server's decoder has to chew through (coded bits per
worker, zero when nothing is decoded) and the server's reconstruction of the mean
gradient. Timing is *not* the scheme's business: the SimPy engine turns bits into
time with the radio and device models, and operation counts (:meth:`Compressor.encode_flops`,
:meth:`Compressor.server_flops`) into time with the device FLOP rates.

Adding a scheme: one file with its config (pydantic, ``scheme`` literal tag) and its
:class:`Compressor`, plus one line in :data:`edgefl.compress.registry.SCHEMES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

#: bits of one float32 on the air (model broadcast, uncoded gradients, side scalars)
FLOAT_BITS = 32


@dataclass(frozen=True)
class RoundContext:
    """What a scheme may know about the round it compresses.

    ``workers`` are the real worker indices of the rows of ``grads`` (today all K workers,
    ``arange(K)``; with partial participation a subset): schemes with per-worker state key
    it by these ids, not by row number. ``fidelity`` is ``"analytic"`` or ``"bit-true"``.
    ``allocation`` is the rate allocator's decision (:class:`edgefl.sim.allocation.Allocation`:
    alpha, order, and for a target distortion the per-worker rates ``rates_bits`` in bits per
    parameter and test-channel precisions ``z``), and ``sigma_x2`` / ``sigma_n2`` the
    server's current gradient statistics, when known.
    """

    round: int
    rng: np.random.Generator
    workers: np.ndarray | None = None  # the engine always sets it; None (unit tests) = arange(K)
    fidelity: str = "analytic"
    allocation: Any = None
    sigma_x2: float | None = None
    sigma_n2: float | None = None

    def worker_ids(self, num_rows: int) -> np.ndarray:
        """Real worker index of each of the ``num_rows`` rows of ``grads``."""
        return np.arange(num_rows) if self.workers is None else np.asarray(self.workers)


class DecodeStep(NamedTuple):
    """One piece of the server's work on a worker's upload, in decoding order.

    ``kind="decode"``: a BP decoding of ``bits`` coded bits in ``count`` frame-passes taking
    ``iterations`` BP iterations in all (-1: not simulated). ``kind="retry"``: the decoder asks
    ``count`` frames for more syndrome bits (a downlink feedback message) and the worker uploads
    ``bits`` more (DSC paper Sec. IV-B rate-adaptive requests).
    """

    kind: str
    bits: float
    count: int
    iterations: int


@dataclass
class CompressionResult:
    """Outcome of compressing one round.

    Arrays are indexed by worker (not by upload order).
    """

    upload_bits: np.ndarray  # (K,) bits each worker puts on the air this round
    decode_bits: np.ndarray  # (K,) coded bits the server decoder processes (0: no decoding)
    aggregate: np.ndarray  # (P,) server's estimate of the mean local gradient
    decode_failures: int = 0  # detected decoding failures (syndrome not satisfied)
    undetected_errors: int = 0  # decoded "successfully" but differs from the truth
    retries: int = 0  # rate-adaptive retransmissions requested
    #: bits the server broadcasts after aggregating this round (the next round's model
    #: broadcast); None = the uncompressed model, FLOAT_BITS per parameter
    downlink_bits: float | None = None
    #: per worker, the decoder's work and feedback requests in order (None: one decoding of
    #: ``decode_bits`` after the upload, no feedback); retry bits are part of ``upload_bits``
    decode_schedule: list[list[DecodeStep]] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    #: (K, P) what the server reconstructs of each worker's gradient, and (K,) the unnormalised
    #: weights c_k of its combination, aggregate = sum_k c_k u_k / sum_k c_k (None = equal
    #: weights); lets the server aggregate a subset of the uploads (round deadline,
    #: :meth:`aggregate_of`). None: the scheme cannot drop uploads.
    reconstructions: np.ndarray | None = None
    weights: np.ndarray | None = None
    #: the scheme's aggregate of a subset of rows when it is not a weighted mean (e.g. majority vote)
    combine: Callable[[np.ndarray], np.ndarray] | None = None

    def aggregate_of(self, rows: np.ndarray) -> np.ndarray:
        """The aggregate the server forms from the uploads of ``rows`` alone: the scheme's own
        combination rule restricted to them, sum_{k in rows} c_k u_k / sum_{k in rows} c_k (the
        unbiased linear estimators of RD paper eq. 29 / DSC paper eq. 37 renormalised over the
        workers heard). All rows: ``aggregate`` itself. No row (or zero total weight): zero,
        the server has nothing to add."""
        rows = np.asarray(rows, dtype=np.int64)
        k = np.asarray(self.upload_bits).shape[0]
        if rows.size == k and np.array_equal(np.sort(rows), np.arange(k)):
            return self.aggregate
        if rows.size and self.combine is not None:
            return self.combine(rows)
        if self.reconstructions is None:
            raise ValueError("this compression scheme gives no per-worker reconstructions "
                             "(CompressionResult.reconstructions), so it cannot aggregate a subset of the uploads")
        u = np.asarray(self.reconstructions, dtype=np.float64)[rows]
        c = np.ones(rows.size) if self.weights is None else np.asarray(self.weights, dtype=np.float64)[rows]
        if rows.size == 0 or not c.sum() > 0:
            return np.zeros(np.asarray(self.aggregate).shape)
        return (c[:, None] * u).sum(axis=0) / c.sum()


class Compressor(ABC):
    """A gradient compression scheme. Subclasses may keep state across rounds."""

    name: str = "abstract"
    #: decodes workers one after another with earlier ones as side information, so the
    #: upload/decoding order matters (P1's Lemma 1 order is then imposed)
    successive: bool = False
    #: the server can aggregate a subset of the uploads (CompressionResult.aggregate_of), so a
    #: round deadline or a link that gives up on uploads can drop some; False for schemes whose
    #: server state needs every worker's upload (IADE's reference vectors, PowerSGD's Q)
    can_drop_uploads: bool = True
    #: the bit counts of a round do not depend on the gradient values, so :meth:`bits_only` gives
    #: them without any gradient (timing-only runs, ``output.timing_only``, draw none)
    value_free_bits: bool = False
    #: :meth:`bits_only` needs the gradient statistics (rate allocation from sigma_X^2, sigma_N^2):
    #: value-free only when the source knows them exactly (GradientSource.statistics)
    bits_need_statistics: bool = False

    @abstractmethod
    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        """Compress the (K, P) local gradients uploaded in ``order`` (row indices of ``grads``)."""

    def bits_only(self, num_workers: int, num_params: int, ctx: RoundContext) -> CompressionResult:
        """The round's bits (upload, decode, downlink) as :meth:`compress` counts them, computed
        without gradients; no aggregate (length 0). Only for ``value_free_bits`` schemes."""
        raise NotImplementedError(f"compression scheme {self.name!r}: bit counts depend on the gradient values")

    def uploads_dropped(self, rows: np.ndarray) -> None:
        """The server aggregated only ``rows`` of the last :meth:`compress` call (a round deadline
        cut the others, :mod:`edgefl.sim.participation`): a scheme that updates state from the
        decoded uploads (e.g. a statistics estimate) redoes that update from these rows. Not
        called when every upload arrived."""

    def encode_flops(self, num_params: int) -> float:
        """Operations one worker spends encoding its gradient of ``num_params`` parameters in the
        coming round (DSC paper Fig. 5 "encode"); 0 for schemes whose encoding is free."""
        return 0.0

    def server_flops(self, num_workers: int, num_params: int) -> float:
        """Operations the server spends before the workers can encode in the coming round:
        statistics estimation and rate control (DSC paper Fig. 5, Algorithm 1 lines 4-6)."""
        return 0.0


def bits_only_result(upload_bits: np.ndarray, decode_bits: np.ndarray, downlink_bits: float | None = None
                     ) -> CompressionResult:
    """A :class:`CompressionResult` of bit counts alone: empty aggregate and reconstructions, so
    that aggregating any subset of the uploads works (timing-only runs)."""
    k = np.asarray(upload_bits).shape[0]
    return CompressionResult(upload_bits=np.asarray(upload_bits, dtype=float),
                             decode_bits=np.asarray(decode_bits, dtype=float), aggregate=np.zeros(0),
                             downlink_bits=downlink_bits, reconstructions=np.zeros((k, 0)))
