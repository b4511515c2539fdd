"""Rate gap of the rate-adaptive LDPCA ladder above the Slepian-Wolf bound, H(p) = 0.1 .. 0.9.

Run:  python benchmarks/ldpca_gap.py [--n 2400] [--frames 300] [--algorithm min-sum sum-product] [--max-iter 100]
      [--ladder single|zoned] [--zones 0 1 2 3] [--target-ci 0.005 --max-frames 2000]

For each BSC crossover p with H(p) in {0.1, ..., 0.9} (the conditional entropy of a uniform
source bit given its side information), ``--frames`` random frames of n = ``--n`` (2400) bits are
coded with the nested LDPCA codes of :mod:`edgefl.coding.ldpc` and decoded as the DSC
pipeline does (:func:`edgefl.coding.slepian_wolf.sw_decode_adaptive`: layered lanes,
``--max-iter`` iterations, 16 hash bits), climbing the ladder one grid step (0.01 bit) at a
time from ``H(p) - --below`` until the syndrome and the hash both match.  The figure of merit
is the LDPCA papers' (Varodayan, Aaron and Girod, Signal Processing 86(11), 2006, Fig. 5-6):
the mean syndrome rate per frame at which decoding first succeeds, minus H(p).  The 16 hash
bits (0.0067 bit per source bit at n = 2400) are not part of that rate.  The table gives the
gap, its 95 % confidence half-width (1.96 standard errors over frames), the fraction of
frames that already decoded at the start rate (must be ~0, else lower the start), frames that
needed the uncoded fallback, and undetected errors (decoded bits != source bits with the
syndrome and hash matching; must be 0).  Frames and codes are seeded: the output is
deterministic for a given numba build.  ``--ladder zoned`` takes the base code of the zone of
H(p) itself (the rate an exact estimator would announce; the ladder still starts lower), or
with ``--zone-margin 0.03 --zone-slope 0.2`` of the rate the fixed margin policy would announce.

Measured (300 frames per H, frame seeds 100.., code seed 0, max_iter 100; gap +-0.003):

  H(p)                         0.1   0.2   0.3   0.4   0.5   0.6   0.7   0.8   0.9   mean
  sum-product, single ladder  .046  .061  .065  .084  .088  .094  .099  .138  .100u .086
  sum-product, zoned          .046  .050  .040  .051  .056  .052  .056  .061  .067  .053
  min-sum 0.75, single        .051  .067  .070  .092  .101  .109  .119  .161  .100u .097
  min-sum 0.75, zoned         .051  .067  .070  .092  .101  .097  .098  .092  .088  .084

(u: every frame, or 13 % (sum-product) / 11 % (min-sum) at H = 0.8, failed up to rate 1 and
went uncoded; zoned min-sum still sends 20 % uncoded at 0.9.)  Undetected errors: 0 in every
row.  Commands: ``--algorithm sum-product min-sum --ladder single`` / ``--ladder zoned``.
Zone picked from the fixed margin policy's announced rate (``--zone-margin 0.03 --zone-slope
0.2``), sum-product, H = 0.4 .. 0.8: .047 .075 .072 .057 .061 (a higher zone than H's own at
0.5 and 0.6, still below the single ladder's .084 .088 .094 .099 .138).

Longer codes (``--n 4800 --frames 60 --max-frames 600`` / ``--n 9600 --frames 40 --max-frames 400``, both
``--target-ci 0.005 --ladder zoned --zones 0 1 2 3`` and ``--ladder single``; every row of
edgefl.coding.ldpca_model.GAP_TABLES, 180 points, 24,460 frames, 0 undetected errors).  Zone of H:

  H(p)                          0.1   0.2   0.3   0.4   0.5   0.6   0.7   0.8   0.9   mean
  sum-product, zoned, n = 2400  .046  .050  .040  .051  .056  .052  .056  .061  .067  .053
                      n = 4800  .044  .045  .034  .049  .058  .049  .052  .054  .066  .050
                      n = 9600  .044  .044  .030  .038  .048  .040  .048  .056  .064  .046
  min-sum 0.75, zoned, n = 9600 .050  .063  .066  .091  .097  .095  .095  .088  .088  .081

Min-sum gains almost nothing from length (its approximation, not the length, sets its gap); the single
ladder at 9600: sum-product .042 .055 .060 .079 .085 .092 .094 .131 (uncoded at 0.9).  ``--target-ci``
adds batches of ``--frames`` frames (seeds + 1000 per batch) until the half-width is reached; the spread of
the per-frame rates narrows with n (H = 0.5, zone 0: 0.02-0.15 above H at 2400, 0.02-0.07 at 9600), but a
rare frame needs 0.2 more (one in 60 at 4800), so a point may take several batches.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from edgefl.coding.ldpc import LDPCA_ZONES, rate_grid
from edgefl.coding.slepian_wolf import sw_decode_adaptive

N = 2400
ENTROPIES = tuple(round(0.1 * i, 1) for i in range(1, 10))


def h2(p: float) -> float:
    """Binary entropy in bits."""
    return float(-p * np.log2(p) - (1 - p) * np.log2(1 - p))


def crossover(h: float) -> float:
    """The p <= 1/2 with H(p) = h (bisection)."""
    lo, hi = 1e-12, 0.5
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if h2(mid) < h else (lo, mid)
    return 0.5 * (lo + hi)


def bsc_frames(p: float, frames: int, seed: int, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """Uniform source bits b (frames, n) and the LLRs of their BSC(p) side information."""
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 2, size=(frames, n), dtype=np.uint8)
    x = b ^ (rng.random((frames, n)) < p).astype(np.uint8)
    return b, np.log((1 - p) / p) * (1.0 - 2.0 * x)


def family(ladder: str, algorithm: str) -> str:
    """LDPC family of the ladder for the decoder's algorithm (as edgefl.coding.wyner_ziv.ladder_family)."""
    if ladder == "single":
        return "ldpca"
    return "ldpca-zoned-ms" if algorithm == "min-sum" else "ldpca-zoned"


def zone_rate(h: float, args, algorithm: str, zone: int | None) -> float:
    """Announced rate that picks the ladder's base code: inside ``zone`` if given, else the margin rule."""
    if zone is None:
        return min(1.0, args.zone_margin + (1.0 + args.zone_slope) * h)
    zones = LDPCA_ZONES[family("zoned", algorithm)]
    lo = zones[zone - 1][0] if zone else 0.0
    return 0.5 * (lo + zones[zone][0])


def gap_batch(h: float, args, algorithm: str, seed: int, zone: int | None = None) -> dict:
    """Adaptive rates of ``--frames`` frames at one entropy (on the ladder of ``zone``, if given)."""
    p = crossover(h)
    b, llr = bsc_frames(p, args.frames, seed, args.n)
    steps = rate_grid(args.n, "ldpca").size
    start = max(1, int(np.floor((h - args.below) * steps))) / steps
    kwargs = {"max_iter": args.max_iter, "algorithm": algorithm, "arithmetic": args.arithmetic}
    if algorithm == "min-sum":
        kwargs["scale"] = args.scale
    res, _, rate = sw_decode_adaptive(b, llr, start, step=1, fallback="uncoded", hash_bits=16,
                                      seed=args.code_seed, family=family(args.ladder, algorithm),
                                      zone_rate=zone_rate(h, args, algorithm, zone), **kwargs)
    return {"p": p, "rate": np.where(res.uncoded, 1.0, rate), "at_start": res.attempts == 1,
            "uncoded": res.uncoded, "undetected": res.undetected, "iterations": res.iterations}


def gap_row(h: float, args, algorithm: str, seed: int, zone: int | None = None) -> dict:
    """Mean adaptive rate minus H for one entropy: batches of ``--frames`` frames (frame seeds ``seed``,
    ``seed + 1000``, ...) until the 95 % half-width is at most ``--target-ci`` or ``--max-frames`` are in."""
    parts = []
    while True:
        parts.append(gap_batch(h, args, algorithm, seed + 1000 * len(parts), zone))
        rate = np.concatenate([q["rate"] for q in parts])
        ci = 1.96 * rate.std(ddof=1) / np.sqrt(rate.size)
        if args.target_ci is None or ci <= args.target_ci or rate.size + args.frames > args.max_frames:
            break
    cat = {k: np.concatenate([q[k] for q in parts]) for k in ("at_start", "uncoded", "undetected", "iterations")}
    return {"h": h, "p": parts[0]["p"], "gap": rate.mean() - h, "ci": ci, "frames": rate.size,
            "at_start": float(cat["at_start"].mean()), "uncoded": int(cat["uncoded"].sum()),
            "undetected": int(cat["undetected"].sum()), "iterations": float(cat["iterations"].sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per entropy")
    parser.add_argument("--target-ci", type=float, default=None,
                        help="add batches of --frames frames until the gap's 95 %% half-width is at most this")
    parser.add_argument("--max-frames", type=int, default=2000, help="--target-ci: at most this many frames per H")
    parser.add_argument("--n", type=int, default=N, help="block length (the DSC paper's 2400)")
    parser.add_argument("--algorithm", nargs="+", default=["min-sum"], choices=["min-sum", "sum-product"])
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--scale", type=float, default=0.75, help="min-sum normalisation")
    parser.add_argument("--arithmetic", default="float", choices=["float", "int8", "int16"])
    parser.add_argument("--below", type=float, default=0.05, help="start rate: H(p) minus this")
    parser.add_argument("--entropies", type=float, nargs="+", default=list(ENTROPIES))
    parser.add_argument("--ladder", default="single", choices=["single", "zoned"],
                        help="single: one base code (family ldpca); zoned: base code of the zone of rate "
                        "H(p), fitted for the algorithm (ldpca-zoned / ldpca-zoned-ms)")
    parser.add_argument("--zone-margin", type=float, default=0.0,
                        help="zoned: pick the zone of margin + (1 + slope) H, the rate a margin policy announces")
    parser.add_argument("--zone-slope", type=float, default=0.0)
    parser.add_argument("--zones", type=int, nargs="+", default=None,
                        help="zoned: one table row per zone, every frame on that zone's ladder whatever its H "
                        "(the rows of edgefl.coding.ldpca_model.GAP_TABLES)")
    parser.add_argument("--code-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=100, help="frame seed of the first entropy")
    parser.add_argument("--threads", type=int, default=None, help="numba threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
    if args.zones is not None and args.ladder != "zoned":
        parser.error("--zones needs --ladder zoned")
    for algorithm in args.algorithm:
        label = algorithm + (f" (scale {args.scale})" if algorithm == "min-sum" else "")
        for zone in args.zones if args.zones is not None else [None]:
            where = "" if zone is None else f", every frame on the ladder of zone {zone}"
            print(f"== {family(args.ladder, algorithm)} n={args.n}, {label}, layered lanes {args.arithmetic}, "
                  f"max_iter {args.max_iter}, {args.frames} frames per H, code seed {args.code_seed}{where}")
            print(f"{'H(p)':>5} {'p':>7} {'gap':>7} {'+-95%':>6} {'frames':>6} {'at start':>8} {'uncoded':>7} "
                  f"{'undet':>5}")
            rows = []
            t0 = time.perf_counter()
            for i, h in enumerate(args.entropies):
                r = gap_row(h, args, algorithm, args.seed + i, zone)
                rows.append(r)
                print(f"{h:5.2f} {r['p']:7.4f} {r['gap']:7.4f} {r['ci']:6.4f} {r['frames']:6d} {r['at_start']:8.3f} "
                      f"{r['uncoded']:7d} {r['undetected']:5d}", flush=True)
            seconds = time.perf_counter() - t0
            bits = sum(r["iterations"] for r in rows) * args.n
            print(f"mean gap {np.mean([r['gap'] for r in rows]):.4f} bit ({seconds:.0f} s, "
                  f"{bits / seconds / 1e6:.1f} Mb/s x iterations)")
            # the row as edgefl.coding.ldpca_model.GAP_TABLES holds it: U where most frames went uncoded
            cells = ", ".join("U" if r["uncoded"] > r["frames"] / 2 else f"{r['gap']:.3f}".lstrip("0") for r in rows)
            print(f"table row: ({cells}),")

if __name__ == "__main__":
    main()
