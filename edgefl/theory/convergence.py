"""Iterations and total communication cost, RD paper Corollary 3 (eq. (23)-(25)) and Remark 6.

Convex beta-smooth loss, A^2 = sup ||w - w(0)||^2, target accuracy eps, gradient estimator
with variance (distortion) D per iteration, K identical workers, static statistics."""

from __future__ import annotations

import math

import numpy as np

from ._checks import count, positive
from .sumrate import distortion_from_rho, r_sum


def iterations_bound(D, A: float, beta: float, eps: float):
    """Smallest T (real) of RD paper eq. (23): T >= A^2 (sqrt(D/(2 eps^2) + beta/eps) +
    sqrt(D/(2 eps^2)))^2, which makes A sqrt(2D/T) + beta A^2 / T <= eps (eq. (25))."""
    D = positive("D", D)
    A, beta, eps = (float(positive(n, v)) for n, v in (("A", A), ("beta", beta), ("eps", eps)))
    q = D / (2.0 * eps * eps)
    out = A * A * (np.sqrt(q + beta / eps) + np.sqrt(q)) ** 2
    return float(out) if np.ndim(out) == 0 else out


def cost_per_iteration_bits(K: int, sigma_x2, sigma_n2, D, params: int = 1):
    """Minimum bits per iteration, RD paper eq. (24): P R_sum(D)."""
    return count("params", params) * r_sum(K, sigma_x2, sigma_n2, D, "bits")


def total_cost_bits(K: int, sigma_x2, sigma_n2, D, A: float, beta: float, eps: float, params: int = 1):
    """Total bits to reach eps (Remark 6): eq. (23) iterations x eq. (24) bits per iteration.
    Uses the real-valued T of eq. (23) so the cost is smooth in D."""
    return iterations_bound(D, A, beta, eps) * cost_per_iteration_bits(K, sigma_x2, sigma_n2, D, params)


def remark6_ratio(beta: float, eps: float, sigma_x2: float) -> float:
    """beta eps / sigma_X^2, the quantity of RD paper Remark 6."""
    return float(positive("beta", beta) * positive("eps", eps) / positive("sigma_x2", sigma_x2))


def remark6_cost_decreasing(beta: float, eps: float, sigma_x2: float) -> bool:
    """RD paper Remark 6: with static statistics the total bits decrease monotonically in D
    when beta eps / sigma_X^2 > 0.5 (then pick a coarse quantiser)."""
    return remark6_ratio(beta, eps, sigma_x2) > 0.5


def optimal_rho(
    K: int, sigma_x2: float, sigma_n2: float, A: float, beta: float, eps: float,
    rho_range: tuple[float, float] = (1e-3, 1e6), grid: int = 400,
) -> tuple[float, float]:
    """rho = D K / sigma_N^2 - 1 minimising the total cost (eq. (23) x eq. (24)) on rho_range:
    log-spaced grid, then golden-section refinement around the best grid point.

    Returns (rho, total bits per parameter). If the cost keeps falling (Remark 6) the answer
    sits at the upper end of rho_range."""
    K = count("K", K)
    lo, hi = (float(v) for v in rho_range)
    if not 0 < lo < hi:
        raise ValueError(f"rho_range must satisfy 0 < low < high, got {rho_range}")

    def cost(log_rho):
        return total_cost_bits(K, sigma_x2, sigma_n2, distortion_from_rho(K, sigma_n2, np.exp(log_rho)), A, beta, eps)

    xs = np.linspace(math.log(lo), math.log(hi), int(grid))
    costs = cost(xs)
    i = int(np.argmin(costs))
    a, b = xs[max(i - 1, 0)], xs[min(i + 1, len(xs) - 1)]
    g = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(100):
        c, d = b - g * (b - a), a + g * (b - a)
        if cost(c) <= cost(d):
            b = d
        else:
            a = c
    x = 0.5 * (a + b)
    return float(np.exp(x)), float(cost(x))
