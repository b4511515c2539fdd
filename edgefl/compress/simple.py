"""Baseline schemes: uncompressed 32-bit floats and signSGD.

signSGD (Bernstein et al., 2018; the RD paper's one-bit special case, Section IV)
sends sign(g_k) at 1 bit per parameter; the server averages the signs, scaled by
the mean magnitude the workers report, a standard scaled-sign estimator
(one 32-bit scalar per worker on top of the P sign bits).

Neither scheme charges encode or server time (:meth:`Compressor.encode_flops` and
``server_flops`` stay 0): float32 is what the gradient already is, and the sign (and the
scale's running sum) come out of the gradient pass itself.

Variants a user tries when signSGD lags (issue 14 item 5):

* ``per_layer``: the scale is the mean magnitude of each tensor (one float32 per layer
  and worker), the layer-wise scaled sign of Karimireddy et al. (ICML 2019, Sec. 6);
* ``majority_vote`` (Bernstein et al., ICLR 2019, "signSGD with majority vote", Alg. 1):
  the server broadcasts sign(sum_k sign(g_k)) (ties sent as +) at 1 bit per parameter,
  times the mean of the workers' scales when ``scaled`` (one float32 per layer), instead
  of the model; ``downlink_bits`` carries that broadcast.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from edgefl.compress.base import FLOAT_BITS, CompressionResult, Compressor, RoundContext, bits_only_result
from edgefl.compress.bitstream import layer_slices
from edgefl.config_model import StrictModel


class NoneConfig(StrictModel):
    """No compression: every parameter as a 32-bit float."""

    scheme: Literal["none"] = "none"


class SignSGDConfig(StrictModel):
    """signSGD: one bit per parameter plus one 32-bit scale per worker."""

    scheme: Literal["signsgd"] = "signsgd"
    scaled: bool = True  # send mean |g_k| so the server can undo the sign's shrinkage
    per_layer: bool = False  # one scale per tensor instead of one per worker
    majority_vote: bool = False  # server broadcasts the sign of the vote (1 bit/param) instead of the model


class NoCompression(Compressor):
    """32-bit floats: aggregate is the exact mean."""

    name = "none"
    value_free_bits = True

    def __init__(self, cfg: NoneConfig | None = None) -> None:
        self.cfg = cfg or NoneConfig()

    def bits_only(self, num_workers: int, num_params: int, ctx: RoundContext) -> CompressionResult:
        """32 P bits per worker."""
        return bits_only_result(np.full(num_workers, float(FLOAT_BITS * num_params)), np.zeros(num_workers))

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
    value_free_bits = True

    def __init__(self, cfg: SignSGDConfig | None = None, *, param_shapes: list[tuple[int, ...]] | None = None,
                 **_: object) -> None:
        self.cfg = cfg or SignSGDConfig()
        self.param_shapes = param_shapes if self.cfg.per_layer else None

    def _bits_per_worker(self, p: int) -> float:
        """P sign bits plus one float32 scale per layer when ``scaled``."""
        return float(p + (FLOAT_BITS * len(layer_slices(self.param_shapes, p)) if self.cfg.scaled else 0))

    def bits_only(self, num_workers: int, num_params: int, ctx: RoundContext) -> CompressionResult:
        """As :meth:`compress` counts: P + 32 x layers per worker; the vote's broadcast the same."""
        b = self._bits_per_worker(num_params)
        return bits_only_result(np.full(num_workers, b), np.zeros(num_workers),
                                downlink_bits=b if self.cfg.majority_vote else None)

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        k, p = grads.shape
        signs = np.where(grads >= 0, 1.0, -1.0)
        sizes = [b - a for a, b, _ in layer_slices(self.param_shapes, p)]
        if self.cfg.scaled:
            if len(sizes) == 1:  # one scale per worker: a (K, 1) column, broadcast (no K x P copy)
                scale = np.abs(grads).mean(axis=1, keepdims=True).astype(np.float32).astype(np.float64)
            else:
                layer_mean = np.add.reduceat(np.abs(grads), np.cumsum([0] + sizes)[:-1], axis=1) / np.asarray(sizes)
                scale = np.repeat(layer_mean.astype(np.float32).astype(np.float64), sizes, axis=1)
            extra = FLOAT_BITS * len(sizes)
        else:
            scale = np.ones((k, 1))
            extra = 0
        bits = np.full(k, float(p + extra))
        if self.cfg.majority_vote:
            def vote_of(rows: np.ndarray) -> np.ndarray:
                vote = np.where(signs[rows].sum(axis=0) >= 0, 1.0, -1.0)
                return vote * np.broadcast_to(scale, signs.shape)[rows].mean(axis=0).astype(np.float32).astype(
                    np.float64)

            vote = np.where(signs.sum(axis=0) >= 0, 1.0, -1.0)
            mean_scale = np.broadcast_to(scale, signs.shape).mean(axis=0).astype(np.float32).astype(np.float64)
            return CompressionResult(upload_bits=bits, decode_bits=np.zeros(k), aggregate=vote * mean_scale,
                                     downlink_bits=float(p + extra), combine=vote_of)
        u = signs
        u *= scale  # in place: the signs are not needed any more
        return CompressionResult(upload_bits=bits, decode_bits=np.zeros(k), aggregate=u.mean(axis=0),
                                 reconstructions=u)
