"""cvxpy reference for P1 (RD paper eq. (18)-(20)), test-only.

Convex form in z (r_k = -1/2 log(1 - sigma^2 z_k) is convex in z): for the Lemma 1 order, the prefix constraints of
Theorem 2 / Corollary 1 (eq. (16) with A = {1..k}),
    sum_{i<=k} R_i >= sum_{i<=k} r_i + 1/2 log(c + 1/D_l) - 1/2 log(c + sum_{i>k} z_i(r)),
plus R >= 0, sum_k z_k(r) >= 1/D_l (eq. (17) relaxed to >=, eq. (71)) and sum_l D_l <= D.
It keeps only some of the 2^K constraints, so its optimum is a lower bound on P1; our solver
returns a point that is achievable (Lemma 1 corner with equality), an upper bound.
"""

import cvxpy as cp
import numpy as np


def _build(a, s, sx, D, form):
    K, L = s.shape
    z = cp.Variable((K, L), nonneg=True) if form == "z" else None
    r = cp.Variable((K, L), nonneg=True) if form == "r" else None
    R = cp.Variable((K, L), nonneg=True)
    Dl = cp.Variable(L, pos=True)
    cons = [cp.sum(Dl) <= D]
    for l in range(L):
        c = 1.0 / sx[l]
        if form == "z":
            zl = z[:, l]
            rl = -0.5 * cp.log(1 - cp.multiply(s[:, l], zl))
        else:
            rl = r[:, l]
            zl = cp.multiply(1.0 / s[:, l], 1 - cp.exp(-2 * rl))
        head = 0.5 * (np.log(c) - cp.log(1 - cp.inv_pos(1 + c * Dl[l])))  # 1/2 log(c + 1/D_l)
        cons.append(cp.sum(zl) >= cp.inv_pos(Dl[l]))
        for k in range(K):
            tail = c + cp.sum(zl[k + 1:]) if k + 1 < K else c
            cons.append(cp.sum(R[: k + 1, l]) >= cp.sum(rl[: k + 1]) + head - 0.5 * cp.log(tail))
    prob = cp.Problem(cp.Minimize(cp.sum(a @ R)), cons)
    return prob, Dl, (lambda: z.value) if form == "z" else (lambda: -np.expm1(-2 * r.value) / s)


def p1_cvxpy(alpha, sigma_n2, sigma_x2, D):
    """Returns (objective in bits, D_l, status, z in the caller's worker order)."""
    a = np.asarray(alpha, float)
    s = np.asarray(sigma_n2, float)
    sx = np.atleast_1d(np.asarray(sigma_x2, float))
    K, L = s.shape
    order = np.argsort(-a, kind="stable")
    a, s = a[order], s[order]
    tight = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "max_iter": 500}
    # Clarabel's exp-cone iterations occasionally stall; try the other variables, then defaults
    for form, opts in (("z", tight), ("r", tight), ("z", {}), ("r", {})):
        prob, Dl, zval = _build(a, s, sx, D, form)
        try:
            prob.solve(solver="CLARABEL", **opts)
        except cp.error.SolverError:
            continue
        if prob.status in ("optimal", "optimal_inaccurate"):
            break
    else:
        raise RuntimeError("cvxpy reference failed on every formulation")
    z_out = np.empty((K, L))
    z_out[order] = np.clip(zval(), 0.0, None)
    return prob.value / np.log(2.0), np.asarray(Dl.value), prob.status, z_out


def _objective_and_grad(x, a, s, c):
    """Lemma 1 objective sum_l sum_k alpha_k R_kl (nats) written directly from eq. (20a)."""
    K, L = s.shape
    z = x.reshape(K, L)
    S = c + np.flip(np.cumsum(np.flip(z, axis=0), axis=0), axis=0)  # S_k = c + sum_{i>=k} z_i
    S_next = np.vstack([S[1:], np.broadcast_to(c, (1, L))])
    f = np.sum(a[:, None] * (-0.5 * np.log1p(-s * z) + 0.5 * np.log(S / S_next)))
    delta = np.concatenate([[a[0]], a[1:] - a[:-1]])
    g = 0.5 * a[:, None] * s / (1 - s * z) + 0.5 * np.cumsum(delta[:, None] / S, axis=0)
    return f, g.ravel()


def polish_slsqp(alpha, sigma_n2, sigma_x2, D, z_start):
    """Local high-accuracy refinement (scipy SLSQP, analytic gradients) of P1 from ``z_start``
    (the cvxpy solution, caller's worker order). Returns (objective in bits, D_l)."""
    from scipy.optimize import minimize

    a = np.asarray(alpha, float)
    s = np.asarray(sigma_n2, float)
    c = 1.0 / np.atleast_1d(np.asarray(sigma_x2, float))
    K, L = s.shape
    order = np.argsort(-a, kind="stable")
    a, s = a[order], s[order]
    hi = (1 - 1e-12) / s
    z0 = np.minimum(np.asarray(z_start, float)[order], hi)
    cons = {
        "type": "ineq",
        "fun": lambda x: D - np.sum(1 / x.reshape(K, L).sum(axis=0)),
        "jac": lambda x: np.ravel(np.broadcast_to(1 / x.reshape(K, L).sum(axis=0) ** 2, (K, L))),
    }
    bounds = list(zip(np.zeros(K * L), hi.ravel()))
    res = minimize(
        _objective_and_grad, z0.ravel(), args=(a, s, c), jac=True, method="SLSQP",
        bounds=bounds, constraints=[cons], options={"ftol": 1e-15, "maxiter": 500},
    )
    z = res.x.reshape(K, L)
    return res.fun / np.log(2.0), 1 / z.sum(axis=0)
