"""Problem P1 of the RD paper (eq. (18)-(20)): alpha-weighted minimum rates for distortion D.

    min_{z, D_l}  sum_l sum_k alpha_k R_{k,l}(z)     (R_{k,l}: Lemma 1 corner point, eq. (19))
    s.t.          sum_k z_{k,l} = 1/D_l  (eq. (20b), active),   sum_l D_l <= D  (eq. (20c)).

Structure used (see ``_p1_kernel``):
* Lemma 1 fixes the order (alpha descending). With S_{k,l} = c_l + sum_{i>=k} z_{i,l} the layer
  objective is 1/2 alpha_1 log(c_l + 1/D_l) + G_l(z), where G_l = sum_k alpha_k r_k(z_k)
  - 1/2 sum_{k>=2} (alpha_{k-1} - alpha_k) log S_k is strictly convex in z. For fixed D_l the
  layer is a K-variable convex problem whose KKT point follows from one scalar (tau = T_K) in an
  O(K) backward pass - a water-filling with a correction term for unequal alphas (equal
  alphas: z_k = max(0, 1/sigma_k^2 - theta), the classical CEO water-filling).
* The layers only couple through sum_l D_l <= D: one multiplier mu = -dV_l/dD_l, found by
  bracketed Newton on log mu; each layer's tau by bracketed Newton for that mu.
The layer value V_l(D_l) is convex in D_l (time-sharing of two codes keeps the estimator
unbiased and averages rate and distortion), which makes the common-slope condition optimal.

Accuracy: the certificate (``gap``) is ~1e-12 relative for equal noise and moderate noise
spreads. The backward pass is steep when sigma_N^2 varies by more than ~1e5 within a layer and
sigma_X^2 >> min sigma_N^2 (a tiny change of tau switches many workers on); there the result
can be off by more than 1e-6 and solve_p1 warns (RuntimeWarning) with the certificate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ._checks import LN2, check_distortion, positive
from ._p1_kernel import solve_sorted
from .ceo import lemma1_order

_TOL = 1e-13
_MAX_ITER = 200
_WARN_REL = 1e-6  # relative certificate above which solve_p1 warns


@dataclass(frozen=True)
class P1Result:
    """Solution of P1 in the caller's worker indexing (arrays are read-only).

    z: (K, L) precisions z_{k,l} = (1 - exp(-2 r_{k,l})) / sigma_N_{k,l}^2.
    D_l: (L,) per-layer distortions, sum = D.
    R: (K, L) Lemma 1 rates in bits per parameter of each layer.
    objective: sum_{k,l} alpha_k R_{k,l} (alpha units x bits).
    order: worker indices by alpha descending (Lemma 1; order[0] is the paper's worker 1).
    gap: certified bound on objective - optimum (same units), from the KKT residuals and
        the coupling slack, assuming the layer values are convex in D_l (RD paper, Sec. V-A).
    kkt_residual: largest relative stationarity violation, recomputed from z.
    mu: multiplier of sum_l D_l <= D (objective units per unit distortion).
    iterations: steps of the outer search on the multiplier.
    """

    z: np.ndarray
    D_l: np.ndarray
    R: np.ndarray
    objective: float
    order: np.ndarray
    gap: float
    kkt_residual: float
    mu: float
    iterations: int

    @property
    def decode_order(self) -> np.ndarray:
        """Successive decoding order at the server (eq. (19)): worker K (smallest alpha, no side
        information) first, worker 1 (largest alpha) last, i.e. ``order`` reversed."""
        return self.order[::-1]

    @property
    def R_worker(self) -> np.ndarray:
        """Per-worker rate R_k = sum_l R_{k,l} (Corollary 1), bits per L-vector (one entry of
        every layer); a round with P/L entries per layer costs (P/L) R_k bits."""
        return self.R.sum(axis=1)


def p1_inputs(alpha, sigma_n2, sigma_x2, D):
    """Validate and broadcast P1 inputs: alpha (K,), sigma_n2 (K, L), sigma_x2 (L,), D > D_min.

    sigma_x2 may be a scalar (L = 1 unless sigma_n2 is 2-D); sigma_n2 may be a scalar or (K,)
    (same noise on every layer)."""
    a = positive("alpha", alpha)
    if a.ndim != 1:
        raise ValueError(f"alpha must have shape (K,), got {a.shape}")
    K = a.shape[0]
    sn = positive("sigma_n2", sigma_n2)
    sx = positive("sigma_x2", sigma_x2)
    if sx.ndim > 1:
        raise ValueError(f"sigma_x2 must be a scalar or shape (L,), got {sx.shape}")
    L = sx.size if sx.ndim == 1 else (sn.shape[1] if sn.ndim == 2 else 1)
    if sn.ndim == 1:
        sn = sn[:, None]
    try:
        s = np.ascontiguousarray(np.broadcast_to(sn, (K, L)), dtype=float)
        sx = np.ascontiguousarray(np.broadcast_to(sx, (L,)), dtype=float)
    except ValueError:
        raise ValueError(
            f"sigma_n2 {np.shape(sigma_n2)} and sigma_x2 {np.shape(sigma_x2)} do not fit alpha (K={K},): "
            "expected sigma_n2 (K, L) and sigma_x2 (L,)"
        ) from None
    D = float(positive("D", D))
    d_min = float(np.sum(1.0 / np.sum(1.0 / s, axis=0)))
    check_distortion(D, d_min, "sum_l 1 / sum_k (1/sigma_N_{k,l}^2)")
    return a, s, sx, D


def lemma1_rates_sorted(z, e, c) -> np.ndarray:
    """Lemma 1 rates (nats, eq. (19)) for workers already in Lemma 1 order; z (K, L),
    e = 1 - sigma^2 z = exp(-2 r) (K, L), c (L,)."""
    after = np.flip(np.cumsum(np.flip(z, axis=0), axis=0), axis=0) - z
    return -0.5 * np.log(e) + 0.5 * np.log1p(z / (c + after))


def _certificate(a, z, e, s, c, D):
    """KKT residual and duality gap (nats) recomputed from z, independent of the kernel.

    Gap = lower-bound slack from convexity: inner problems (convex G_l, fixed sum z) lose at
    most 2 u_l max_k |stationarity error|; the layer values V_l(D_l) (convex) lose
    mu |D - sum D_l| for the coupling and 2 max_l |mu_l - mu| D for unequal slopes."""
    K, L = z.shape
    suffix = np.flip(np.cumsum(np.flip(z, axis=0), axis=0), axis=0)  # sum_{i>=k}
    S = c + suffix
    delta = np.zeros(K)
    delta[1:] = a[:-1] - a[1:]
    # dG/dz_k = alpha_k s_k / (2 (1 - s_k z_k)) - 1/2 sum_{j<=k} delta_j / S_j
    grad = 0.5 * a[:, None] * s / e - 0.5 * np.cumsum(delta[:, None] / S, axis=0)
    active = z > 0
    top = np.argmax(z, axis=0)
    lam = grad[top, np.arange(L)]
    scale = np.max(np.abs(grad), axis=0) + np.abs(lam)
    err = np.where(active, np.abs(grad - lam), np.maximum(0.0, lam - grad)) / scale
    u = suffix[0]
    mu_l = u**2 * (0.5 * a[0] / (c + u) + lam)
    mu = float(np.mean(mu_l))
    outer = float(np.max(np.abs(mu_l - mu)) / mu)
    abs_err = np.max(np.abs(err * scale), axis=0)
    gap = mu * abs(D - np.sum(1.0 / u)) + float(np.sum(2.0 * u * abs_err)) + 2.0 * outer * mu * D
    return max(float(np.max(err)), outer), gap, mu


def solve_p1(alpha, sigma_n2, sigma_x2, D) -> P1Result:
    """Solve P1 (RD paper eq. (20)) for alpha (K,), sigma_n2 (K, L), sigma_x2 (L,), distortion D.

    Rates in bits; alpha is any positive cost per unit rate (e.g. Hz per bit/s, see
    :func:`edgefl.theory.alpha_from_snr`). Raises ValueError if D <= sum_l D_min,l."""
    a, s, sx, D = p1_inputs(alpha, sigma_n2, sigma_x2, D)
    order = lemma1_order(a)
    a_s = np.ascontiguousarray(a[order])
    s_s = np.ascontiguousarray(s[order])
    c = 1.0 / sx
    z_s, e_s, _log_mu, iters, converged = solve_sorted(a_s, s_s, c, D, _TOL, _MAX_ITER)
    if not converged or np.any(np.sum(z_s, axis=0) <= 0):
        raise RuntimeError(f"P1 solver did not converge (K={a.size}, L={sx.size}, D={D!r}); please report")
    R_s = lemma1_rates_sorted(z_s, e_s, c)
    kkt, gap, mu = _certificate(a_s, z_s, e_s, s_s, c, D)
    z = np.empty_like(z_s)
    z[order] = z_s
    R = np.empty_like(R_s)
    R[order] = R_s / LN2
    D_l = 1.0 / z_s.sum(axis=0)
    objective = float(np.sum(a[:, None] * R))
    slack = abs(float(D_l.sum()) / D - 1.0)
    if gap > _WARN_REL * objective * LN2 or slack > _WARN_REL:
        warnings.warn(
            f"P1 solution only approximately optimal: gap/objective = {gap / LN2 / objective:.1e}, "
            f"|sum D_l / D - 1| = {slack:.1e}, KKT residual {kkt:.1e} (K={a.size}, L={sx.size}). "
            "This happens for extreme spreads of sigma_N^2 within a layer (>~1e5) together with "
            "sigma_X^2 >> min sigma_N^2; see P1Result.gap",
            RuntimeWarning,
            stacklevel=2,
        )
    for arr in (z, D_l, R, order):
        arr.setflags(write=False)
    return P1Result(
        z=z, D_l=D_l, R=R, objective=objective, order=order, gap=gap / LN2,
        kkt_residual=kkt, mu=mu / LN2, iterations=int(iters),
    )
