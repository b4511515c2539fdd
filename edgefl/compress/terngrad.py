"""TernGrad (Wen et al., "TernGrad: Ternary gradients to reduce communication in distributed
deep learning", NeurIPS 2017), per-layer scaling (Sec. 3.3, "layer-wise ternarizing").

Per layer t: s_t = max_i |g_i| (Sec. 3.1 eq. (6)), b_i ~ Bernoulli(|g_i| / s_t),
g~_i = s_t sign(g_i) b_i: unbiased, E[g~] = g (Theorem 1).

Codes (per layer: the float32 scale, then the ternary digits):

* ``2bit``: two bits per value (00: 0, 01: +1, 10: -1), the paper's packing;
* ``base3``: the log2(3) = 1.585 bits/value entropy bound for equiprobable ternary digits,
  reached within 1 %: 40 digits per 64-bit word (3^40 < 2^64, 1.6 bits/value), the last
  r < 40 digits in ceil(r log2 3) bits.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from edgefl.compress.bitstream import (
    BitReader,
    Bits,
    bigint_bits,
    bits_uint,
    concat,
    float32_bits,
    layer_slices,
    uint_bits,
)
from edgefl.compress.stateless import StatelessCoder
from edgefl.config_model import StrictModel

TRITS_PER_WORD = 40
_POW3 = np.array([3 ** j for j in range(TRITS_PER_WORD)], dtype=np.uint64)


class TernGradConfig(StrictModel):
    """TernGrad with a per-layer scale."""

    scheme: Literal["terngrad"] = "terngrad"
    packing: Literal["2bit", "base3"] = Field("2bit", description="2 bits per value or base-3 words (1.6 bits)")


def ternarize(g: np.ndarray, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """(float32 scale, digits in {-1, 0, 1})."""
    scale = np.float32(np.abs(g).max()) if g.size else np.float32(0)
    if not np.isfinite(scale):
        raise ValueError("terngrad: gradient has no finite float32 scale")
    if scale < np.abs(g).max():
        scale = np.nextafter(scale, np.float32(np.inf))
    if scale == 0:
        return 0.0, np.zeros(g.size, dtype=np.int64)
    keep = rng.random(g.size) < np.abs(g) / float(scale)
    return float(scale), (np.sign(g) * keep).astype(np.int64)


def pack_trits(t: np.ndarray, packing: str) -> Bits:
    if packing == "2bit":
        code = np.where(t > 0, 1, np.where(t < 0, 2, 0))
        return uint_bits(code, 2)
    digits = (t % 3).astype(np.uint64)  # -1 -> 2
    full = digits.size // TRITS_PER_WORD
    head = digits[:full * TRITS_PER_WORD].reshape(full, TRITS_PER_WORD)
    words = (head * _POW3).sum(axis=1, dtype=np.uint64)
    tail = digits[full * TRITS_PER_WORD:]
    tail_value = sum(int(d) * 3 ** j for j, d in enumerate(tail.tolist()))
    return concat([uint_bits(words, 64), bigint_bits(tail_value, _tail_bits(tail.size))])


def _tail_bits(r: int) -> int:
    return math.ceil(r * math.log2(3)) if r else 0


def packed_length(n: int, packing: str) -> int:
    if packing == "2bit":
        return 2 * n
    return 64 * (n // TRITS_PER_WORD) + _tail_bits(n % TRITS_PER_WORD)


def unpack_trits(reader: BitReader, n: int, packing: str) -> np.ndarray:
    if packing == "2bit":
        code = bits_uint(reader.take(2 * n), 2).astype(np.int64) if n else np.zeros(0, np.int64)
        if np.any(code == 3):
            raise ValueError("terngrad: invalid 2-bit code 11")
        return np.where(code == 1, 1, np.where(code == 2, -1, 0))
    full, r = divmod(n, TRITS_PER_WORD)
    words = bits_uint(reader.take(64 * full), 64) if full else np.zeros(0, np.uint64)
    digits = ((words[:, None] // _POW3[None, :]) % np.uint64(3)).ravel()
    tail_value = reader.bigint(_tail_bits(r))
    tail = []
    for _ in range(r):
        tail_value, d = divmod(tail_value, 3)
        tail.append(d)
    out = np.concatenate([digits.astype(np.int64), np.array(tail, dtype=np.int64)])
    return np.where(out == 2, -1, out)


class TernGrad(StatelessCoder):
    """Per-layer stochastic ternarisation; the server averages the decoded vectors."""

    name = "terngrad"

    def __init__(self, cfg: TernGradConfig | None = None, *, param_shapes: list[tuple[int, ...]] | None = None,
                 **_: object) -> None:
        self.cfg = cfg or TernGradConfig()
        self.param_shapes = param_shapes

    def encode(self, g: np.ndarray, rng: np.random.Generator) -> Bits:
        parts = []
        for a, b, _ in layer_slices(self.param_shapes, g.size):
            scale, t = ternarize(g[a:b], rng)
            parts += [float32_bits(scale), pack_trits(t, self.cfg.packing)]
        return concat(parts)

    def decode(self, bits: Bits, p: int) -> np.ndarray:
        reader = BitReader(bits)
        out = np.zeros(p)
        for a, b, _ in layer_slices(self.param_shapes, p):
            scale = float(reader.float32()[0])
            out[a:b] = scale * unpack_trits(reader, b - a, self.cfg.packing)
        if reader.remaining:
            raise ValueError(f"terngrad: {reader.remaining} bits left after decoding")
        return out

    def reconstruct(self, g: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        out = np.zeros(g.size)
        nbits = 0
        for a, b, _ in layer_slices(self.param_shapes, g.size):
            scale, t = ternarize(g[a:b], rng)
            out[a:b] = scale * t
            nbits += 32 + packed_length(b - a, self.cfg.packing)
        return out, nbits

    def encode_flops(self, num_params: int) -> float:
        # max |g| (P), divide, compare, sign-multiply (3P)
        return 4.0 * num_params
