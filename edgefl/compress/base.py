"""The interface every gradient compression scheme implements.

The simulator hands a scheme the local gradients of one round, stacked as a (K, P)
array, together with the upload order; the scheme returns what goes on the air
(bits per worker), what the server's decoder has to chew through (coded bits per
worker, zero when nothing is decoded) and the server's reconstruction of the mean
gradient. Timing is *not* the scheme's business: the SimPy engine turns bits into
time with the radio and device models.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: bits of one float32 on the air (model broadcast, uncoded gradients, side scalars)
FLOAT_BITS = 32


@dataclass(frozen=True)
class RoundContext:
    """What a scheme may know about the round it compresses.

    ``rates_bits`` are the per-worker target rates (bits per parameter) chosen by
    the rate allocator, or ``None`` when the allocator leaves rates to the scheme.
    ``fidelity`` is ``"analytic"`` or ``"bit-true"``. ``allocation`` is the rate
    allocator's decision (:class:`edgefl.sim.allocation.Allocation`) and
    ``sigma_x2`` / ``sigma_n2`` the server's current gradient statistics, when known.
    """

    round: int
    rng: np.random.Generator
    fidelity: str = "analytic"
    rates_bits: np.ndarray | None = None
    allocation: Any = None
    sigma_x2: float | None = None
    sigma_n2: float | None = None
    #: real worker ids of the rows of ``grads`` (None: rows are workers 0..K-1); per-worker
    #: state (error-feedback memories, PowerSGD's Q) is keyed by these ids
    workers: np.ndarray | None = None


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
    #: bits the server broadcasts after aggregating this round (double-encoded schemes, majority
    #: vote); None = the uncompressed model at FLOAT_BITS per parameter
    downlink_bits: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Compressor(ABC):
    """A gradient compression scheme. Subclasses may keep state across rounds."""

    name: str = "abstract"
    #: decodes workers one after another with earlier ones as side information, so the
    #: upload/decoding order matters (P1's Lemma 1 order is then imposed)
    successive: bool = False

    @abstractmethod
    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        """Compress the (K, P) local gradients uploaded in ``order`` (worker indices)."""

    def encode_flops(self, num_params: int) -> float:
        """Floating point operations one worker spends encoding its gradient per round."""
        return 0.0

    def server_flops(self, num_workers: int, num_params: int) -> float:
        """Floating point operations the server spends per round beyond aggregation."""
        return 0.0


def worker_ids(ctx: RoundContext, k: int) -> np.ndarray:
    """The real worker ids of the K rows of a round's gradients (0..K-1 when not given)."""
    return np.arange(k) if ctx.workers is None else np.asarray(ctx.workers, dtype=int)
