"""Gaussian CEO rate region of the RD paper (Theorem 2, Corollary 1, Lemma 1).

Notation: worker k sees Y_k = X + N_k with Var X = sigma_X^2 and Var N_k = sigma_N_k^2 (per
layer l in the multi-layer model). r_k is the rate spent on quantising the gradient noise and
z_k = (1 - exp(-2 r_k)) / sigma_N_k^2 (the precision of U_k = Y_k + V_k, RD paper eq. (31)).
Natural logarithms throughout; ``unit="bits"`` divides by ln 2 at the end.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._checks import check_distortion, count, positive, unit_factor

MAX_SUBSET_WORKERS = 20


def z_from_r(r, sigma_n2) -> np.ndarray:
    """z_k = (1 - exp(-2 r_k)) / sigma_N_k^2 (RD paper eq. (14), (32)); r in nats."""
    r = np.asarray(r, dtype=float)
    if np.any(~(r >= 0)):
        raise ValueError(f"r must be >= 0 nats, got {r[~(r >= 0)].ravel()[:3].tolist()}")
    return -np.expm1(-2.0 * r) / positive("sigma_n2", sigma_n2)


def r_from_z(z, sigma_n2) -> np.ndarray:
    """Inverse of :func:`z_from_r`: r_k = -1/2 log(1 - sigma_N_k^2 z_k), needs 0 <= z < 1/sigma^2."""
    s = positive("sigma_n2", sigma_n2)
    z = np.asarray(z, dtype=float)
    if np.any(~(z >= 0)) or np.any(~(s * z < 1)):
        raise ValueError("z must satisfy 0 <= z_k < 1/sigma_N_k^2 (finite rate r_k)")
    return -0.5 * np.log1p(-s * z)


def distortion(r, sigma_n2) -> np.ndarray:
    """Distortion reached by quantisation rates r: 1/D = sum_k z_k (RD paper eq. (14), (30)).

    r: (K,) or (K, L); returns a scalar for (K,) and D_l per layer for (K, L)."""
    z = z_from_r(r, sigma_n2)
    total = np.sum(z, axis=0)
    if np.any(total <= 0):
        raise ValueError("r must have at least one positive entry per layer (else D is infinite)")
    return 1.0 / total


def lemma1_order(alpha) -> np.ndarray:
    """Lemma 1 order (RD paper Sec. V-A): worker indices by alpha descending, ties in index
    order. ``order[0]`` is the paper's worker 1, decoded last with the most side information."""
    return np.argsort(-positive("alpha", alpha), kind="stable")


def _as_order(order, K: int) -> np.ndarray:
    if order is None:
        return np.arange(K)
    order = np.asarray(order)
    if order.shape != (K,) or not np.array_equal(np.sort(order), np.arange(K)):
        raise ValueError(f"order must be a permutation of range({K}), got {order.tolist()}")
    return order


def corner_point(r, sigma_x2, sigma_n2, order=None, unit: str = "bits") -> np.ndarray:
    """Lemma 1 corner point, RD paper eq. (19), for the Lemma 1 order ``order``.

    ``order[0]`` plays the paper's worker 1 (largest alpha, decoded last with the most side
    information) and ``order[-1]`` worker K (decoded first):
    R_k = r_k + 1/2 log(1/sigma_X^2 + sum_{i>=k} z_i) - 1/2 log(1/sigma_X^2 + sum_{i>k} z_i).
    r, sigma_n2: (K,) for one layer or (K, L) with sigma_x2 (L,) (Corollary 1, per layer).
    Returns R in the input's worker indexing, same shape as r.
    """
    r = np.asarray(r, dtype=float)
    z = z_from_r(r, sigma_n2)
    c = 1.0 / positive("sigma_x2", sigma_x2)
    idx = _as_order(order, r.shape[0])
    zs = z[idx]
    # suffix sums over the order: after[k] = sum_{i>k} z_i
    after = np.flip(np.cumsum(np.flip(zs, axis=0), axis=0), axis=0) - zs
    rs = r[idx]
    Rs = rs + 0.5 * np.log1p(zs / (c + after))
    R = np.empty_like(Rs)
    R[idx] = Rs
    return R / unit_factor(unit)


def corollary1_point(r, sigma_x2, sigma_n2, order=None, unit: str = "bits"):
    """Multi-layer model, RD paper Corollary 1 eq. (15): worker totals R_k = sum_l R_{k,l} of
    the per-layer Lemma 1 corner points and the total distortion D = sum_l D_l.

    r, sigma_n2: (K, L); sigma_x2: (L,). Returns (R_k (K,), D, D_l (L,))."""
    r = np.asarray(r, dtype=float)
    if r.ndim != 2:
        raise ValueError(f"r must have shape (K, L), got {r.shape}")
    R = corner_point(r, sigma_x2, np.broadcast_to(sigma_n2, r.shape), order, unit)
    D_l = distortion(r, np.broadcast_to(sigma_n2, r.shape))
    return R.sum(axis=1), float(D_l.sum()), D_l


def symmetric_point(K: int, sigma_x2: float, sigma_n2: float, D: float, unit: str = "bits") -> np.ndarray:
    """Symmetric point of the Theorem 2 region for K identical workers (RD paper eq. (13)-(14)):
    r = 1/2 log(K D / (K D - sigma_N^2)) solves eq. (14), and the sum-rate face (A = all
    workers in eq. (13)) shared equally gives R_k = r + 1/(2K) log(1 + sigma_X^2 / D)."""
    K = count("K", K)
    sx, sn, D = (float(positive(n, v)) for n, v in (("sigma_x2", sigma_x2), ("sigma_n2", sigma_n2), ("D", D)))
    check_distortion(D, sn / K)
    r = 0.5 * np.log(K * D / (K * D - sn))
    R = r + 0.5 / K * np.log1p(sx / D)
    return np.full(K, R) / unit_factor(unit)


def _subset_masks(K: int) -> np.ndarray:
    if K > MAX_SUBSET_WORKERS:
        raise ValueError(
            f"the Theorem 2 subset test enumerates 2^K subsets; K must be <= {MAX_SUBSET_WORKERS}, got {K}"
        )
    return np.array(list(itertools.product((False, True), repeat=K)), dtype=bool)


def region_slack(R, r, sigma_x2: float, sigma_n2, D: float, unit: str = "bits") -> float:
    """min over subsets A of  sum_{A} R_k - [sum_A r_k + 1/2 log(1/sx2 + 1/D) - 1/2 log(1/sx2 +
    sum_{A^c} z_k)]  (RD paper eq. (13)), in ``unit``; >= 0 iff R is in R(r_1..r_K)."""
    f = unit_factor(unit)
    R = np.asarray(R, dtype=float) * f
    r = np.asarray(r, dtype=float)
    K = r.shape[0]
    if r.shape != (K,) or R.shape != (K,):
        raise ValueError(f"R and r must both have shape (K,), got {R.shape} and {r.shape}")
    z = z_from_r(r, np.broadcast_to(sigma_n2, (K,)))
    c = 1.0 / float(positive("sigma_x2", sigma_x2))
    D = float(positive("D", D))
    A = _subset_masks(K)
    need = A @ r + 0.5 * np.log(c + 1.0 / D) - 0.5 * np.log(c + (~A) @ z)
    return float(np.min(A @ R - need) / f)


def in_rate_region(
    R, sigma_x2: float, sigma_n2, D: float, r=None, unit: str = "bits", tol: float = 1e-9
) -> bool:
    """Membership test of the optimal rate region R*(D), RD paper Theorem 2 (single layer).

    With ``r`` given: checks r in F(D) (eq. (14), relative tolerance ``tol``) and R in
    R(r_1..r_K) (eq. (13), all 2^K subsets, K <= 20). Without ``r``: R*(D) is convex and
    upward closed, so R is inside iff alpha.R >= P1(alpha) for every alpha >= 0 (P1 = RD paper
    eq. (20) with L = 1); a cutting-plane search over alpha on the simplex either finds a
    separating alpha or proves alpha.R - P1(alpha) >= -tol (nats, relative to max R). A point
    within ~tol of the boundary can take many cuts; after 500 a RuntimeError asks for a
    looser tol (tol=1e-6 decides the exact P1 corner points of K = 10 workers in < 1 s)."""
    R = np.asarray(R, dtype=float)
    if R.ndim != 1:
        raise ValueError(f"R must have shape (K,), got {R.shape}")
    K = R.shape[0]
    sn = np.broadcast_to(positive("sigma_n2", sigma_n2), (K,))
    D = float(positive("D", D))
    check_distortion(D, 1.0 / np.sum(1.0 / sn), "1 / sum_k (1/sigma_N_k^2)")
    if np.any(R < -tol):
        return False
    if r is not None:
        r = np.asarray(r, dtype=float)
        Dr = float(distortion(r, sn))
        if abs(Dr - D) > tol * D:
            raise ValueError(f"r is not in F(D): it reaches distortion {Dr:.9g}, not D = {D:.9g}")
        return region_slack(R, r, sigma_x2, sn, D, unit) >= -tol
    from ._region_search import contains_by_support

    return contains_by_support(R * unit_factor(unit), float(sigma_x2), sn, D, tol)
