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

#: variable-node degrees and node fractions of the base code (one distribution for
#: every rate, as in LDPCA); chosen by measured frame-error rate at n = 2400.
VAR_DEGREES = (2, 3, 4, 8)
VAR_FRACTIONS = (0.25, 0.45, 0.15, 0.15)
MAX_STEPS = 100
MIN_BLOCKS = 20
_CONSTRUCTION_VERSION = 1


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


def _build_base(n: int, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Edge list (rows, cols) of the square base matrix H0 (see module docstring).

    Each variable picks distinct blocks among the least loaded ones, and inside a
    block the lightest row that shares no variable with the rows it already uses
    (no 4-cycles in H0 when possible), so row degrees stay concentrated.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, steps, _CONSTRUCTION_VERSION]))
    n_blocks = n // steps
    deg = _degree_sequence(n, rng)
    if deg.max() > n_blocks:
        raise ValueError(f"max variable degree {deg.max()} exceeds the {n_blocks} row blocks of n={n}")
    row_deg = np.zeros(n, dtype=np.int64)
    block_load = np.zeros(n_blocks, dtype=np.int64)
    row_vars: list[list[int]] = [[] for _ in range(n)]
    rows_out, cols_out = [], []
    # high-degree variables first: they are the hardest to place without 4-cycles
    for v in np.argsort(-deg, kind="stable"):
        d = int(deg[v])
        noise = rng.random(n_blocks)
        blocks = np.lexsort((noise, block_load))[:d]
        neighbours: set[int] = set()
        for b in blocks:
            rows = np.arange(b * steps, (b + 1) * steps)
            clash = np.fromiter((not neighbours.isdisjoint(row_vars[r]) for r in rows), bool, steps)
            key = np.lexsort((rng.random(steps), row_deg[rows], clash))
            r = int(rows[key[0]])
            rows_out.append(r)
            cols_out.append(int(v))
            neighbours.update(row_vars[r])
            row_vars[r].append(int(v))
            row_deg[r] += 1
            block_load[b] += 1
    return np.asarray(rows_out, dtype=np.int32), np.asarray(cols_out, dtype=np.int32)


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
