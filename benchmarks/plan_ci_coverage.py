"""Coverage of the planner's 95 % intervals of the p95 for dependent rounds (figures, not a test).

    python benchmarks/plan_ci_coverage.py [--reps 1000]

Consecutive rounds under time-correlated fading are a dependent series. Each replication draws a
stationary AR(1) series X_t = phi X_{t-1} + sqrt(1 - phi^2) e_t of n rounds (N(0, 1) marginal)
mapped to a skewed latency 0.1 + 0.05 exp(X / 2) s, whose p95 is known in closed form; printed is
the share of replications whose interval contains it, for the planner's series interval
(:func:`edgefl.planning.stats.series_ci`, batch means), the block bootstrap with blocks of
sqrt(n) rounds (its earlier rule) and the i.i.d. order-statistic interval.
``tests/test_plan_stats.py`` asserts the series interval's coverage (default and slow tests).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy.signal import lfilter
from scipy.special import ndtri

from edgefl.planning.stats import cluster_bootstrap_ci, order_statistic_ci, series_ci

CASES = [(0.5, 400), (0.5, 1600), (0.9, 400), (0.9, 1600), (0.98, 400), (0.98, 1600)]


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """Stationary AR(1) with unit variance."""
    e = rng.standard_normal(n)
    rest = lfilter([math.sqrt(1.0 - phi**2)], [1.0, -phi], e[1:], zi=[phi * e[0]])[0]
    return np.concatenate([e[:1], rest])


def latency(x: np.ndarray) -> np.ndarray:
    return 0.1 + 0.05 * np.exp(0.5 * x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000, help="replications per case")
    reps = ap.parse_args().reps
    true = float(latency(np.array(ndtri(0.95))))
    for phi, n in CASES:
        rng = np.random.default_rng(2026)
        hit = {"series (batch means)": 0, "block bootstrap sqrt(n)": 0, "iid order statistics": 0}
        for r in range(reps):
            x = latency(ar1(rng, n, phi))
            hit["series (batch means)"] += series_ci(x, 95.0).contains(true)
            hit["block bootstrap sqrt(n)"] += cluster_bootstrap_ci(x, 95.0, max(2, math.ceil(math.sqrt(n))),
                                                                  seed=r).contains(true)
            hit["iid order statistics"] += order_statistic_ci(x, 95.0).contains(true)
        print(f"lag-1 correlation {phi}, n = {n}: " + ", ".join(f"{k} {v / reps:.3f}" for k, v in hit.items()),
              flush=True)


if __name__ == "__main__":
    main()
