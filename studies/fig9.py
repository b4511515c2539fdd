"""DSC paper Fig. 9: rate of each worker vs sigma_X^2 / sigma_N^2 for one-bit quantisation,
K = 5 (rate controller eq. 45, semi-analytical probabilities eq. 44 on a quadrature grid;
the paper used L = 10^6 samples).

    python studies/fig9.py [OUT_DIR] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _dsc_common import line_plot, parse_out, write_csv  # noqa: E402

from edgefl.coding.quantizer import UniformQuantizer  # noqa: E402
from edgefl.coding.rate_controller import semi_analytic_rates  # noqa: E402
from edgefl.coding.statistics import GradientStatistics  # noqa: E402

RATIOS = tuple(np.round(np.logspace(-1, 3, 25), 4))


def run(out: Path, ratios=RATIOS, K: int = 5) -> list[dict]:
    q = UniformQuantizer(1)
    rows = []
    for r in ratios:
        rates = semi_analytic_rates(GradientStatistics(float(r), 1.0), K, q)[:, 0]
        rows += [dict(ratio=float(r), worker=k + 1, rate=float(rates[k])) for k in range(K)]
    write_csv(out / "fig9.csv", rows)
    series = [(f"worker {k}", [x["ratio"] for x in rows if x["worker"] == k],
               [x["rate"] for x in rows if x["worker"] == k], ".-") for k in range(1, K + 1)]
    line_plot(out / "fig9.png", series, xscale="log", xlabel="sigma_X^2 / sigma_N^2",
              ylabel="rate (bit per parameter)", title=f"Fig. 9: one-bit DSC rates, K={K}")
    return rows


if __name__ == "__main__":
    out, quick = parse_out(__doc__)
    rows = run(out, ratios=(0.1, 1.0, 10.0, 100.0) if quick else RATIOS)
    for r in rows:
        if r["ratio"] in (0.1, 1.0, 10.0, 100.0):
            print(f"ratio {r['ratio']:>8}: worker {r['worker']} rate {r['rate']:.4f}")
