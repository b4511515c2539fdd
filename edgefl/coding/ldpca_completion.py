"""Completing a frame the LDPCA ladder could not decode: the missing raw bits only, not the whole frame.

When a frame still fails at the last rung of the rate-adaptive ladder (DSC paper Sec. IV-B,
Algorithm 1), the server already holds ``m`` syndrome bits ``s = H b`` of its ``n`` source bits. A
raw fallback resends all ``n`` bits, so the failed frame costs ``m + n``. But ``s`` already pins
``b`` to a coset of dimension ``n - rank(H)``: by Gauss-Jordan elimination over GF(2),
``T H = R`` with ``R`` in reduced row-echelon form (``T`` invertible, ``r = rank(H)`` non-zero rows,
``R[:, pivots] = I``), so

    b[pivots] = (T s)[:r] + R[:r, free] b[free]   (mod 2)

and the worker needs to send only the ``n - r`` bits at the free (non-pivot) columns. The pivots
depend on ``H`` alone (both sides run the same elimination), the solution is unique, so the
decoded frame is exact. The failed frame then costs ``m + n - r`` (``= n`` when ``H`` has full
row rank, as the LDPCA codes do) instead of ``m + n``: climbing the ladder costs nothing in
bits even when it ends in a fallback, only the feedback exchanges and their latency.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba
import numpy as np

from edgefl.coding.ldpc import LDPCCode, code_at_step


@dataclass(frozen=True)
class Completion:
    """Solver of one code: ``pivots`` (r,), ``free`` (n - r,) columns, ``t`` (r, m) and ``r_free`` (r, n - r)."""

    pivots: np.ndarray
    free: np.ndarray
    t: np.ndarray
    r_free: np.ndarray

    @property
    def rank(self) -> int:
        return int(self.pivots.size)

    def solve(self, syndromes: np.ndarray, free_bits: np.ndarray) -> np.ndarray:
        """(F, n) frames from their (F, m) syndromes and the (F, n - r) bits at ``free``."""
        s = np.asarray(syndromes, dtype=np.float32)
        f = np.asarray(free_bits, dtype=np.float32)
        out = np.empty((s.shape[0], self.pivots.size + self.free.size), dtype=np.uint8)
        piv = s @ self.t.T.astype(np.float32) + f @ self.r_free.T.astype(np.float32)  # exact: sums < 2^24
        out[:, self.pivots] = (piv.astype(np.int64) & 1).astype(np.uint8)
        out[:, self.free] = np.asarray(free_bits, dtype=np.uint8)
        return out


@numba.njit(cache=True)
def _gauss_jordan(a: np.ndarray, ncols: int) -> np.ndarray:  # pragma: no cover - compiled
    """In-place GF(2) Gauss-Jordan on the packed rows ``a`` (rows x words, uint64) over the first
    ``ncols`` bit columns; returns the pivot column of each row (-1 past the rank)."""
    rows, words = a.shape
    piv = np.full(rows, -1, np.int64)
    r = 0
    for c in range(ncols):
        if r == rows:
            break
        w, bit = c >> 6, np.uint64(1) << np.uint64(c & 63)
        p = -1
        for i in range(r, rows):
            if a[i, w] & bit:
                p = i
                break
        if p < 0:
            continue
        if p != r:
            for j in range(words):
                a[p, j], a[r, j] = a[r, j], a[p, j]
        for i in range(rows):
            if i != r and a[i, w] & bit:
                for j in range(w, words):
                    a[i, j] ^= a[r, j]
        piv[r] = c
        r += 1
    return piv


def _pack(bits: np.ndarray) -> np.ndarray:
    """(rows, cols) 0/1 -> (rows, ceil(cols / 64)) uint64, bit c of a row at word c // 64, bit c % 64."""
    rows, cols = bits.shape
    words = -(-cols // 64)
    padded = np.zeros((rows, words * 64), dtype=np.uint8)
    padded[:, :cols] = bits
    return np.packbits(padded.reshape(rows, words, 64)[:, :, ::-1], axis=2).view(">u8").reshape(rows, words).astype(
        np.uint64)


def _unpack(packed: np.ndarray, cols: int) -> np.ndarray:
    rows, words = packed.shape
    b = np.unpackbits(packed.astype(">u8").view(np.uint8).reshape(rows, words, 8), axis=2)
    return b.reshape(rows, words, 64)[:, :, ::-1].reshape(rows, words * 64)[:, :cols]


def completion_of(h: np.ndarray) -> Completion:
    """:class:`Completion` of a dense (m, n) 0/1 parity-check matrix (Gauss-Jordan on ``[H | I]``)."""
    h = np.asarray(h, dtype=np.uint8)
    m, n = h.shape
    a = _pack(np.concatenate([h, np.eye(m, dtype=np.uint8)], axis=1))
    piv = _gauss_jordan(a, n)
    r = int((piv >= 0).sum())
    full = _unpack(a[:r], n + m)
    pivots = piv[:r]
    free = np.setdiff1d(np.arange(n), pivots)
    return Completion(pivots=pivots, free=free, t=full[:, n:].copy(), r_free=full[:, free].copy())


@functools.lru_cache(maxsize=12)
def _cached(n: int, k: int, seed: int, family: str, zone: int) -> Completion:
    return completion_of(_code_for(n, k, seed, family, zone).dense())


def _code_for(n: int, k: int, seed: int, family: str, zone: int) -> LDPCCode:
    from edgefl.coding.ldpc import LDPCA_ZONES, _code_at

    return _code_at(n, k, seed, family, zone) if family in LDPCA_ZONES else code_at_step(k, n, seed, family)


def completion(code: LDPCCode) -> Completion:
    """The (cached) :class:`Completion` of an LDPC code."""
    return _cached(code.n, code.k, code.seed, code.family, code.zone)


def completion_bits(code: LDPCCode, pad: int = 0) -> int:
    """Raw bits a failed frame of ``code`` sends to be completed: its free columns, less those among the
    last ``pad`` positions (padding of a partial frame, known to the decoder)."""
    comp = completion(code)
    return int((comp.free < code.n - int(pad)).sum())
