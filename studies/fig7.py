"""DSC paper Fig. 7: mean estimated rate vs number of samples L, semi-analytical (eq. 44)
vs traditional (eq. 42) Monte Carlo; one-bit quantisation, sigma_X^2 = 10, sigma_N^2 = 1,
K = 10, rate of worker 10 (9 side-information workers, 2^9 conditions), 100 simulations.

Ground truth: the same eq. (45) with a deterministic quadrature over x (the paper used
L = 10^9 semi-analytical samples).

    python studies/fig7.py [OUT_DIR] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _dsc_common import line_plot, parse_out, write_csv  # noqa: E402

from edgefl.coding.quantizer import UniformQuantizer  # noqa: E402
from edgefl.coding.rate_controller import semi_analytic_rates, traditional_mc_rates  # noqa: E402
from edgefl.coding.statistics import GradientStatistics  # noqa: E402

SAMPLES = (10, 30, 100, 300, 1000, 3000, 10000, 100000)


def run(out: Path, samples=SAMPLES, simulations: int = 100, K: int = 10, seed: int = 0) -> list[dict]:
    stats = GradientStatistics(10.0, 1.0)
    q = UniformQuantizer(1)
    truth = float(semi_analytic_rates(stats, K, q, positions=[K])[K - 1, 0])
    rng = np.random.default_rng(seed)
    rows = []
    for L in samples:
        semi = [semi_analytic_rates(stats, K, q, "mc", L, rng, positions=[K])[K - 1, 0] for _ in range(simulations)]
        trad = [traditional_mc_rates(stats, K, q, L, rng, positions=[K])[K - 1, 0] for _ in range(simulations)]
        for name, est in (("semi-analytical", semi), ("traditional", trad)):
            est = np.asarray(est)
            rows.append(dict(L=L, method=name, mean_rate=est.mean(), std_rate=est.std(ddof=1),
                             cv=est.std(ddof=1) / est.mean() if est.mean() > 0 else np.nan, truth=truth))
    write_csv(out / "fig7.csv", rows)
    series = [(name, [x["L"] for x in rows if x["method"] == name], [x["mean_rate"] for x in rows if x["method"] == name],
               fmt) for name, fmt in (("semi-analytical", "o-"), ("traditional", "s--"))]
    series.append(("ground truth", [samples[0], samples[-1]], [truth, truth], "k-"))
    line_plot(out / "fig7.png", series, xscale="log", xlabel="number of samples L",
              ylabel=f"mean estimated rate of worker {K}", title="Fig. 7: sigma_X^2=10, sigma_N^2=1, K=10")
    return rows


if __name__ == "__main__":
    out, quick = parse_out(__doc__)
    rows = run(out, samples=(10, 100, 1000) if quick else SAMPLES, simulations=30 if quick else 100)
    for r in rows:
        print(f"L={r['L']:>7} {r['method']:>16}: mean {r['mean_rate']:.4f} (truth {r['truth']:.4f}) cv {r['cv']:.3f}")
