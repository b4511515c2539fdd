"""DSC paper Fig. 8: coefficient of variation of the estimated rate vs the worker index k,
semi-analytical (eq. 44) vs traditional (eq. 42) Monte Carlo; one-bit quantisation,
sigma_X^2 = 10, sigma_N^2 = 1, L = 100 samples, 100 simulations. The semi-analytical CV
stays flat in k, the traditional one grows (its 2^(k-1) conditions starve of samples).

    python studies/fig8.py [OUT_DIR] [--quick]
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


def run(out: Path, K: int = 10, samples: int = 100, simulations: int = 100, seed: int = 0) -> list[dict]:
    stats = GradientStatistics(10.0, 1.0)
    q = UniformQuantizer(1)
    rng = np.random.default_rng(seed)
    semi = np.array([semi_analytic_rates(stats, K, q, "mc", samples, rng)[:, 0] for _ in range(simulations)])
    trad = np.array([traditional_mc_rates(stats, K, q, samples, rng)[:, 0] for _ in range(simulations)])
    rows = []
    for name, est in (("semi-analytical", semi), ("traditional", trad)):
        for k in range(2, K + 1):
            e = est[:, k - 1]
            rows.append(dict(worker=k, method=name, mean_rate=e.mean(),
                             cv=e.std(ddof=1) / e.mean() if e.mean() > 0 else np.nan))
    write_csv(out / "fig8.csv", rows)
    series = [(name, [r["worker"] for r in rows if r["method"] == name], [r["cv"] for r in rows if r["method"] == name],
               fmt) for name, fmt in (("semi-analytical", "o-"), ("traditional", "s--"))]
    line_plot(out / "fig8.png", series, xlabel="worker index k", ylabel="coefficient of variation",
              title=f"Fig. 8: L={samples}, sigma_X^2=10, sigma_N^2=1")
    return rows


if __name__ == "__main__":
    out, quick = parse_out(__doc__)
    for r in run(out, simulations=30 if quick else 100):
        print(f"k={r['worker']:>2} {r['method']:>16}: mean {r['mean_rate']:.4f} cv {r['cv']:.3f}")
