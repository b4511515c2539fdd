"""Rate-adaptive LDPC accumulate (LDPCA) codes for Slepian-Wolf syndrome coding.

DSC paper Section IV-B (eqs. 33-35, Fig. 3): bit-plane ``b`` of length ``n`` is
compressed to the syndrome ``s = H b mod 2`` of an ``(l, n)`` binary linear code at
rate ``l / n`` bits per source bit; the paper uses irregular LDPC codes with
``n = 2400`` and 100 BP iterations (Section VI).

Construction (Varodayan, Aaron and Girod, "Rate-adaptive codes for distributed
source coding", Signal Processing 86(11), 2006):

* A *base* code with a square ``n x n`` sparse parity-check matrix ``H0`` is built
  once per ``(n, seed)``.  Its variable (source-bit) degrees follow a fixed
  irregular distribution (``VAR_DEGREES`` / ``VAR_FRACTIONS``), its row degrees are
  as equal as possible, and rows are grouped in ``n / K`` blocks of ``K``
  consecutive rows with at most one edge of any variable per block.
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

Rate grid: ``k / K`` for ``k = 1 .. K`` where ``K`` is the largest divisor of
``n`` not above ``MAX_STEPS`` that leaves at least ``MIN_BLOCKS`` blocks; for
``n = 2400`` that is ``K = 100`` (steps of 0.01 bit per source bit, 24 blocks).
The top grid rate 1 is the full base code; a scheme that still fails there falls
back to sending the bits uncoded (see :mod:`edgefl.coding.slepian_wolf`).

Codes are cached in memory (``functools.lru_cache``) and the base code's edge list
on disk under ``$EDGEFL_CACHE`` (default ``~/.cache/edgefl``)/``ldpc``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

#: variable-node degrees and node fractions of the base code (one distribution for
#: every rate, as in LDPCA); chosen by measured frame-error rate at n = 2400.
VAR_DEGREES = (2, 3, 4, 8)
VAR_FRACTIONS = (0.25, 0.45, 0.15, 0.15)
MAX_STEPS = 100
MIN_BLOCKS = 20
_CONSTRUCTION_VERSION = 2


@dataclass(frozen=True, eq=False)
class LDPCCode:
    """Syndrome former ``H`` (m x n) for Slepian-Wolf coding of n bits into m bits.

    Edges are numbered in check order.  ``chk_ptr[c]:chk_ptr[c+1]`` are the edges
    of check ``c``, ``edge_var[e]`` / ``edge_chk[e]`` the variable and check of edge
    ``e``, and ``var_edges[var_ptr[v]:var_ptr[v+1]]`` the edges of variable ``v``.
    ``k`` / ``steps`` is the grid rate, ``nested`` says that the syndrome bits of a
    lower grid rate of the same family are a subset of this one's uploads.
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
    nested: bool = True

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


def _grid_steps(n: int) -> int:
    if not isinstance(n, (int, np.integer)) or n < 2 * MIN_BLOCKS:
        raise ValueError(f"n must be an integer >= {2 * MIN_BLOCKS}, got {n!r}")
    for steps in range(min(MAX_STEPS, n // MIN_BLOCKS), 1, -1):
        if n % steps == 0:
            return steps
    raise ValueError(
        f"n={n} has no divisor K in [2, {MAX_STEPS}] with n/K >= {MIN_BLOCKS}; "
        "choose n with small factors, e.g. a multiple of 48 or 100"
    )


def rate_grid(n: int = 2400) -> np.ndarray:
    """Available syndrome rates m / n (ascending): k / K for k = 1..K."""
    steps = _grid_steps(int(n))
    return np.arange(1, steps + 1) / steps


@functools.lru_cache(maxsize=None)
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


def _degree_sequence(n: int, rng: np.random.Generator) -> np.ndarray:
    counts = np.floor(np.asarray(VAR_FRACTIONS) * n).astype(int)
    counts[np.argmax(counts)] += n - counts.sum()
    deg = np.repeat(np.asarray(VAR_DEGREES), counts)
    rng.shuffle(deg)
    return deg


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


def _build_base(n: int, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Edge list (rows, cols) of the square base matrix H0 (see module docstring).

    Variables are placed highest degree first (hardest to place without short
    cycles), one edge per row block, keeping row degrees within one of each other.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, steps, _CONSTRUCTION_VERSION]))
    n_blocks = n // steps
    deg = _degree_sequence(n, rng)
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


@functools.lru_cache(maxsize=16)
def _base_code(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    steps = _grid_steps(n)
    name = f"ldpca_n{n}_K{steps}_s{seed}_v{_CONSTRUCTION_VERSION}_" + "-".join(
        f"{d}x{f:g}" for d, f in zip(VAR_DEGREES, VAR_FRACTIONS)
    )
    path = _cache_dir() / f"{name}.npz"
    try:
        with np.load(path) as z:
            return z["rows"], z["cols"]
    except (OSError, KeyError, ValueError):
        pass
    rows, cols = _build_base(n, steps, seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, rows=rows, cols=cols)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs the rebuild
    return rows, cols


def segment_map(n: int, k: int) -> np.ndarray:
    """Merged-check index of every base row at grid rate k / K (length n, int64)."""
    steps = _grid_steps(n)
    if not 1 <= k <= steps:
        raise ValueError(f"k must be in [1, {steps}] for n={n}, got {k}")
    ends = np.sort(np.asarray(_block_order(steps)[:k]))
    local = np.searchsorted(ends, np.arange(steps), side="right")  # row position p < end
    blocks = np.arange(n) // steps
    return blocks * k + np.tile(local, n // steps)


def sent_positions(n: int, k: int) -> np.ndarray:
    """Indices (0-based, ascending) of the accumulated base syndrome bits sent at rate k/K."""
    steps = _grid_steps(n)
    ends = np.sort(np.asarray(_block_order(steps)[:k])) - 1
    return (np.arange(n // steps)[:, None] * steps + ends[None, :]).ravel()


@functools.lru_cache(maxsize=256)
def _code_at(n: int, k: int, seed: int) -> LDPCCode:
    steps = _grid_steps(n)
    rows, cols = _base_code(n, seed)
    chk = segment_map(n, k)[rows]
    order = np.lexsort((cols, chk))
    edge_chk = chk[order].astype(np.int32)
    edge_var = cols[order].astype(np.int32)
    m = k * (n // steps)
    chk_ptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge_chk, minlength=m), out=chk_ptr[1:])
    var_edges = np.argsort(edge_var, kind="stable").astype(np.int32)
    var_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge_var, minlength=n), out=var_ptr[1:])
    for a in (chk_ptr, edge_var, edge_chk, var_ptr, var_edges):
        a.setflags(write=False)
    return LDPCCode(n=n, m=m, chk_ptr=chk_ptr, edge_var=edge_var, edge_chk=edge_chk,
                    var_ptr=var_ptr, var_edges=var_edges, k=k, steps=steps, seed=seed)


def grid_index(rate: float, n: int = 2400) -> int:
    """Grid step k of the smallest grid rate k / K >= rate."""
    rate = float(rate)
    if not np.isfinite(rate) or rate <= 0.0 or rate > 1.0:
        raise ValueError(f"rate must be in (0, 1] bits per source bit, got {rate!r}")
    steps = _grid_steps(int(n))
    # tolerance so that rate = k/K computed in floating point maps to k, not k+1
    return max(1, int(np.ceil(rate * steps - 1e-9)))


def get_code(rate: float, n: int = 2400, seed: int = 0) -> LDPCCode:
    """Code of the smallest grid rate >= ``rate`` (cached)."""
    k = grid_index(rate, n)
    return _code_at(int(n), k, int(seed))


def code_at_step(k: int, n: int = 2400, seed: int = 0) -> LDPCCode:
    """Code of grid rate exactly k / K (cached)."""
    steps = _grid_steps(int(n))
    if not 1 <= int(k) <= steps:
        raise ValueError(f"k must be in [1, {steps}] for n={n}, got {k!r}")
    return _code_at(int(n), int(k), int(seed))


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
