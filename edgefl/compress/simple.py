"""Baseline schemes: uncompressed 32-bit floats and signSGD.

signSGD (Bernstein et al., 2018; the RD paper's one-bit special case, Section IV)
sends sign(g_k) at 1 bit per parameter; the server averages the signs, scaled by
the mean magnitude the workers report, a standard scaled-sign estimator
(one 32-bit scalar per worker on top of the P sign bits).

Neither scheme charges encode or server time (:meth:`Compressor.encode_flops` and
``server_flops`` stay 0): float32 is what the gradient already is, and the sign (and the
scale's running sum) come out of the gradient pass itself.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from edgefl.compress.base import FLOAT_BITS, CompressionResult, Compressor, RoundContext
from edgefl.config_model import StrictModel


class NoneConfig(StrictModel):
    """No compression: every parameter as a 32-bit float."""

    scheme: Literal["none"] = "none"


class SignSGDConfig(StrictModel):
    """signSGD: one bit per parameter plus one 32-bit scale per worker."""

    scheme: Literal["signsgd"] = "signsgd"
    scaled: bool = True  # send mean |g_k| so the server can undo the sign's shrinkage


class NoCompression(Compressor):
    """32-bit floats: aggregate is the exact mean."""

    name = "none"

    def __init__(self, cfg: NoneConfig | None = None) -> None:
        self.cfg = cfg or NoneConfig()

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        k, p = grads.shape
        bits = np.full(k, float(FLOAT_BITS * p))
        # float32 on the air: the server sees the rounded values
        u = grads.astype(np.float32).astype(np.float64)
        return CompressionResult(upload_bits=bits, decode_bits=np.zeros(k), aggregate=u.mean(axis=0),
                                 reconstructions=u)


class SignSGD(Compressor):
    """sign(g_k) per worker; server estimate (1/K) sum_k s_k sign(g_k) with s_k = mean|g_k|
    (s_k = 1 when ``scaled`` is off, the plain signSGD direction)."""

    name = "signsgd"

    def __init__(self, cfg: SignSGDConfig | None = None) -> None:
        self.cfg = cfg or SignSGDConfig()

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        k, p = grads.shape
        signs = np.where(grads >= 0, 1.0, -1.0)
        if self.cfg.scaled:
            scale = np.abs(grads).mean(axis=1, keepdims=True).astype(np.float32).astype(np.float64)
            extra = FLOAT_BITS
        else:
            scale = np.ones((k, 1))
            extra = 0
        u = signs * scale
        bits = np.full(k, float(p + extra))
        return CompressionResult(upload_bits=bits, decode_bits=np.zeros(k), aggregate=u.mean(axis=0),
                                 reconstructions=u)
