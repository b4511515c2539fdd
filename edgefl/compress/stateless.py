"""Schemes that code each worker's gradient on its own, without memory (QSGD, TernGrad): the
server averages the decoded vectors. Bit-true fidelity writes and decodes every string;
analytic fidelity draws the same random numbers and counts the same bits without building it."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from edgefl.compress.base import CompressionResult, Compressor, RoundContext
from edgefl.compress.bitstream import Bits


class StatelessCoder(Compressor):
    """compress = mean over workers of decode(encode(g_k))."""

    @abstractmethod
    def encode(self, g: np.ndarray, rng: np.random.Generator) -> Bits:
        """One worker's bit string."""

    @abstractmethod
    def decode(self, bits: Bits, p: int) -> np.ndarray:
        """The server's reconstruction of one worker's gradient."""

    @abstractmethod
    def reconstruct(self, g: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """(decode(encode(g)), len(encode(g))) without building the string."""

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        k, p = grads.shape
        up = np.zeros(k)
        agg = np.zeros(p)
        rec = np.empty((k, p))  # per-worker reconstructions: the server can aggregate a subset
        for row in range(k):
            if ctx.fidelity == "bit-true":
                bits = self.encode(grads[row], ctx.rng)
                rec[row] = self.decode(bits, p)
                up[row] = bits.size
            else:
                rec[row], up[row] = self.reconstruct(grads[row], ctx.rng)
            agg += rec[row]
        return CompressionResult(upload_bits=up, decode_bits=np.zeros(k), aggregate=agg / k, reconstructions=rec)
