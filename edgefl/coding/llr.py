"""LLR computer of the successive Wyner-Ziv decoder.

DSC paper eq. (47): the decoder of bit-plane i of the worker at position k needs, per
coordinate, the log-likelihood ratio of ``B_{k,i}`` given the bit-planes ``B_{k,1..i-1}``
already decoded for this worker and the indices ``u_1..u_{k-1}`` of the workers decoded
before it. The conditional probability is computed semi-analytically (eq. 43-44):
``Pr(J_k = j | u_<k) ∝ sum_l w_l prod_{j'<k} q(u_j' | x^l) q(j | x^l)``.

Convention: the decoder takes the *a-posteriori* ratio ``log Pr(B=0 | side) / Pr(B=1 | side)``,
i.e. eq. (47)'s channel term (with its sign flipped to the 0-over-1 convention) plus the
prior term ``log Pr(B=0)/Pr(B=1)`` that eq. (47) subtracts: a syndrome decoder of a
non-uniform source needs both.
"""

from __future__ import annotations

import numpy as np

from edgefl.coding.bp_decoder import LLR_MAX  # the decoders' channel-LLR clip: one bound for the pipeline
from edgefl.coding.quantizer import UniformQuantizer
from edgefl.coding.statistics import GradientStatistics, x_nodes

__all__ = ["LLR_MAX", "SideInformationPosterior", "bitplane_llr"]


class SideInformationPosterior:
    """Running per-coordinate posterior of the next worker's index given the decoded ones.

    For the one-bit quantiser the posterior depends only on the number of +1 signs among
    the decoded workers, so one integer per coordinate is kept. For m bits a (P, L)
    float32 matrix of ``sum_j log q_j(u_j | x^l)`` is kept (memory 4 P L bytes; the
    x-grid has ``L <= max_nodes`` points, spaced at most ``sigma_N / 1.5`` unless capped,
    which keeps the Gaussian quadrature error far below what BP notices).
    """

    CHUNK = 1 << 15  # rows per block when forming posteriors, bounds temporary memory

    def __init__(self, quantizer: UniformQuantizer, stats: GradientStatistics, num_params: int,
                 max_nodes: int = 192) -> None:
        if num_params < 1:
            raise ValueError(f"num_params must be >= 1, got {num_params}")
        self.quantizer = quantizer
        self.sigma_n = float(np.sqrt(stats.sigma_n2))
        self.x, w = x_nodes(stats.sigma_x2, stats.sigma_n2, points_per_sigma_n=1.5, extent=6.0,
                            max_nodes=max_nodes)
        self.logw = np.log(w)
        self.num_side = 0
        if quantizer.bits == 1:
            self._ones = np.zeros(num_params, dtype=np.int64)
        else:
            self._acc = np.zeros((num_params, self.x.size), dtype=np.float32)

    def _q(self, scale: float) -> np.ndarray:
        return self.quantizer.cell_probabilities(self.x, self.sigma_n, scale)

    def add(self, index: np.ndarray, scale: float = 1.0) -> None:
        """Fold one decoded worker's indices (quantiser ``scale``) into the side information."""
        if self.quantizer.bits == 1:
            self._ones += np.asarray(index, dtype=np.int64)
        else:
            self._acc += np.log(np.maximum(self._q(scale), 1e-300)).T[np.asarray(index)]
        self.num_side += 1

    def posterior(self, scale: float = 1.0, worker: int | None = None) -> np.ndarray:
        """``Pr(J_next = j | u_1..u_s)`` per coordinate, shape (P, M) (eq. 44 ratio); the Gaussian
        model does not depend on which ``worker`` is decoded next."""
        q = self._q(scale)
        if self.quantizer.bits == 1:
            s = self.num_side
            c = np.arange(s + 1)[:, None]
            logq = np.log(np.maximum(q, 1e-300))
            logpc = c * logq[None, :, 1] + (s - c) * logq[None, :, 0] + self.logw[None, :]  # (s+1, L)
            logpc -= logpc.max(axis=1, keepdims=True)
            table = np.exp(logpc) @ q
            table /= table.sum(axis=1, keepdims=True)
            return table[self._ones]
        post = np.empty((self._acc.shape[0], q.shape[1]))
        for a in range(0, post.shape[0], self.CHUNK):
            logpc = self._acc[a:a + self.CHUNK].astype(np.float64) + self.logw[None, :]
            logpc -= logpc.max(axis=1, keepdims=True)
            block = np.exp(logpc) @ q
            post[a:a + self.CHUNK] = block / block.sum(axis=1, keepdims=True)
        return post


def bitplane_llr(posterior: np.ndarray, lower: np.ndarray, plane: int) -> np.ndarray:
    """LLR ``log Pr(B_i=0 | b_<i, u_<k) / Pr(B_i=1 | b_<i, u_<k)`` of bit-plane ``plane`` (1-based),
    DSC paper eq. (47) in the a-posteriori form, clipped to +-LLR_MAX.

    ``posterior`` (P, M) is ``Pr(J = j | u_<k)``; ``lower`` (P,) is the integer value of the
    already decoded bit-planes 1..plane-1 of this worker (0 when plane = 1).
    """
    posterior = np.asarray(posterior)
    P, M = posterior.shape
    if not 1 <= plane <= M.bit_length() - 1:
        raise ValueError(f"plane must be in [1, {M.bit_length() - 1}], got {plane}")
    lower = np.asarray(lower, dtype=np.int64)
    half = 1 << (plane - 1)
    if lower.shape != (P,) or (P and (lower.min() < 0 or lower.max() >= half)):
        raise ValueError(f"lower must be a ({P},) array of values in [0, {half - 1}]")
    j0 = lower[:, None] + (np.arange(M >> plane, dtype=np.int64) << plane)[None, :]
    p0 = np.take_along_axis(posterior, j0, axis=1).sum(axis=1)
    p1 = np.take_along_axis(posterior, j0 + half, axis=1).sum(axis=1)
    with np.errstate(divide="ignore"):
        llr = np.log(p0) - np.log(p1)
    return np.clip(np.nan_to_num(llr, nan=0.0), -LLR_MAX, LLR_MAX)
