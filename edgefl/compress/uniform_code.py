"""The uniform compressor of the AIADE paper's Lemma 2.1: ||D(E(x)) - x||_2 <= sigma.

AIADE paper (``004``), Sec. 2.1, Lemma 2.1: for S = {x in R^d : ||x|| <= M} and
eps = sigma / M, at least ceil(d log2(1/eps)) bits are needed and
ceil(1.05 d + d log2((1 + 2 eps) / eps)) bits suffice.

Construction used here (and why it meets the lemma):

* **Lattice.** x is rounded to the cubic lattice delta Z^d with delta = 2 sigma / sqrt(d):
  each coordinate errs by at most delta / 2, so ||x_hat - x|| <= sqrt(d) delta / 2 = sigma
  (the error bound holds for every x, deterministically). With ``dither`` (IADE-SGD's
  unbiased Q) a uniform shift u in [0, 1)^d, shared through the seed, is added before
  rounding and removed after: same bound, and E[x_hat] = x (subtractive dither).
* **Which lattice points.** n = round(x / delta) has ||n|| <= ||x|| / delta + sqrt(d) / 2
  <= R = sqrt(d) (1 + eps) / (2 eps). The paper's count of lattice points in that ball,
  V_d R^d ~ (pi e / 2)^(d/2) ((1 + eps) / eps)^d / sqrt(pi d), is where its
  1.05 d = d log2 sqrt(pi e / 2) comes from.
* **Index of the point.** Enumerating the ball's points exactly needs a d x R^2 table of
  big integers, so the point is coded instead with an exact arithmetic code under the
  discrete Gaussian model p(n) ~ exp(-n^2 / (2 tau^2)), the maximum-entropy model for a
  lattice point of given energy: its length is
  -log2 p(n) = ||n||^2 / (2 tau^2 ln 2) + d log2(sqrt(2 pi) tau), which for
  ||n||^2 = d tau^2 is d log2 tau + d log2 sqrt(2 pi e) = d log2(1 / eps) + 1.0471 d
  (tau ~ 1 / (2 eps), below), under the lemma's bound by d log2(1 + 2 eps) + 0.0029 d
  plus its ceiling; termination adds under one bit. For small d at tiny eps the
  fixed-length product code (every coordinate in [-N, N], ceil(d log2(2N + 1)) bits) is
  used whenever it is not longer. Which of the two was used follows from the string
  length (the product code's length is fixed), so no flag bit is spent.
  ``tests/test_compress_uniform.py`` checks the bound on random vectors, d = 1..640.
* **M on the air.** The decoder must know M: the encoder sends float32(||x||) rounded up
  (32 bits) ahead of the index; eps >= 1 (||x|| <= sigma) sends the header alone and
  decodes to 0.

The arithmetic code is exact (Python integers, total frequency 2^B): interval
[A, A + W) in units of 2^(-B d) with W = prod f(n_j); the codeword is the shortest
m 2^(-l) inside it (l <= ceil(-log2 P(n)), i.e. under one bit of termination overhead; the
receiver knows l from the message length and pads with zeros). :func:`quantize` runs the
same interval arithmetic, so its bit count equals ``len(encode(...))``. The model's
tau^2 = (M / delta)^2 / d + 1/12 is the second moment of n_j for ||x|| = M (the header
tells the decoder), which makes the length d log2(1 / eps) + 1.047 d + 1 at most for
vectors of norm M.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from edgefl.compress.bitstream import (
    BitReader,
    Bits,
    bigint_bits,
    bits_float32,
    concat,
    float32_bits,
)

HEADER_BITS = 32


def lemma_bound_bits(d: int, eps: float) -> int:
    """ceil(1.05 d + d log2((1 + 2 eps) / eps)): Lemma 2.1's achievable bit count."""
    return math.ceil(1.05 * d + d * math.log2((1.0 + 2.0 * eps) / eps))


def _header_norm(x: np.ndarray) -> float:
    """float32(||x||) rounded up, so ||x|| <= M on both sides."""
    with np.errstate(over="ignore"):
        norm = float(np.linalg.norm(x))
    if not np.isfinite(norm) or norm > float(np.finfo(np.float32).max):
        raise ValueError(f"uniform code: ||x|| = {norm!r} does not fit a float32 header")
    m = np.float32(norm)
    if float(m) < norm:
        m = np.nextafter(m, np.float32(np.inf))
    return float(m)


@dataclass(frozen=True)
class _Grid:
    d: int
    eps: float
    delta: float
    n_max: int  # |n_j| <= n_max
    prob_bits: int
    freq: np.ndarray  # (2 n_max + 1,) int64, sums to 2**prob_bits
    cum: np.ndarray  # (2 n_max + 2,) int64

    @property
    def product_bits(self) -> int:
        return math.ceil(self.d * math.log2(2 * self.n_max + 1)) if self.n_max > 0 else 0


@lru_cache(maxsize=64)
def _grid(d: int, sigma: float, m: float) -> _Grid:
    eps = sigma / m
    delta = 2.0 * sigma / math.sqrt(d)
    n_max = math.floor(m / delta + 0.5) + 1  # |x_j| / delta + 1/2, +1 for float slack
    # second moment of n_j for ||x|| = M plus uniform rounding noise: (M / delta)^2 / d + 1/12
    tau = math.sqrt((m / delta) ** 2 / d + 1.0 / 12.0)
    support = 2 * n_max + 1
    prob_bits = max(32, math.ceil(math.log2(support)) + 20)
    n = np.arange(-n_max, n_max + 1, dtype=np.float64)
    p = np.exp(-0.5 * (n / tau) ** 2)
    p /= p.sum()
    total = 1 << prob_bits
    spare = total - support
    freq = 1 + np.floor(p * spare).astype(np.int64)
    freq[n_max] += total - int(freq.sum())  # the rounding remainder to the mode
    cum = np.concatenate([[0], np.cumsum(freq)])
    return _Grid(d, eps, delta, n_max, prob_bits, freq, cum)


def _lattice(x: np.ndarray, g: _Grid, dither: np.ndarray | None) -> np.ndarray:
    u = 0.0 if dither is None else dither
    n = np.rint(x / g.delta + u).astype(np.int64)
    return np.clip(n, -g.n_max, g.n_max)


def _reconstruct(n: np.ndarray, g: _Grid, dither: np.ndarray | None) -> np.ndarray:
    u = 0.0 if dither is None else dither
    return (n - u) * g.delta


def _ac_interval(n: np.ndarray, g: _Grid) -> tuple[int, int]:
    """[A, A + W) in units of 2^(-B d): A_{j+1} = A_j 2^B + W_j cum(n_j), W_{j+1} = W_j f(n_j).

    Computed by halves, (A, W) of a sequence = (A_1 2^(B n_2) + W_1 A_2, W_1 W_2), so the big
    products are few and large (Karatsuba in CPython) instead of d small-by-big steps."""
    sym = (n + g.n_max).tolist()
    return _interval(sym, [int(c) for c in g.cum[sym]], [int(f) for f in g.freq[sym]], g.prob_bits)


def _interval(sym: list[int], cum: list[int], freq: list[int], b: int) -> tuple[int, int]:
    if len(sym) <= 32:
        a, w = 0, 1
        for c, f in zip(cum, freq):
            a = (a << b) + w * c
            w *= f
        return a, w
    h = len(sym) // 2
    a1, w1 = _interval(sym[:h], cum[:h], freq[:h], b)
    a2, w2 = _interval(sym[h:], cum[h:], freq[h:], b)
    return (a1 << (b * (len(sym) - h))) + w1 * a2, w1 * w2


def _ac_codeword(a: int, w: int, g: _Grid) -> tuple[int, int]:
    """(m, l): the shortest l with an integer m, m 2^-l in [A, A + W) (scaled); l <= ceil(-log2 P)."""
    total = g.prob_bits * g.d
    length = max(total - w.bit_length() + 2, 0)  # 2^(total - l) <= W / 2: always fits
    while length > 0:
        shift = total - (length - 1)
        m = -((-a) >> shift)
        if (m << shift) < a + w:
            length -= 1
        else:
            break
    shift = total - length
    return -((-a) >> shift), length


def _ac_length(n: np.ndarray, g: _Grid) -> int:
    return _ac_codeword(*_ac_interval(n, g), g)[1]


def quantize(x: np.ndarray, sigma: float, dither: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """(x_hat, bits) without building the string: the analytic-fidelity path. The bits are
    exactly ``len(encode(x, sigma, dither))``."""
    x = np.asarray(x, dtype=np.float64).ravel()
    m = _header_norm(x)
    if m <= sigma:
        return np.zeros_like(x), HEADER_BITS
    g = _grid(x.size, float(sigma), m)
    n = _lattice(x, g, dither)
    return _reconstruct(n, g, dither), HEADER_BITS + min(_ac_length(n, g), g.product_bits)


def encode(x: np.ndarray, sigma: float, dither: np.ndarray | None = None) -> Bits:
    """The bit string of x: float32 header M, then the lattice point's index."""
    if not sigma > 0:
        raise ValueError(f"uniform code: sigma must be > 0, got {sigma!r}")
    x = np.asarray(x, dtype=np.float64).ravel()
    m = _header_norm(x)
    head = float32_bits(m)
    if m <= sigma:
        return head
    g = _grid(x.size, float(sigma), m)
    n = _lattice(x, g, dither)
    ac_len = _ac_length(n, g)
    if ac_len < g.product_bits:
        return concat([head, _ac_encode(n, g)])
    return concat([head, _product_encode(n, g)])


def decode(bits: Bits, d: int, sigma: float, dither: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`encode` (d and sigma are known to the receiver)."""
    r = BitReader(bits)
    m = float(bits_float32(r.take(HEADER_BITS))[0])
    if m <= sigma:
        if r.remaining:
            raise ValueError(f"uniform code: {r.remaining} bits after a zero-vector header")
        return np.zeros(d)
    g = _grid(d, float(sigma), m)
    payload = r.take(r.remaining)
    if payload.size == g.product_bits:
        n = _product_decode(payload, g)
    else:
        n = _ac_decode(payload, g)
    return _reconstruct(n, g, dither)


def _product_encode(n: np.ndarray, g: _Grid) -> Bits:
    base = 2 * g.n_max + 1
    value = 0
    for digit in (n[::-1] + g.n_max).tolist():
        value = value * base + digit
    return bigint_bits(value, g.product_bits)


def _product_decode(bits: Bits, g: _Grid) -> np.ndarray:
    value = int.from_bytes(np.packbits(np.concatenate([np.zeros((-bits.size) % 8, np.uint8), bits])).tobytes(), "big")
    base = 2 * g.n_max + 1
    out = np.empty(g.d, dtype=np.int64)
    for j in range(g.d):
        value, out[j] = divmod(value, base)
    return out - g.n_max


def _ac_encode(n: np.ndarray, g: _Grid) -> Bits:
    m, ell = _ac_codeword(*_ac_interval(n, g), g)
    return bigint_bits(m, ell)


def _ac_decode(bits: Bits, g: _Grid) -> np.ndarray:
    b, d = g.prob_bits, g.d
    length = bits.size
    m = int.from_bytes(np.packbits(np.concatenate([np.zeros((-length) % 8, np.uint8), bits])).tobytes(), "big")
    rest = m << (b * d - length)  # V - A_j, in units of 2^(-b d)
    w = 1
    cum = g.cum
    out = np.empty(d, dtype=np.int64)
    for j in range(d):
        shift = b * (d - j - 1)
        q = (rest >> shift) // w
        s = int(np.searchsorted(cum, q, side="right")) - 1
        out[j] = s
        rest -= (w * int(cum[s])) << shift
        w *= int(g.freq[s])
    return out - g.n_max
