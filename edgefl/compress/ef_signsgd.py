"""EF-signSGD (Karimireddy, Rebjock, Stich & Jaggi, "Error feedback fixes SignSGD and other
gradient compression schemes", ICML 2019, Alg. 1).

Worker w: p = g + e_w, Delta = (||p||_1 / d) sign(p), e_w <- p - Delta (the scaled sign
C(p) of their eq. (3), per layer when the tensor shapes are known: d is then the layer
size). Code: one float32 scale per layer, then one bit per parameter (1: negative;
sign(0) is sent as +).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from edgefl.compress.base import CompressionResult, Compressor, RoundContext, bits_only_result
from edgefl.compress.bitstream import (
    BitReader,
    Bits,
    concat,
    float32_bits,
    layer_slices,
)
from edgefl.compress.feedback import ErrorFeedback
from edgefl.config_model import StrictModel


class EFSignSGDConfig(StrictModel):
    """Scaled sign with error feedback."""

    scheme: Literal["ef-signsgd"] = "ef-signsgd"
    per_layer: bool = Field(True, description="one scale ||p||_1/d per tensor (False: one for the whole vector)")


def scaled_sign(p: np.ndarray, slices: list[tuple[int, int, tuple[int, ...]]]) -> tuple[np.ndarray, np.ndarray]:
    """(float32 scales per slice, +-1 signs): C(p) = scale * sign(p) per slice."""
    scales = np.array([np.abs(p[a:b]).mean() if b > a else 0.0 for a, b, _ in slices], dtype=np.float32)
    return scales.astype(np.float64), np.where(p < 0, -1.0, 1.0)


def encode_signs(scales: np.ndarray, signs: np.ndarray) -> Bits:
    return concat([float32_bits(scales), (signs < 0).astype(np.uint8)])


def decode_signs(bits: Bits, slices: list[tuple[int, int, tuple[int, ...]]], p: int) -> np.ndarray:
    reader = BitReader(bits)
    scales = reader.float32(len(slices))
    signs = np.where(reader.take(p) == 1, -1.0, 1.0)
    if reader.remaining:
        raise ValueError(f"sign code: {reader.remaining} bits left after decoding")
    return signs * np.repeat(scales, [b - a for a, b, _ in slices])


class EFSignSGD(Compressor):
    """EF-signSGD; the server averages the decoded scaled signs."""

    name = "ef-signsgd"
    value_free_bits = True

    def __init__(self, cfg: EFSignSGDConfig | None = None, *, param_shapes: list[tuple[int, ...]] | None = None,
                 **_: object) -> None:
        self.cfg = cfg or EFSignSGDConfig()
        self.param_shapes = param_shapes if self.cfg.per_layer else None
        self.feedback = ErrorFeedback()

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        n, p = grads.shape
        slices = layer_slices(self.param_shapes, p)
        sizes = [b - a for a, b, _ in slices]
        up = np.zeros(n)
        agg = np.zeros(p)
        rec = np.empty((n, p))  # per-worker reconstructions: the server can aggregate a subset
        self.feedback.begin_round()
        for row, w in enumerate(ctx.worker_ids(n).tolist()):
            vec = self.feedback.corrected(w, grads[row])
            scales, signs = scaled_sign(vec, slices)
            if ctx.fidelity == "bit-true":
                bits = encode_signs(scales, signs)
                sent = decode_signs(bits, slices, p)
                up[row] = bits.size
            else:
                sent = signs * np.repeat(scales, sizes)
                up[row] = p + 32 * len(slices)
            self.feedback.update(w, vec, sent)
            agg += sent
            rec[row] = sent
        return CompressionResult(upload_bits=up, decode_bits=np.zeros(n), aggregate=agg / n, reconstructions=rec)

    def bits_only(self, num_workers: int, num_params: int, ctx: RoundContext) -> CompressionResult:
        """As :meth:`compress` counts (analytic and bit-true alike): P sign bits + 32 per scale."""
        b = float(num_params + 32 * len(layer_slices(self.param_shapes, num_params)))
        return bits_only_result(np.full(num_workers, b), np.zeros(num_workers))

    def uploads_dropped(self, rows: np.ndarray) -> None:
        """Dropped uploads applied nothing at the server: their workers keep e_w <- p."""
        self.feedback.dropped(rows)

    def encode_flops(self, num_params: int) -> float:
        # p = g + e, |p| sum, sign-scale, residual: 4 per parameter
        return 4.0 * num_params
