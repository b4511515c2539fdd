"""LDPC codes for Slepian-Wolf syndrome coding: per-rate PEG codes and nested LDPCA codes.

DSC paper Section IV-B (eqs. 33-35, Fig. 3): bit-plane ``b`` of length ``n`` is
compressed to the syndrome ``s = H b mod 2`` of an ``(l, n)`` binary linear code at
rate ``l / n`` bits per source bit; the paper uses irregular LDPC codes with
``n = 2400`` and 100 BP iterations (Section VI).

Rate grids: ``k / K`` for ``k = 1 .. K``.  LDPCA: ``K`` is the largest divisor of
``n`` not above ``MAX_STEPS`` that leaves at least ``MIN_BLOCKS`` row blocks; for
``n = 2400`` that is ``K = 100`` (steps of 0.01 bit per source bit).  PEG codes need
no blocks, so their grid refines that one ``PEG_REFINE`` (4) times where ``n``
allows: ``K = 400`` at ``n = 2400`` (steps of 6 checks, 0.0025 bit), every LDPCA
rate is also a PEG rate.  Against the 0.01 grid this lowers the fixed-rate gap at
FER <= 1 % by about 0.003 bit (rate quantisation costs half a step on average).

Family ``"peg"`` (default of :func:`get_code`): one irregular code per grid rate,
``m = k n / K`` checks, variable degrees {2, 3, 6, 20, 30} with rate-dependent shares
(:func:`peg_distribution`), built by progressive edge growth
(PEG, Hu, Eleftheriou and Arnold, IEEE Trans. Inf. Theory 51(1), 2005: every new
edge closes the longest possible cycle, lightest check first), so check degrees
are concentrated and short cycles and low-weight codewords are rare.  Best
fixed-rate frame-error rate; a retry at a higher rate must send the whole new
syndrome.

Family ``"ldpca"`` (Varodayan, Aaron and Girod, "Rate-adaptive codes for
distributed source coding", Signal Processing 86(11), 2006), nested:

* A *base* code with a square ``n x n`` sparse parity-check matrix ``H0`` is built
  once per ``(n, seed)``.  Its variable degrees follow one irregular distribution
  (``VAR_DEGREES`` / ``VAR_FRACTIONS``), its row degrees are within one of each
  other, and rows are grouped in ``n / K`` blocks of ``K`` consecutive rows with
  at most one edge of any variable per block.
* The encoder forms the base syndrome ``s0 = H0 b`` and its running XOR
  (accumulation) ``a_i = s0_1 ^ ... ^ s0_i``.  At grid rate ``k / K`` it sends
  ``k`` accumulated bits of each block, at the block positions
  ``sorted(_block_order(K)[:k])``.  The order is nested, so going from rate
  ``k / K`` to ``k' / K`` uploads only the ``(k' - k) n / K`` *extra* bits.
* The decoder differences consecutive received accumulated bits; each difference
  is the XOR of the base syndrome bits of one *segment* of rows, i.e. the syndrome
  of the merged row "sum of the segment's rows".  Because a variable touches a
  block at most once, merged rows never cancel, and the rate-``k/K`` code is an
  ordinary LDPC code with ``m = k n / K`` rows and the same variable degrees.
  :func:`syndrome` returns exactly those differenced syndromes (checked against
  the accumulate-and-sample encoder in the tests).
* Edges are placed so that 4-cycles are avoided at every ladder level that is a
  plain halving (k = K, 64, 32, ...), finest first.  The price of nesting: at
  most grid rates the merged checks mix segment lengths (up to 2:1), which costs
  about 0.02-0.03 bit against the per-rate codes at a fixed rate.

The top grid rate 1 of LDPCA is the full base code; a scheme that still fails
there falls back to sending the bits uncoded (see :mod:`edgefl.coding.slepian_wolf`).

Families ``"ldpca-zoned"`` (sum-product) and ``"ldpca-zoned-ms"`` (min-sum): the same
ladder over one of several base codes (``LDPCA_ZONES``), chosen by the rate first
announced for the frame (:func:`ldpca_zone`, ``zone_rate`` of :func:`code_at_step`),
which encoder and decoder both know; the retries of a frame climb its base code's
ladder, so they still upload only increments.  One degree distribution cannot suit
every rate: a high syndrome rate is a low-rate channel code, which wants many degree-2
variables (up to 60 %), a low syndrome rate a high-rate code, which wants heavy
variables (degree 20) and few degree-2 ones.  Mean adaptive rate minus H(p) at n = 2400
(benchmarks/ldpca_gap.py, 300 frames per H, +-0.003), H(p) = 0.1, 0.2, ..., 0.9:

* sum-product, "ldpca": .046 .061 .065 .084 .088 .094 .099 .138 .100 (uncoded at 0.9);
  "ldpca-zoned": .046 .050 .040 .051 .056 .052 .056 .061 .067 (mean .086 -> .053);
* min-sum, "ldpca": .051 .067 .070 .092 .101 .109 .119 .161 .100; "ldpca-zoned-ms"
  (below 0.55 the single base code itself): .051 .067 .070 .092 .101 .097 .098 .092 .088
  (mean .097 -> .084).  Normalised min-sum (scale 0.75, about the best of 0.625-0.875;
  offset min-sum was worse) loses 0.02-0.07 bit to sum-product on the zoned codes.

Longer LDPCA codes: the DSC pipeline takes n = 2400 (the paper's, default), 4800 or 9600
(:data:`edgefl.coding.wyner_ziv_options.BLOCK_LENGTHS`, the lengths whose gap is measured); all three keep
K = 100 (0.01-bit steps, 24 / 48 / 96 row blocks) and the zones' degree distributions fitted at 2400.
Mean zone-of-H gap, sum-product, H = 0.1 .. 0.9 (benchmarks/ldpca_gap.py; every entry in
:data:`edgefl.coding.ldpca_model.GAP_TABLES`): .053 / .050 / .046 bit at n = 2400 / 4800 / 9600, the
gain at H = 0.3-0.7 (up to 0.013), none at H <= 0.2; min-sum gains < 0.005.  Decoding costs more per
bit: the lane-interleaved messages (edges x 16 float32 lanes: 0.8 MB at 2400, 3.2 MB at 9600)
outgrow a 1 MB L2 (best of 11 on a loaded 2-core EPYC, rate 0.5, BSC 0.06, 64 frames, one thread:
sum-product 18-26 / 11-14 / 10 Mb/s, min-sum float 117 / 99 / 56, int8 178 / 181 / 78), and
iterations grow by ~15 % at 9600.

Codes are cached in memory (``functools.lru_cache``) and their edge lists on disk
under ``$EDGEFL_CACHE`` (default ``~/.cache/edgefl``)/``ldpc``; a per-rate code takes
about 0.4 s to build at n = 2400 the first time (plus numba compilation once).  A zoned
LDPCA base code takes 0.2 s at n = 2400, 0.5-2.2 s at 9600 (peak resident memory of the
process 300 MB, numba included); its 100 ladder codes are then derived in 0.7 s.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

#: variable-node degrees and node fractions of the single "ldpca" base code (one distribution
#: for every rate, as in LDPCA); measured at n = 2400: mean adaptive rate gap 0.057,
#: 0.074, 0.089, 0.095 bit at H = 0.15, 0.35, 0.5, 0.7, and still decodes at high
#: rates, where {2, 3, 6, 20} (better below H = 0.5) sends frames uncoded
VAR_DEGREES = (2, 3, 4, 8)
VAR_FRACTIONS = (0.25, 0.45, 0.15, 0.15)
MAX_STEPS = 100
MIN_BLOCKS = 20
#: the PEG grid is this many times finer than the LDPCA one (or the largest factor below that n allows)
PEG_REFINE = 4
#: zoned LDPCA families: per zone of announced rates, (upper end of the zone's rates, variable
#: degrees, node fractions) of its base code; see :func:`ldpca_zone`.  Fitted by the mean adaptive
#: rate on the BSC at n = 2400 (benchmarks/ldpca_gap.py, 100-300 frames per H): more degree-2
#: variables at higher rates (low-rate channel codes), heavier ones at lower rates.
#: "ldpca-zoned" for sum-product, "ldpca-zoned-ms" for normalised min-sum, which loses
#: 0.02-0.07 bit more on the degree-20 variables and degree-2-rich zones sum-product likes
LDPCA_ZONES = {
    "ldpca-zoned": (
        (0.55, (2, 3, 6, 20), (0.30, 0.45, 0.12, 0.13)),
        (0.72, (2, 3, 6, 20), (0.45, 0.35, 0.10, 0.10)),
        (0.88, (2, 3, 6, 20), (0.45, 0.40, 0.10, 0.05)),
        (1.0, (2, 3, 4, 8), (0.60, 0.25, 0.08, 0.07)),
    ),
    "ldpca-zoned-ms": (
        (0.55, VAR_DEGREES, VAR_FRACTIONS),
        (0.72, (2, 3, 4, 8), (0.35, 0.40, 0.12, 0.13)),
        (0.86, (2, 3, 4, 8), (0.50, 0.30, 0.10, 0.10)),
        (1.0, (2, 3, 4, 8), (0.60, 0.25, 0.08, 0.07)),
    ),
}
FAMILIES = ("peg", "ldpca", *LDPCA_ZONES)
DEFAULT_FAMILY = "peg"
_CONSTRUCTION_VERSION = 5
#: revision of the per-rate degree distributions and their rounding; part of the
#: "peg" cache names so that no code cached by an older revision is reused
_PEG_REVISION = 2


@dataclass(frozen=True, eq=False)
class LDPCCode:
    """Syndrome former ``H`` (m x n) for Slepian-Wolf coding of n bits into m bits.

    Edges are numbered in check order.  ``chk_ptr[c]:chk_ptr[c+1]`` are the edges
    of check ``c``, ``edge_var[e]`` / ``edge_chk[e]`` the variable and check of edge
    ``e``, and ``var_edges[var_ptr[v]:var_ptr[v+1]]`` the edges of variable ``v``.
    ``k`` / ``steps`` is the grid rate and ``family`` the construction ("ldpca":
    nested ladder, "ldpca-zoned(-ms)": nested ladder of base code ``zone``, "peg": one code
    per rate, see the module docstring).
    """

    n: int
    m: int
    chk_ptr: np.ndarray
    edge_var: np.ndarray
    edge_chk: np.ndarray
    var_ptr: np.ndarray
    var_edges: np.ndarray
    k: int
    steps: int
    seed: int
    family: str = "ldpca"
    #: base code of a zoned LDPCA ladder (index into ``LDPCA_ZONES[family]``); 0 otherwise
    zone: int = 0

    @property
    def nested(self) -> bool:
        """True if a lower grid rate's uploads are a subset of this code's (LDPCA ladder)."""
        return self.family != "peg"

    @property
    def rate(self) -> float:
        """Slepian-Wolf compression rate m / n in bits per source bit (eq. 34)."""
        return self.m / self.n

    @property
    def n_edges(self) -> int:
        return int(self.edge_var.size)

    def dense(self) -> np.ndarray:
        """Dense (m, n) uint8 parity-check matrix (tests and reference decoders)."""
        h = np.zeros((self.m, self.n), dtype=np.uint8)
        h[self.edge_chk, self.edge_var] = 1
        return h


def _grid_steps(n: int, family: str = "ldpca") -> int:
    if not isinstance(n, (int, np.integer)) or n < 2 * MIN_BLOCKS:
        raise ValueError(f"n must be an integer >= {2 * MIN_BLOCKS}, got {n!r}")
    for steps in range(min(MAX_STEPS, n // MIN_BLOCKS), 1, -1):
        if n % steps == 0:
            if family == "peg":
                return steps * next(j for j in range(PEG_REFINE, 0, -1) if n % (steps * j) == 0)
            return steps
    raise ValueError(
        f"n={n} has no divisor K in [2, {MAX_STEPS}] with n/K >= {MIN_BLOCKS}; "
        "choose n with small factors, e.g. a multiple of 48 or 100"
    )


def rate_grid(n: int = 2400, family: str = DEFAULT_FAMILY) -> np.ndarray:
    """Available syndrome rates m / n (ascending) of a code family: k / K for k = 1..K."""
    steps = _grid_steps(int(n), _check_family(family))
    return np.arange(1, steps + 1) / steps


@functools.cache
def _block_order(steps: int) -> tuple[int, ...]:
    """Nested order in which the accumulated-syndrome positions 1..K of a block are sent.

    Position K goes first (segments never cross blocks); each further position
    splits the currently longest segment in its middle, so at every rate the
    merged check degrees are as even as a nested ladder allows.
    """
    order = [steps]
    segments = [(0, steps)]
    while len(order) < steps:
        i = max(range(len(segments)), key=lambda j: (segments[j][1] - segments[j][0], -segments[j][0]))
        lo, hi = segments.pop(i)
        mid = lo + (hi - lo) // 2
        order.append(mid)
        segments += [(lo, mid), (mid, hi)]
    return tuple(order)


def _degree_sequence(n: int, rng: np.random.Generator, degrees=VAR_DEGREES, fractions=VAR_FRACTIONS) -> np.ndarray:
    # largest-remainder rounding: every count within 1 of its fraction times n
    exact = np.asarray(fractions, dtype=float) * n
    counts = np.floor(exact).astype(int)
    counts[np.argsort(counts - exact, kind="stable")[: n - counts.sum()]] += 1
    deg = np.repeat(np.asarray(degrees), counts)
    rng.shuffle(deg)
    return deg


#: anchors of the per-rate ("peg") degree distributions: SW rate R = m / n, the
#: degree-2 node fraction over R, and the node fractions of degrees 6, 20 and 30;
#: linear interpolation between anchors, constant outside.  Fitted by frame-error
#: rate on the BSC at n = 2400 (sum-product, 100 iterations, 4 code seeds x 400
#: frames per point) near the FER = 1 % rates of p = 0.01, 0.03, 0.07, 0.11, 0.17
_PEG_ANCHORS = np.array([0.15, 0.27, 0.45, 0.58, 0.74])
_PEG_F2_OVER_R = np.array([0.80, 0.80, 0.82, 0.91, 0.88])
_PEG_HIGH = {6: np.array([0.08, 0.08, 0.05, 0.05, 0.06]),
             20: np.array([0.18, 0.14, 0.12, 0.10, 0.00]),
             30: np.array([0.00, 0.00, 0.00, 0.00, 0.06])}
_PEG_F2_MAX = 0.7


def peg_distribution(rate: float) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Variable degrees and node fractions of the per-rate ("peg") code of SW rate m/n.

    Degrees {2, 3, 6, 20, 30}.  Degree-2 variables help, more so at high SW rates
    (low channel-code rates), but must stay fewer than the checks (a cycle of
    degree-2 variables is a low-weight codeword): fraction about 0.8-0.9 R, at most
    0.7.  Low SW rates (few, heavy checks) need more high-degree variables (26 % at
    R = 0.15, 12 % at R = 0.74, where degree 30 beats 20); degree 3 takes the rest.
    Interpolated from ``_PEG_ANCHORS`` (fitted by frame-error rate, see there).
    Measured gap above H(p) at FER <= 1 % (benchmarks/ldpc_decoder.py, 200 frames):
    +0.069, +0.086, +0.094, +0.090, +0.082 bit at p = 0.01, 0.03, 0.07, 0.11, 0.17
    (mean 0.084; the previous {2, 3, 6, 20} rule: mean 0.094 on the same frames);
    over 1000 frames +0.069, +0.086, +0.094, +0.090, +0.092 (mean 0.086).
    """
    f2 = min(float(np.interp(rate, _PEG_ANCHORS, _PEG_F2_OVER_R)) * rate, _PEG_F2_MAX)
    high = {d: float(np.interp(rate, _PEG_ANCHORS, f)) for d, f in _PEG_HIGH.items()}
    f3 = 1.0 - f2 - sum(high.values())
    return (2, 3) + tuple(high), (f2, f3) + tuple(high.values())


def _levels(steps: int) -> np.ndarray:
    """Ladder steps k whose segments are plain halvings of the block: K, 2^j < K (finest first)."""
    ks = [steps] + [2**j for j in range(int(np.log2(steps)), -1, -1) if 2**j < steps]
    return np.asarray(ks, dtype=np.int64)


@njit(cache=True)
def _place_edges(deg, order, steps, seg, block_noise, row_noise, seg_cap):
    """Numba core of :func:`_build_base`; returns (rows, cols) of H0's edges.

    ``seg[l, r]`` is the merged check of base row r at ladder level l (finest
    first).  For each edge of a variable, the block is the least loaded one not
    used yet; inside it, among rows of near-minimal degree, the row whose merged
    checks create a 4-cycle (two variables sharing two checks) at the fewest and
    coarsest levels wins, so the codes of most grid rates have girth >= 6 and
    degree-2 variables do not pair up into weight-2 codewords.
    """
    n = deg.size
    n_levels = seg.shape[0]
    n_blocks = n // steps
    n_edges = deg.sum()
    rows_out = np.empty(n_edges, np.int32)
    cols_out = np.empty(n_edges, np.int32)
    n_checks = seg.max() + 1
    members = np.empty((n_levels, n_checks, seg_cap), np.int32)
    count = np.zeros((n_levels, n_checks), np.int64)
    stamp = np.full((n_levels, n), -1, np.int64)
    row_deg = np.zeros(n, np.int64)
    block_load = np.zeros(n_blocks, np.int64)
    used = np.zeros(n_blocks, np.bool_)
    e = 0
    for idx in range(n):
        v = order[idx]
        used[:] = False
        for j in range(deg[v]):
            best_b = -1
            for b in range(n_blocks):
                if used[b]:
                    continue
                if best_b < 0 or (block_load[b], block_noise[e, b]) < (block_load[best_b], block_noise[e, best_b]):
                    best_b = b
            used[best_b] = True
            lo = best_b * steps
            min_deg = row_deg[lo:lo + steps].min()
            best_r = -1
            best_key = (np.int64(0), np.int64(0), 0.0)
            for r in range(lo, lo + steps):
                if row_deg[r] > min_deg + 1:
                    continue
                clash = np.int64(0)
                for lv in range(n_levels):
                    c = seg[lv, r]
                    for t in range(count[lv, c]):
                        if stamp[lv, members[lv, c, t]] == v:
                            # finer levels weigh more: their cycles exist at more rates
                            clash += np.int64(1) << (n_levels - 1 - lv)
                            break
                key = (clash, row_deg[r], row_noise[e, r - lo])
                if best_r < 0 or key < best_key:
                    best_r = r
                    best_key = key
            for lv in range(n_levels):
                c = seg[lv, best_r]
                for t in range(count[lv, c]):
                    stamp[lv, members[lv, c, t]] = v
                members[lv, c, count[lv, c]] = v
                count[lv, c] += 1
            rows_out[e] = best_r
            cols_out[e] = v
            row_deg[best_r] += 1
            block_load[best_b] += 1
            e += 1
    return rows_out, cols_out


def _build_base(n: int, steps: int, seed: int, degrees=VAR_DEGREES,
                fractions=VAR_FRACTIONS) -> tuple[np.ndarray, np.ndarray]:
    """Edge list (rows, cols) of the square base matrix H0 (see module docstring).

    Variables are placed highest degree first (hardest to place without short
    cycles), one edge per row block, keeping row degrees within two of each other.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, steps, _CONSTRUCTION_VERSION]))
    n_blocks = n // steps
    deg = _degree_sequence(n, rng, degrees, fractions)
    if deg.max() > n_blocks:
        raise ValueError(f"max variable degree {deg.max()} exceeds the {n_blocks} row blocks of n={n}")
    levels = _levels(steps)
    seg = np.stack([segment_map(n, int(k)) for k in levels])
    row_cap = int(np.ceil(deg.sum() / n)) + 2
    seg_cap = row_cap * int(np.bincount(seg[-1]).max())
    order = np.argsort(-deg, kind="stable").astype(np.int64)
    n_edges = int(deg.sum())
    return _place_edges(deg.astype(np.int64), order, steps, seg, rng.random((n_edges, n_blocks)),
                        rng.random((n_edges, steps)), seg_cap)


def _cache_dir() -> Path:
    root = os.environ.get("EDGEFL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "edgefl")
    return Path(root) / "ldpc"


def _cached_edges(name: str, build) -> tuple[np.ndarray, np.ndarray]:
    """Edge list (rows, cols) from the on-disk cache, else built and stored atomically."""
    path = _cache_dir() / f"{name}_v{_CONSTRUCTION_VERSION}.npz"
    try:
        with np.load(path) as z:
            return z["rows"], z["cols"]
    except (OSError, KeyError, ValueError):
        pass
    rows, cols = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, rows=rows, cols=cols)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs the rebuild
    return rows, cols


def _dist_tag(degrees, fractions) -> str:
    return "-".join(f"{d}x{f:.4g}" for d, f in zip(degrees, fractions))


@functools.lru_cache(maxsize=16)
def _base_code(n: int, seed: int, family: str = "ldpca", zone: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Edges of the LDPCA base code: the single "ldpca" one or a zoned family's ``zone``."""
    steps = _grid_steps(n, "ldpca")
    if family == "ldpca":
        name, degrees, fractions = "ldpca", VAR_DEGREES, VAR_FRACTIONS
    else:
        (_, degrees, fractions), name = LDPCA_ZONES[family][zone], f"{family}{zone}"
    name += f"_n{n}_K{steps}_s{seed}_" + _dist_tag(degrees, fractions)
    return _cached_edges(name, lambda: _build_base(n, steps, seed, degrees, fractions))


def ldpca_zone(rate: float, family: str = "ldpca-zoned") -> int:
    """Zone (index into ``LDPCA_ZONES[family]``) of a zoned family's base code for an announced rate.

    The encoder and the decoder both know the rate announced for a frame, so each frame can
    climb the nested ladder of the base code designed for its region of rates (Varodayan et
    al. 2006 use one base code for all rates; a low-rate channel code, i.e. a high syndrome
    rate, wants many degree-2 variables, a high-rate one heavier variables).
    """
    rate = float(rate)
    if not np.isfinite(rate):
        raise ValueError(f"rate must be finite, got {rate!r}")
    if family not in LDPCA_ZONES:
        raise ValueError(f"family must be one of {tuple(LDPCA_ZONES)}, got {family!r}")
    zones = LDPCA_ZONES[family]
    return next((z for z, (top, _, _) in enumerate(zones) if rate < top), len(zones) - 1)


@njit(cache=True)
def _place_flat(deg, order, m, noise, cap):
    """Progressive edge-growth (PEG, Hu, Eleftheriou and Arnold 2005) of one m x n code.

    Variables in the given order (lowest degree first, so degree-2 variables get
    the largest girth); each new edge of variable v goes to a check out of reach
    of v in the graph so far (no cycle at all) or, if every check is reachable,
    to one reached last by the breadth-first search (the longest cycle); ties go
    to the lightest check, then at random.
    """
    n = deg.size
    n_edges = deg.sum()
    max_dv = deg.max()
    rows = np.empty(n_edges, np.int32)
    cols = np.empty(n_edges, np.int32)
    members = np.empty((m, cap), np.int32)
    count = np.zeros(m, np.int64)
    var_adj = np.empty((n, max_dv), np.int64)
    var_cnt = np.zeros(n, np.int64)
    depth = np.empty(m, np.int64)
    var_seen = np.full(n, -1, np.int64)
    frontier = np.empty(m, np.int64)
    nxt = np.empty(m, np.int64)
    e = 0
    for idx in range(n):
        v = order[idx]
        for j in range(deg[v]):
            depth[:] = -1
            reached = 0
            n_front = 0
            for t in range(var_cnt[v]):
                c = var_adj[v, t]
                depth[c] = 0
                frontier[n_front] = c
                n_front += 1
                reached += 1
            var_seen[v] = e
            level = 0
            # expand until no new check appears or all are reached
            while n_front > 0 and reached < m:
                n_next = 0
                for f in range(n_front):
                    c = frontier[f]
                    for t in range(count[c]):
                        u = members[c, t]
                        if var_seen[u] == e:
                            continue
                        var_seen[u] = e
                        for s in range(var_cnt[u]):
                            c2 = var_adj[u, s]
                            if depth[c2] < 0:
                                depth[c2] = level + 1
                                nxt[n_next] = c2
                                n_next += 1
                reached += n_next
                if n_next == 0:
                    break
                level += 1
                frontier[:n_next] = nxt[:n_next]
                n_front = n_next
            best = -1
            best_key = (np.int64(0), 0.0)
            for c in range(m):
                if j == 0 or reached < m:
                    ok = depth[c] < 0
                else:
                    ok = depth[c] == level
                if not ok or count[c] >= cap:
                    continue
                key = (count[c], noise[e, c])
                if best < 0 or key < best_key:
                    best = c
                    best_key = key
            if best < 0:  # every farthest check is full: lightest check v does not use yet
                for c in range(m):
                    if depth[c] == 0 or count[c] >= cap:
                        continue
                    key = (count[c], noise[e, c])
                    if best < 0 or key < best_key:
                        best = c
                        best_key = key
            members[best, count[best]] = v
            count[best] += 1
            var_adj[v, var_cnt[v]] = best
            var_cnt[v] += 1
            rows[e] = best
            cols[e] = v
            e += 1
    return rows, cols


def _build_peg(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, m, _CONSTRUCTION_VERSION]))
    degrees, fractions = peg_distribution(m / n)
    deg = np.minimum(_degree_sequence(n, rng, degrees, fractions), m)
    order = np.argsort(deg, kind="stable").astype(np.int64)
    n_edges = int(deg.sum())
    cap = n_edges // m + 4
    return _place_flat(deg.astype(np.int64), order, m, rng.random((n_edges, m)), cap)


def segment_map(n: int, k: int) -> np.ndarray:
    """Merged-check index of every base row at grid rate k / K (length n, int64)."""
    steps = _grid_steps(n, "ldpca")
    if not 1 <= k <= steps:
        raise ValueError(f"k must be in [1, {steps}] for n={n}, got {k}")
    ends = np.sort(np.asarray(_block_order(steps)[:k]))
    local = np.searchsorted(ends, np.arange(steps), side="right")  # row position p < end
    blocks = np.arange(n) // steps
    return blocks * k + np.tile(local, n // steps)


def sent_positions(n: int, k: int) -> np.ndarray:
    """Indices (0-based, ascending) of the accumulated base syndrome bits sent at rate k/K."""
    steps = _grid_steps(n, "ldpca")
    ends = np.sort(np.asarray(_block_order(steps)[:k])) - 1
    return (np.arange(n // steps)[:, None] * steps + ends[None, :]).ravel()


def _from_edges(n: int, m: int, rows: np.ndarray, cols: np.ndarray, **meta) -> LDPCCode:
    order = np.lexsort((cols, rows))
    edge_chk = rows[order].astype(np.int32)
    edge_var = cols[order].astype(np.int32)
    chk_ptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge_chk, minlength=m), out=chk_ptr[1:])
    var_edges = np.argsort(edge_var, kind="stable").astype(np.int32)
    var_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge_var, minlength=n), out=var_ptr[1:])
    for a in (chk_ptr, edge_var, edge_chk, var_ptr, var_edges):
        a.setflags(write=False)
    return LDPCCode(n=n, m=m, chk_ptr=chk_ptr, edge_var=edge_var, edge_chk=edge_chk,
                    var_ptr=var_ptr, var_edges=var_edges, **meta)


@functools.lru_cache(maxsize=256)
def _code_at(n: int, k: int, seed: int, family: str, zone: int = 0) -> LDPCCode:
    steps = _grid_steps(n, family)
    m = k * (n // steps)
    if family != "peg":
        rows, cols = _base_code(n, seed, family, zone)
        rows = segment_map(n, k)[rows]
    else:
        name = f"peg-r{_PEG_REVISION}_n{n}_m{m}_s{seed}_" + _dist_tag(*peg_distribution(m / n))
        rows, cols = _cached_edges(name, lambda: _build_peg(n, m, seed))
    return _from_edges(n, m, rows, cols, k=k, steps=steps, seed=seed, family=family, zone=zone)


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    return family


def grid_index(rate: float, n: int = 2400, family: str = DEFAULT_FAMILY) -> int:
    """Grid step k of the family's smallest grid rate k / K >= rate."""
    rate = float(rate)
    if not np.isfinite(rate) or rate <= 0.0 or rate > 1.0:
        raise ValueError(f"rate must be in (0, 1] bits per source bit, got {rate!r}")
    steps = _grid_steps(int(n), _check_family(family))
    # tolerance so that rate = k/K computed in floating point maps to k, not k+1
    return max(1, int(np.ceil(rate * steps - 1e-9)))


def get_code(rate: float, n: int = 2400, seed: int = 0, family: str = DEFAULT_FAMILY,
             zone_rate: float | None = None) -> LDPCCode:
    """Code of the smallest grid rate >= ``rate`` (cached); see :func:`code_at_step` for ``zone_rate``."""
    k = grid_index(rate, n, family)
    return code_at_step(k, n, seed, family, zone_rate)


def code_at_step(k: int, n: int = 2400, seed: int = 0, family: str = DEFAULT_FAMILY,
                 zone_rate: float | None = None) -> LDPCCode:
    """Code of the family's grid rate exactly k / K (cached).

    ``zone_rate`` (zoned LDPCA families only) is the rate first announced for the frame, which
    picks the ladder's base code (:func:`ldpca_zone`); default: this code's own rate k / K.
    """
    steps = _grid_steps(int(n), _check_family(family))
    if not 1 <= int(k) <= steps:
        raise ValueError(f"k must be in [1, {steps}] for n={n}, got {k!r}")
    zone = 0
    if family in LDPCA_ZONES:
        zone = ldpca_zone(int(k) / steps if zone_rate is None else zone_rate, family)
    return _code_at(int(n), int(k), int(seed), family, zone)


def check_bits(name: str, bits: np.ndarray, n: int | None = None) -> np.ndarray:
    """Validate a (F, n) array of 0/1 bits and return it as contiguous uint8."""
    arr = np.asarray(bits)
    if arr.dtype != np.bool_ and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer or bool bits, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (frames, length), got shape {arr.shape}")
    if n is not None and arr.shape[1] != n:
        raise ValueError(f"{name} must have {n} columns, got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(f"{name} must contain only 0 and 1, got values in [{arr.min()}, {arr.max()}]")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def syndrome(code: LDPCCode, bits: np.ndarray) -> np.ndarray:
    """Syndromes s = H b mod 2 (DSC paper eq. 33 context): (F, n) uint8 -> (F, m) uint8."""
    b = check_bits("bits", bits, code.n)
    gathered = b[:, code.edge_var]
    return np.bitwise_xor.reduceat(gathered, code.chk_ptr[:-1], axis=1).astype(np.uint8)
