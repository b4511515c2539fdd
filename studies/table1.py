"""DSC paper Table 1: bit-plane rates of multilevel syndrome-based SW coding, K = 3,
sigma_X^2 / sigma_N^2 = 10, m = 6 (uniform quantiser, +-2 sigma_Y, see
edgefl/coding/quantizer.py), from the rate controller (eq. 45), next to the paper's
values and to the operating rates of the real LDPC codes (edgefl/coding/ldpc.py, rate
grid k/100 at n = 2400, BP with the eq. 47 LLRs, at most 100 iterations).

Operating rate of a plane: every frame is decoded at increasing grid rates (0.01
steps, the nested LDPCA ladder) and its smallest decodable rate recorded; reported are
the mean over frames (what rate-adaptive retries spend) and the 99th percentile (the
fixed rate with frame-error rate <= 1 %). Planes whose rate rounds up to 1 are sent
uncoded (operating rate 1).

    python studies/table1.py [OUT_DIR] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _dsc_common import parse_out, plt, save_figure, write_csv  # noqa: E402

from edgefl.coding.bp_decoder import decode_syndrome  # noqa: E402
from edgefl.coding.ldpc import code_at_step, grid_index, rate_grid, syndrome  # noqa: E402
from edgefl.coding.llr import SideInformationPosterior, bitplane_llr  # noqa: E402
from edgefl.coding.quantizer import UniformQuantizer, to_bitplanes  # noqa: E402
from edgefl.coding.rate_controller import semi_analytic_rates  # noqa: E402
from edgefl.coding.statistics import GradientStatistics  # noqa: E402

PAPER = np.array([
    [0.9999, 0.9986, 0.9975, 0.9961, 0.9907, 0.8424],
    [0.9859, 0.9803, 0.9740, 0.9606, 0.6395, 0.0435],
    [0.9831, 0.9775, 0.9710, 0.9490, 0.5043, 0.0166],
])


def operating_rates(frames: int, n: int = 2400, K: int = 3, m: int = 6, seed: int = 0,
                    max_iter: int = 100, planes: set[tuple[int, int]] | None = None) -> np.ndarray:
    """(K, m, frames) smallest grid rate at which each frame of each plane decodes correctly
    (1.0 = uncoded). ``planes`` limits the (worker, plane) pairs simulated (1-based); others NaN."""
    stats = GradientStatistics(10.0, 1.0)
    q = UniformQuantizer(m)
    ideal = semi_analytic_rates(stats, K, q)
    # 0.01 steps (the LDPCA grid) through the finer PEG grid: Table 1's resolution
    steps = rate_grid(n, "ldpca").size
    stride = rate_grid(n, "peg").size // steps
    rng = np.random.default_rng(seed)
    P = frames * n
    x = rng.normal(0, np.sqrt(stats.sigma_x2), P)
    scale = np.sqrt(stats.total)
    idx = np.stack([q.quantize(x + rng.normal(0, 1.0, P), scale) for _ in range(K)])
    planes_bits = to_bitplanes(idx, m)
    post = SideInformationPosterior(q, stats, P)
    out = np.full((K, m, frames), np.nan)
    for k in range(K):
        pst = post.posterior(scale)
        for i in range(1, m + 1):
            if planes is not None and (k + 1, i) not in planes:
                continue
            k0 = grid_index(max(ideal[k, i - 1], 1.0 / steps), n, "ldpca")
            if k0 >= steps:
                out[k, i - 1] = 1.0
                continue
            lower = (idx[k] & ((1 << (i - 1)) - 1)).astype(np.int64)
            llr = bitplane_llr(pst, lower, i).reshape(frames, n)
            bits = planes_bits[i - 1, k].reshape(frames, n)
            pending = np.arange(frames)
            for s in range(max(1, k0 - 2), steps):
                code = code_at_step(s * stride, n, family="peg")
                res = decode_syndrome(code, syndrome(code, bits[pending]), llr[pending], max_iter=max_iter)
                ok = res.success & np.all(res.bits == bits[pending], axis=1)
                out[k, i - 1, pending[ok]] = code.rate
                pending = pending[~ok]
                if not pending.size:
                    break
            out[k, i - 1, pending] = 1.0
        post.add(idx[k], scale)
    return out


def run(out: Path, frames: int = 20, planes: set[tuple[int, int]] | None = None) -> list[dict]:
    ideal = semi_analytic_rates(GradientStatistics(10.0, 1.0), 3, UniformQuantizer(6))
    op = operating_rates(frames, planes=planes)
    rows = []
    for k in range(3):
        for i in range(6):
            f = op[k, i]
            rows.append(dict(worker=k + 1, plane=i + 1, paper=PAPER[k, i], rate_controller=ideal[k, i],
                             ldpc_mean=float(np.mean(f)) if not np.isnan(f).all() else np.nan,
                             ldpc_p99=float(np.percentile(f, 99)) if not np.isnan(f).all() else np.nan))
    write_csv(out / "table1.csv", rows)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for k, c in zip(range(1, 4), "bgr"):
        r = [x for x in rows if x["worker"] == k]
        pl = [x["plane"] for x in r]
        ax.plot(pl, [x["paper"] for x in r], c + "o", mfc="none", label=f"worker {k} paper")
        ax.plot(pl, [x["rate_controller"] for x in r], c + "-", label=f"worker {k} rate controller")
        ax.plot(pl, [x["ldpc_mean"] for x in r], c + "x:", label=f"worker {k} LDPC (mean)")
    ax.set(xlabel="bit-plane i", ylabel="rate (bit per bit)", title="Table 1: K=3, ratio 10, m=6")
    ax.legend(fontsize=6)
    save_figure(fig, out / "table1.png")
    return rows


if __name__ == "__main__":
    out, quick = parse_out(__doc__)
    rows = run(out, frames=4 if quick else 20)
    print("worker plane   paper  controller  LDPC mean  LDPC p99")
    for r in rows:
        print(f"{r['worker']:>6} {r['plane']:>5}  {r['paper']:.4f}  {r['rate_controller']:.4f}"
              f"      {r['ldpc_mean']:.3f}     {r['ldpc_p99']:.3f}")
