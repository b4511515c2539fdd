"""P1 solver speed (RD paper eq. (20)) against cvxpy/Clarabel measured in the same run.

    python benchmarks/p1_speed.py [--seed 0] [--repeats 5]

Prints, at K = 100, L = 10: wall time of edgefl.theory.solve_p1 (best of --repeats, after a
warm-up call that loads the numba cache), cvxpy wall time (model build + solve) and
Clarabel's own solve time, the speed ratios, and the relative objective / D_l differences.
Then the wall time at K = 1,000, L = 100 (goal: under 1 s). cvxpy formulation: the convex
prefix-constraint form used in tests/test_theory_p1.py (a relaxation whose optimum equals
P1's when both are solved exactly).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import cvxpy as cp
import numpy as np

from edgefl.theory import alpha_from_snr, solve_p1


def instance(K: int, L: int, seed: int):
    rng = np.random.default_rng(seed)
    alpha = alpha_from_snr(10 ** (rng.uniform(-5, 25, K) / 10))  # -5..25 dB
    sn = np.exp(rng.uniform(-1, 1, (K, L)))
    sx = np.exp(rng.uniform(-2, 2, L))
    D = 3.0 * np.sum(1 / np.sum(1 / sn, axis=0))
    return alpha, sn, sx, D


def cvxpy_p1(alpha, sn, sx, D):
    """Same model as the test reference, with cumulative sums to keep the build linear."""
    order = np.argsort(-alpha, kind="stable")
    a, s = alpha[order], sn[order]
    K, L = s.shape
    z = cp.Variable((K, L), nonneg=True)
    R = cp.Variable((K, L), nonneg=True)
    Dl = cp.Variable(L, pos=True)
    tri = np.tril(np.ones((K, K)))  # prefix sums
    after = np.triu(np.ones((K, K)), 1)  # sum over i > k
    cons = [cp.sum(Dl) <= D]
    r = -0.5 * cp.log(1 - cp.multiply(s, z))
    for l in range(L):
        c = 1.0 / sx[l]
        head = 0.5 * (np.log(c) - cp.log(1 - cp.inv_pos(1 + c * Dl[l])))
        cons += [
            cp.sum(z[:, l]) >= cp.inv_pos(Dl[l]),
            tri @ R[:, l] >= tri @ r[:, l] + head - 0.5 * cp.log(c + after @ z[:, l]),
        ]
    prob = cp.Problem(cp.Minimize(cp.sum(a @ R)), cons)
    t0 = time.perf_counter()
    prob.solve(solver="CLARABEL")
    wall = time.perf_counter() - t0
    return prob.value / math.log(2.0), np.asarray(Dl.value), wall, prob.solver_stats.solve_time, prob.status


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    solve_p1(np.ones(2), 1.0, 1.0, 1.0)  # warm-up: numba cache load / compile

    alpha, sn, sx, D = instance(100, 10, args.seed)
    res = solve_p1(alpha, sn, sx, D)
    t_ours = best_time(lambda: solve_p1(alpha, sn, sx, D), args.repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj_cvx, D_cvx, t_cvx_wall, t_cvx_solver, status = cvxpy_p1(alpha, sn, sx, D)
    print("K = 100, L = 10")
    print(f"  edgefl solve_p1     : {t_ours * 1e3:9.3f} ms (best of {args.repeats})")
    print(f"  cvxpy build+solve   : {t_cvx_wall * 1e3:9.3f} ms  (status {status})")
    print(f"  Clarabel solve only : {t_cvx_solver * 1e3:9.3f} ms")
    print(f"  speed ratio (cvxpy wall / ours)   : {t_cvx_wall / t_ours:10.1f} x")
    print(f"  speed ratio (Clarabel only / ours): {t_cvx_solver / t_ours:10.1f} x")
    print(f"  objective ours {res.objective:.12g}  cvxpy {obj_cvx:.12g}  rel diff {(res.objective - obj_cvx) / abs(obj_cvx):+.2e}")
    print(f"  max |D_l ours - D_l cvxpy| / D    : {np.max(np.abs(res.D_l - D_cvx)) / D:.2e}")
    print(f"  certificate: gap / objective {res.gap / res.objective:.1e}, KKT residual {res.kkt_residual:.1e}")

    alpha, sn, sx, D = instance(1000, 100, args.seed + 1)
    res = solve_p1(alpha, sn, sx, D)
    t_big = best_time(lambda: solve_p1(alpha, sn, sx, D), max(1, args.repeats // 2))
    print("K = 1,000, L = 100")
    print(f"  edgefl solve_p1     : {t_big:9.4f} s (goal < 1 s), transmitting workers {np.mean(res.z > 0):.0%},"
          f" gap / objective {res.gap / res.objective:.1e}")


if __name__ == "__main__":
    main()
