"""numpy's keyed random streams in numba: ``default_rng(SeedSequence(entropy, spawn_key=key)).random()``.

The links' failure draws are keyed by (round, worker, upload) (:func:`edgefl.sim.round_timing.keyed_link_rng`):
one :class:`numpy.random.SeedSequence` and one PCG64 generator per upload. Making those objects costs
about 20 us per upload, more than a whole HARQ upload in a compiled loop, so the batched upload
kernels rebuild the same doubles here from the same key:

* SeedSequence (O'Neill's seed_seq hashing, numpy ``bit_generator.pyx``): the key's 32-bit words
  (entropy padded with zeros to the pool size, then the spawn key) hashed into a pool of 4 words,
  the pool hashed into 4 64-bit words of state (``generate_state(4, uint64)``);
* PCG64 (O'Neill, "PCG: a family of simple fast space-efficient statistically good algorithms for
  random number generation", HMC-CS-2014-0905, 2014): 128-bit LCG state, seeded as
  ``pcg_setseq_128_srandom_r`` (state words 0, 1 the initial state, 2, 3 the stream), output
  XSL-RR 128/64; a double is ``(next64 >> 11) * 2^-53`` (numpy ``random_standard_uniform``).

Every double equals numpy's (tests/test_keyed_draws.py compares them on random keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

_INIT_A = np.uint32(0x43B0D7E5)
_MULT_A = np.uint32(0x931E8875)
_INIT_B = np.uint32(0x8B51F9DD)
_MULT_B = np.uint32(0x58F38DED)
_MIX_L = np.uint32(0xCA01F9DD)
_MIX_R = np.uint32(0x4973F715)
_S16 = np.uint32(16)
_POOL = 4
_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
#: PCG_DEFAULT_MULTIPLIER_128 = 2549297995355413924 * 2^64 + 4865540595714422341
_MUL_HI = np.uint64(2549297995355413924)
_MUL_LO = np.uint64(4865540595714422341)


def key_words(values: tuple[int, ...] | list[int]) -> np.ndarray:
    """The uint32 words numpy's SeedSequence makes of a tuple of non-negative ints (each little-endian,
    0 as one word)."""
    out: list[int] = []
    for v in values:
        v = int(v)
        if v < 0:
            raise ValueError(f"seed words must be >= 0, got {v}")
        if v == 0:
            out.append(0)
        while v > 0:
            out.append(v & 0xFFFFFFFF)
            v >>= 32
    return np.array(out, dtype=np.uint32)


def entropy_prefix(entropy: int | Sequence[int], spawn_key: tuple[int, ...]) -> np.ndarray:
    """The assembled entropy of ``SeedSequence(entropy, spawn_key=spawn_key + more)`` before the
    words of ``more`` (which must be non-empty): entropy words padded with zeros to the pool size,
    then the spawn key's words."""
    run = key_words(tuple(entropy) if isinstance(entropy, Sequence) else (entropy,))
    if run.size < _POOL:
        run = np.concatenate([run, np.zeros(_POOL - run.size, dtype=np.uint32)])
    return np.concatenate([run, key_words(spawn_key)])


@dataclass(frozen=True)
class KeyedDraws:
    """The keyed streams of a round's uploads: row i draws from
    ``default_rng(SeedSequence(entropy, spawn_key=(*spawn_key, round, workers[i], upload)))``,
    ``prefix`` = :func:`entropy_prefix` (entropy, spawn_key)."""

    prefix: np.ndarray
    round: int
    workers: np.ndarray
    upload: int

    @classmethod
    def of(cls, seed: np.random.SeedSequence, round: int, workers: np.ndarray, upload: int) -> KeyedDraws | None:
        """The streams of ``keyed_link_rng(seed, round, workers[i], upload)``; None when a key word does
        not fit in 32 bits (the compiled twin takes one word each)."""
        w = np.asarray(workers, dtype=np.int64)
        if not (0 <= round < 2**32 and 0 <= upload < 2**32) or (w.size and (w.min() < 0 or w.max() >= 2**32)):
            return None
        return cls(entropy_prefix(seed.entropy, tuple(seed.spawn_key)), int(round), w, int(upload))


# _nrt=False: no reference counting in this helper (it allocates nothing and only reads and writes arrays its
# caller holds); the kernels call it per pass, where counting each array argument in and out cost more
# than the arithmetic
@njit(cache=True, _nrt=False)
def _hashmix(value: np.uint32, hc: np.ndarray) -> np.uint32:
    value = np.uint32(value ^ hc[0])
    hc[0] = np.uint32(hc[0] * _MULT_A)
    value = np.uint32(value * hc[0])
    return np.uint32(value ^ (value >> _S16))


@njit(cache=True, _nrt=False)
def _mix(x: np.uint32, y: np.uint32) -> np.uint32:
    r = np.uint32(np.uint32(_MIX_L * x) - np.uint32(_MIX_R * y))
    return np.uint32(r ^ (r >> _S16))


@njit(cache=True, _nrt=False)
def _mul64(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    """(high, low) 64-bit words of the 128-bit product a b."""
    a_lo = a & _M32
    a_hi = a >> _S32
    b_lo = b & _M32
    b_hi = b >> _S32
    ll = a_lo * b_lo
    lh = a_lo * b_hi
    hl = a_hi * b_lo
    hh = a_hi * b_hi
    mid = (ll >> _S32) + (lh & _M32) + (hl & _M32)
    lo = (ll & _M32) | ((mid & _M32) << _S32)
    hi = hh + (lh >> _S32) + (hl >> _S32) + (mid >> _S32)
    return hi, lo


@njit(cache=True, _nrt=False)
def _step(st: np.ndarray) -> None:
    """state = state * MULT + inc (mod 2^128); st = [state_hi, state_lo, inc_hi, inc_lo]."""
    hi, lo = _mul64(st[1], _MUL_LO)
    hi = hi + st[1] * _MUL_HI + st[0] * _MUL_LO
    new_lo = lo + st[3]
    carry = np.uint64(1) if new_lo < lo else np.uint64(0)
    st[0] = hi + st[2] + carry
    st[1] = new_lo


@njit(cache=True)
def seed_state(prefix: np.ndarray, a: int, b: int, c: int, st: np.ndarray) -> None:
    """PCG64 state ``st`` (4 uint64) of ``default_rng(SeedSequence(...))`` whose assembled entropy
    is ``prefix`` followed by the words of the three ints a, b, c (each < 2^32)."""
    n = prefix.size + 3
    ent = np.empty(n, dtype=np.uint32)
    ent[: prefix.size] = prefix
    ent[prefix.size] = np.uint32(a)
    ent[prefix.size + 1] = np.uint32(b)
    ent[prefix.size + 2] = np.uint32(c)
    hc = np.empty(1, dtype=np.uint32)
    hc[0] = _INIT_A
    pool = np.empty(_POOL, dtype=np.uint32)
    for i in range(_POOL):
        pool[i] = _hashmix(ent[i] if i < n else np.uint32(0), hc)
    for i_src in range(_POOL):
        for i_dst in range(_POOL):
            if i_src != i_dst:
                pool[i_dst] = _mix(pool[i_dst], _hashmix(pool[i_src], hc))
    for i_src in range(_POOL, n):
        for i_dst in range(_POOL):
            pool[i_dst] = _mix(pool[i_dst], _hashmix(ent[i_src], hc))
    # generate_state(4, uint64): 8 uint32 words cycling over the pool, paired little-endian
    words = np.empty(8, dtype=np.uint64)
    h = _INIT_B
    for i in range(8):
        v = np.uint32(pool[i % _POOL] ^ h)
        h = np.uint32(h * _MULT_B)
        v = np.uint32(v * h)
        v = np.uint32(v ^ (v >> _S16))
        words[i] = np.uint64(v)
    s_hi = words[0] | (words[1] << _S32)
    s_lo = words[2] | (words[3] << _S32)
    i_hi = words[4] | (words[5] << _S32)
    i_lo = words[6] | (words[7] << _S32)
    # pcg_setseq_128_srandom_r: inc = (initseq << 1) | 1; state = 0; step; state += initstate; step
    st[2] = (i_hi << np.uint64(1)) | (i_lo >> np.uint64(63))
    st[3] = (i_lo << np.uint64(1)) | np.uint64(1)
    st[0] = np.uint64(0)
    st[1] = np.uint64(0)
    _step(st)
    lo = st[1] + s_lo
    carry = np.uint64(1) if lo < st[1] else np.uint64(0)
    st[0] = st[0] + s_hi + carry
    st[1] = lo
    _step(st)


@njit(cache=True, _nrt=False)
def next_double(st: np.ndarray) -> float:
    """The next ``Generator.random()`` double of the PCG64 state ``st``."""
    _step(st)
    x = st[0] ^ st[1]
    rot = st[0] >> np.uint64(58)
    out = (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))
    return float(out >> np.uint64(11)) * (1.0 / 9007199254740992.0)
