"""PowerSGD (Vogels, Karimireddy & Jaggi, "PowerSGD: Practical low-rank gradient compression
for distributed optimization", NeurIPS 2019, Alg. 1 with error feedback, Alg. 2 warm start).

Per weight matrix (a tensor of shape (n, ...) viewed as n x m), worker w:
M_w = G_w + e_w; P_w = M_w Q; the server averages P = mean_w P_w, orthogonalises it
(reduced QR, P_hat) and broadcasts P_hat; Q_w = M_w^T P_hat; the server averages
Q = mean_w Q_w; every worker reconstructs P_hat Q^T and keeps e_w = M_w - P_hat Q^T.
Q is kept for the next round (warm start, Sec. 3 "reuse of the previous Q"), its columns
scaled to unit norm (the span is what matters; the scale would square on the wire). Q is the
all-reduced matrix every worker receives, so it is one shared copy rather than one per
worker; the error memories e_w are per worker id.

Tensors with one dimension (biases) and matrices where r (n + m) >= n m are sent
uncompressed (the paper's implementation does the same). ``flat_as_matrix`` views a
source that is one flat vector of P values (the synthetic sources) as an a x P/a matrix,
a the largest divisor of P not above sqrt(P).

Bits: each worker sends P_w and Q_w as float32 (32 r (n + m) per matrix) and its
uncompressed tensors (32 per value); the server broadcasts P_hat (32 r n per matrix) in
the middle of the round and the model at its end, counted in ``downlink_bits``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from edgefl.compress.base import FLOAT_BITS, CompressionResult, Compressor, RoundContext
from edgefl.compress.bitstream import bits_float32, concat, float32_bits, layer_slices
from edgefl.compress.feedback import ErrorFeedback
from edgefl.config_model import StrictModel


class PowerSGDConfig(StrictModel):
    """Rank-r PowerSGD with error feedback and warm start."""

    scheme: Literal["powersgd"] = "powersgd"
    rank: int = Field(2, ge=1, description="rank r per weight matrix (>= 1)")
    flat_as_matrix: bool = Field(False, description="view a single flat gradient vector as a matrix")
    seed: int = Field(0, ge=0, description="seed of the initial Q")


def _as_matrix(shape: tuple[int, ...], flat: bool) -> tuple[int, int] | None:
    if len(shape) >= 2:
        return shape[0], int(np.prod(shape[1:]))
    if flat and len(shape) == 1:
        p = shape[0]
        a = max(d for d in range(1, int(np.sqrt(p)) + 1) if p % d == 0)
        return a, p // a
    return None


def orthogonalize(p: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning P (reduced Householder QR; the paper uses Gram-Schmidt)."""
    q, _ = np.linalg.qr(p)
    return q


def _f32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32).astype(np.float64)


class PowerSGD(Compressor):
    """Rank-r power iteration per matrix with error feedback (module docstring)."""

    can_drop_uploads = False  # the server state needs every worker's upload

    name = "powersgd"

    def __init__(self, cfg: PowerSGDConfig | None = None, *, param_shapes: list[tuple[int, ...]] | None = None,
                 num_params: int | None = None, **_: object) -> None:
        self.cfg = cfg or PowerSGDConfig()
        self.param_shapes = param_shapes
        self.feedback = ErrorFeedback()
        self._q: dict[int, np.ndarray] = {}
        self._rng = np.random.default_rng(self.cfg.seed)
        self._plan: list | None = None
        if num_params is not None:
            self._plan = self._make_plan(num_params)

    def _make_plan(self, p: int) -> list[tuple[int, int, tuple[int, int] | None]]:
        plan = []
        for a, b, shape in layer_slices(self.param_shapes, p):
            nm = _as_matrix(shape, self.cfg.flat_as_matrix)
            if nm is not None and self.cfg.rank * (nm[0] + nm[1]) >= nm[0] * nm[1]:
                nm = None
            plan.append((a, b, nm))
        return plan

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        n_w, p = grads.shape
        if self._plan is None:
            self._plan = self._make_plan(p)
        r = self.cfg.rank
        ids = ctx.worker_ids(n_w).tolist()
        mats = [self.feedback.corrected(w, grads[row]) for row, w in enumerate(ids)]
        agg = np.zeros(p)
        up = np.zeros(n_w)
        p_hat_bits = 0
        bit_true = ctx.fidelity == "bit-true"
        for li, (a, b, nm) in enumerate(self._plan):
            if nm is None:  # uncompressed float32
                vals = [_f32(m[a:b]) for m in mats]
                if bit_true:
                    vals = [bits_float32(float32_bits(m[a:b])) for m in mats]
                agg[a:b] = np.mean(vals, axis=0)
                up += FLOAT_BITS * (b - a)
                continue
            n, m_cols = nm
            q = self._q.get(li)
            if q is None:
                q = self._rng.standard_normal((m_cols, r))
            blocks = [mat[a:b].reshape(n, m_cols) for mat in mats]
            ps = [self._wire(blk @ q, bit_true) for blk in blocks]
            p_hat = self._wire(orthogonalize(np.mean(ps, axis=0)), bit_true)
            qs = [self._wire(blk.T @ p_hat, bit_true) for blk in blocks]
            q = np.mean(qs, axis=0)
            # warm start with unit columns: P_hat = orth(M Q) does not depend on Q's column scales,
            # and without them P = M Q would carry |M|^2 (float32 overflow above |M| ~ 1e19)
            norms = np.linalg.norm(q, axis=0)
            self._q[li] = q / np.where(norms > 0, norms, 1.0)
            approx = p_hat @ q.T
            agg[a:b] = approx.ravel()
            for w_row, blk in enumerate(blocks):
                mats[w_row][a:b] = (blk - approx).ravel()  # becomes e_w below
            up += FLOAT_BITS * r * (n + m_cols)
            p_hat_bits += FLOAT_BITS * r * n
        for row, w in enumerate(ids):
            self.feedback.memory[w] = self._residual(mats[row])
        return CompressionResult(upload_bits=up, decode_bits=np.zeros(n_w), aggregate=agg,
                                 downlink_bits=float(FLOAT_BITS * p + p_hat_bits))

    def _residual(self, m: np.ndarray) -> np.ndarray:
        # the uncompressed tensors were sent (as float32): their residual is the rounding only
        out = m.copy()
        for a, b, nm in self._plan or []:
            if nm is None:
                out[a:b] = m[a:b] - _f32(m[a:b])
        return out

    @staticmethod
    def _wire(x: np.ndarray, bit_true: bool) -> np.ndarray:
        """What arrives after a float32 transfer (bit-true: through the bit string)."""
        if bit_true:
            return bits_float32(concat([float32_bits(x.ravel())])).reshape(x.shape)
        return _f32(x)

    def encode_flops(self, num_params: int) -> float:
        # per matrix: M Q and M^T P_hat (2 n m r each) and the reconstruction P_hat Q^T (2 n m r)
        plan = self._plan or self._make_plan(num_params)
        r = self.cfg.rank
        return float(sum(6 * nm[0] * nm[1] * r for _, _, nm in plan if nm is not None))

    def server_flops(self, num_workers: int, num_params: int) -> float:
        # averaging P and Q (K r (n + m)) and a reduced Householder QR of each n x r P: 2 n r^2 - 2 r^3 / 3
        plan = self._plan or self._make_plan(num_params)
        r = self.cfg.rank
        return float(sum(num_workers * r * (nm[0] + nm[1]) + 2 * nm[0] * r * r - 2 * r ** 3 / 3
                         for _, _, nm in plan if nm is not None))

