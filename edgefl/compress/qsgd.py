"""QSGD (Alistarh et al., "QSGD: Communication-efficient SGD via gradient quantization and
encoding", NeurIPS 2017).

Quantiser (Sec. 3.1, eq. (4)): Q_s(v)_i = ||v|| sign(v_i) xi_i(v, s), where with
l = floor(s |v_i| / ||v||), xi_i = (l + 1)/s with probability s |v_i| / ||v|| - l and l/s
otherwise. E[Q_s(v)] = v (Lemma 3.1 (i)) and E||Q_s(v) - v||^2 <= min(d / s^2, sqrt(d) / s) ||v||^2
(Lemma 3.1 (ii)).

Code (Sec. 3.2, "Elias integer coding" of the nonzero positions and levels): per bucket
of ``bucket_size`` coordinates (the whole vector by default), ||v|| as a float32 (rounded
up so that the decoder's scale is the encoder's; the rounding keeps the quantiser
unbiased since the probabilities use the same float), then Elias-gamma(nnz + 1), the
Elias-gamma codes of the gaps between nonzero positions (first position + 1, then
differences), one sign bit per nonzero, and Elias-gamma(level) per nonzero (level in
1..s). Fields are grouped rather than interleaved: the same bits, decoded without a loop
per coordinate.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from edgefl.compress.bitstream import (
    BitReader,
    Bits,
    concat,
    float32_bits,
    gamma_encode,
    gamma_lengths,
)
from edgefl.compress.errors import SchemeParameterError
from edgefl.compress.stateless import StatelessCoder
from edgefl.config_model import StrictModel


class QSGDConfig(StrictModel):
    """QSGD with s levels and Elias coding."""

    scheme: Literal["qsgd"] = "qsgd"
    s: int = Field(4, ge=1, description="quantisation levels s (>= 1)")
    bucket_size: int | None = Field(None, ge=1, description="coordinates per norm (QSGD's buckets); None: all")


def _norm32_up(x: np.ndarray) -> np.float32:
    with np.errstate(over="ignore"):
        n = float(np.linalg.norm(x))
    if not np.isfinite(n) or n > float(np.finfo(np.float32).max):
        raise ValueError(f"qsgd: bucket norm {n!r} does not fit a float32")
    m = np.float32(n)
    return np.nextafter(m, np.float32(np.inf)) if float(m) < n else m


def quantize(v: np.ndarray, s: int, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """(float32 norm, signed integer levels in -s..s): Q_s(v) = norm * levels / s."""
    norm = _norm32_up(v)
    if norm == 0:
        return 0.0, np.zeros(v.size, dtype=np.int64)
    r = np.abs(v) / float(norm) * s
    low = np.floor(r)
    lev = (low + (rng.random(v.size) < r - low)).astype(np.int64)
    lev = np.minimum(lev, s)
    return float(norm), np.where(v < 0, -lev, lev)


def encode_bucket(norm: float, levels: np.ndarray) -> Bits:
    nz = np.flatnonzero(levels)
    gaps = np.diff(np.concatenate([[-1], nz]))
    return concat([float32_bits(norm), gamma_encode(np.array([nz.size + 1])), gamma_encode(gaps),
                   (levels[nz] < 0).astype(np.uint8), gamma_encode(np.abs(levels[nz]))])


def bucket_bits(levels: np.ndarray) -> int:
    """len(encode_bucket(...)) without building the string."""
    nz = np.flatnonzero(levels)
    gaps = np.diff(np.concatenate([[-1], nz]))
    return int(32 + gamma_lengths(np.array([nz.size + 1]))[0] + gamma_lengths(gaps).sum() + nz.size
               + gamma_lengths(np.abs(levels[nz])).sum())


def decode_bucket(reader: BitReader, size: int) -> tuple[float, np.ndarray]:
    norm = float(reader.float32()[0])
    nnz = int(reader.gamma(1)[0]) - 1
    pos = np.cumsum(reader.gamma(nnz)) - 1
    neg = reader.take(nnz).astype(bool)
    lev = reader.gamma(nnz)
    out = np.zeros(size, dtype=np.int64)
    out[pos] = np.where(neg, -lev, lev)
    return norm, out


class QSGD(StatelessCoder):
    """Stochastic s-level quantisation + Elias coding; the server averages the decoded vectors."""

    name = "qsgd"

    def __init__(self, cfg: QSGDConfig | None = None, *, num_params: int | None = None, **_: object) -> None:
        self.cfg = cfg or QSGDConfig()
        b = self.cfg.bucket_size
        if b is not None and num_params is not None and b > num_params:
            raise SchemeParameterError("bucket_size", b, f"must be <= P = {num_params} parameters")

    def _buckets(self, p: int) -> list[slice]:
        b = self.cfg.bucket_size or p
        return [slice(i, min(i + b, p)) for i in range(0, p, b)]

    def encode(self, v: np.ndarray, rng: np.random.Generator) -> Bits:
        """The bit string of one worker's gradient."""
        return concat([encode_bucket(*quantize(v[sl], self.cfg.s, rng)) for sl in self._buckets(v.size)])

    def decode(self, bits: Bits, p: int) -> np.ndarray:
        reader = BitReader(bits)
        out = np.zeros(p)
        for sl in self._buckets(p):
            norm, lev = decode_bucket(reader, sl.stop - sl.start)
            out[sl] = norm * lev / self.cfg.s
        if reader.remaining:
            raise ValueError(f"qsgd: {reader.remaining} bits left after decoding")
        return out

    def reconstruct(self, g: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        out = np.zeros(g.size)
        nbits = 0
        for sl in self._buckets(g.size):
            norm, lev = quantize(g[sl], self.cfg.s, rng)
            out[sl] = norm * lev / self.cfg.s
            nbits += bucket_bits(lev)
        return out, nbits

    def encode_flops(self, num_params: int) -> float:
        # norm (2P), scale + floor + compare + round (4P)
        return 6.0 * num_params
