"""Membership in R*(D) without a given r: cutting planes on the support function.

R*(D) (RD paper Theorem 2) is convex and upward closed, so R is inside iff
h(alpha) = alpha.R - P1(alpha) >= 0 on the simplex, P1(alpha) = min over the region of
alpha.R' (RD paper eq. (18)-(20), L = 1). h is convex; every P1 solution R_j gives the cut
h(alpha) >= alpha.(R - R_j) (Kelley's method). The LP over the cuts gives a lower bound
(inside when >= -tol) and its minimiser a trial alpha (outside when h < -tol there).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from ._checks import LN2
from .p1 import solve_p1

_ALPHA_FLOOR = 1e-9
_MAX_CUTS = 500


def contains_by_support(R_nats: np.ndarray, sigma_x2: float, sigma_n2: np.ndarray, D: float, tol: float) -> bool:
    K = R_nats.shape[0]
    tol_abs = tol * max(1.0, float(np.max(np.abs(R_nats))))
    alpha = np.full(K, 1.0 / K)
    cuts = []
    c_obj = np.zeros(K + 1)
    c_obj[-1] = 1.0
    A_eq = np.ones((1, K + 1))
    A_eq[0, -1] = 0.0
    bounds = [(0.0, 1.0)] * K + [(None, None)]
    for _ in range(_MAX_CUTS):
        a = np.maximum(alpha, _ALPHA_FLOOR)
        res = solve_p1(a, sigma_n2, sigma_x2, D)
        Rj = res.R[:, 0] * LN2
        if a @ R_nats - a @ Rj < -tol_abs:
            return False
        cuts.append(R_nats - Rj)
        A_ub = np.hstack([np.array(cuts), -np.ones((len(cuts), 1))])
        lp = linprog(c_obj, A_ub=A_ub, b_ub=np.zeros(len(cuts)), A_eq=A_eq, b_eq=[1.0], bounds=bounds, method="highs")
        if lp.status != 0:
            raise RuntimeError(f"cutting-plane LP failed: {lp.message}")
        if lp.fun >= -tol_abs:
            return True
        alpha = lp.x[:K]
    raise RuntimeError(f"rate-region membership undecided after {_MAX_CUTS} cuts; loosen tol")
