"""Bit strings for the real encoders: fixed-width integers, float32 scalars, Elias-gamma
codes, bitmaps, big integers, and a reader that walks them back.

A bit string is a 1-D ``np.uint8`` array of 0/1 values, most significant bit first; the
bits a scheme counts are ``len`` of the string it produced (``np.packbits`` gives the
bytes on the air). Encoders are vectorised with numpy; the Elias-gamma decoder, which is
sequential by nature, runs in numba.

Elias gamma (Elias 1975, "Universal codeword sets", code gamma'): n >= 1 is written as
floor(log2 n) zeros followed by the floor(log2 n) + 1 binary digits of n, so it costs
2 floor(log2 n) + 1 bits. QSGD (Alistarh et al., NeurIPS 2017, Sec. 3.2 / App. "Coding")
codes run lengths and levels this way.
"""

from __future__ import annotations

import numpy as np

Bits = np.ndarray


def concat(parts: list[Bits]) -> Bits:
    """One bit string from several (empty list -> empty string)."""
    return np.concatenate(parts).astype(np.uint8, copy=False) if parts else np.zeros(0, np.uint8)


def uint_bits(values: np.ndarray | int, width: int) -> Bits:
    """Each value as ``width`` bits, MSB first, concatenated."""
    v = np.atleast_1d(np.asarray(values, dtype=np.uint64))
    if width == 0:
        return np.zeros(0, np.uint8)
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
    return ((v[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8).ravel()


def bits_uint(bits: Bits, width: int) -> np.ndarray:
    """Inverse of :func:`uint_bits`: (n * width,) bits -> (n,) uint64."""
    b = np.asarray(bits, dtype=np.uint64).reshape(-1, width)
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
    return (b << shifts[None, :]).sum(axis=1, dtype=np.uint64)


def float32_bits(values: np.ndarray | float) -> Bits:
    """IEEE-754 float32 of each value, 32 bits each (what goes on the air for a scale/norm)."""
    f = np.atleast_1d(np.asarray(values, dtype=np.float32))
    return uint_bits(f.view(np.uint32).astype(np.uint64), 32)


def bits_float32(bits: Bits) -> np.ndarray:
    """Inverse of :func:`float32_bits`, as float64."""
    return bits_uint(bits, 32).astype(np.uint32).view(np.float32).astype(np.float64)


def gamma_lengths(values: np.ndarray) -> np.ndarray:
    """Length 2 floor(log2 n) + 1 of the Elias-gamma code of each n >= 1."""
    v = np.asarray(values, dtype=np.int64)
    return 2 * _floor_log2(v) + 1


def _floor_log2(v: np.ndarray) -> np.ndarray:
    # exact for int64 (np.log2 of a float rounds 2**k - 1 up for k > 52)
    out = np.zeros(v.shape, dtype=np.int64)
    x = v.copy()
    for s in (32, 16, 8, 4, 2, 1):
        big = x >= (np.int64(1) << s)
        out[big] += s
        x[big] >>= s
    return out


def gamma_encode(values: np.ndarray) -> Bits:
    """Concatenated Elias-gamma codes of integers >= 1 (vectorised: bit j of the code of n
    is 0 for j < L and bit (2L - j) of n for L <= j <= 2L, L = floor(log2 n))."""
    v = np.asarray(values, dtype=np.int64).ravel()
    if v.size == 0:
        return np.zeros(0, np.uint8)
    if v.min() < 1:
        raise ValueError(f"Elias gamma codes integers >= 1, got {int(v.min())}")
    ell = _floor_log2(v)
    lengths = 2 * ell + 1
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(starts, lengths)
    lr = np.repeat(ell, lengths)
    vr = np.repeat(v, lengths)
    shift = np.maximum(2 * lr - pos, 0)
    return np.where(pos < lr, 0, (vr >> shift) & 1).astype(np.uint8)


def _gamma_decode_py(bits, start, count):  # pragma: no cover - compiled by numba
    out = np.empty(count, dtype=np.int64)
    p = start
    n = bits.shape[0]
    for i in range(count):
        zeros = 0
        while p < n and bits[p] == 0:
            zeros += 1
            p += 1
        if p + zeros + 1 > n:  # the zeros + 1 binary digits do not fit
            return out[:i], -1
        v = 0
        for _ in range(zeros + 1):
            v = (v << 1) | bits[p]
            p += 1
        out[i] = v
    return out, p


_GAMMA_KERNEL = None


def _gamma_decode(bits: Bits, start: int, count: int) -> tuple[np.ndarray, int]:
    """(values, end position or -1): numba-compiled on first use, so that importing the scheme
    configs does not import numba."""
    global _GAMMA_KERNEL
    if _GAMMA_KERNEL is None:
        import numba

        _GAMMA_KERNEL = numba.njit(cache=True)(_gamma_decode_py)
    return _GAMMA_KERNEL(bits, start, count)


class BitReader:
    """Reads back a bit string written with the functions above, left to right."""

    def __init__(self, bits: Bits) -> None:
        self.bits = np.asarray(bits, dtype=np.uint8)
        self.pos = 0

    @property
    def remaining(self) -> int:
        return int(self.bits.size - self.pos)

    def take(self, n: int) -> Bits:
        if n > self.remaining:
            raise ValueError(f"bit string too short: need {n} bits at {self.pos}, have {self.remaining}")
        out = self.bits[self.pos:self.pos + n]
        self.pos += n
        return out

    def float32(self, count: int = 1) -> np.ndarray:
        return bits_float32(self.take(32 * count))

    def gamma(self, count: int) -> np.ndarray:
        vals, p = _gamma_decode(self.bits, self.pos, int(count))
        if p < 0:
            raise ValueError(f"bit string ends inside an Elias-gamma code (after {vals.size} of {count})")
        self.pos = int(p)
        return vals

    def bigint(self, width: int) -> int:
        return bits_bigint(self.take(width))


def bigint_bits(value: int, width: int) -> Bits:
    """A non-negative Python int as exactly ``width`` bits, MSB first."""
    if value < 0 or value.bit_length() > width:
        raise ValueError(f"{value.bit_length()}-bit integer does not fit in {width} bits")
    if width == 0:
        return np.zeros(0, np.uint8)
    nbytes = (width + 7) // 8
    raw = np.frombuffer(value.to_bytes(nbytes, "big"), dtype=np.uint8)
    return np.unpackbits(raw)[8 * nbytes - width:]


def bits_bigint(bits: Bits) -> int:
    """Inverse of :func:`bigint_bits`."""
    b = np.asarray(bits, dtype=np.uint8)
    if b.size == 0:
        return 0
    pad = (-b.size) % 8
    return int.from_bytes(np.packbits(np.concatenate([np.zeros(pad, np.uint8), b])).tobytes(), "big")


def index_code(indices: np.ndarray, size: int) -> Bits:
    """The positions of a sorted set of ``k`` indices in 0..size-1, the cheaper of a bitmap
    (``size`` bits) and Elias-gamma codes of the gaps (first index + 1, then differences);
    one leading bit says which. The decoder knows ``size`` and ``k``."""
    idx = np.asarray(indices, dtype=np.int64)
    gaps = np.diff(np.concatenate([[-1], idx]))
    gamma_len = int(gamma_lengths(gaps).sum()) if idx.size else 0
    if gamma_len < size:
        return concat([np.ones(1, np.uint8), gamma_encode(gaps)])
    bitmap = np.zeros(size, np.uint8)
    bitmap[idx] = 1
    return concat([np.zeros(1, np.uint8), bitmap])


def read_index_code(reader: BitReader, size: int, k: int) -> np.ndarray:
    """Inverse of :func:`index_code`."""
    if reader.take(1)[0]:
        return np.cumsum(reader.gamma(k)) - 1
    return np.flatnonzero(reader.take(size))


def index_code_length(indices: np.ndarray, size: int) -> int:
    """len(index_code(indices, size)) without building it."""
    idx = np.asarray(indices, dtype=np.int64)
    gaps = np.diff(np.concatenate([[-1], idx]))
    return 1 + min(int(gamma_lengths(gaps).sum()), size)


def layer_slices(param_shapes: list[tuple[int, ...]] | None, num_params: int) -> list[tuple[int, int, tuple[int, ...]]]:
    """(start, stop, shape) of each parameter tensor in the flat vector; one flat tensor
    when the shapes are unknown. The sizes must add up to ``num_params``."""
    if not param_shapes:
        return [(0, num_params, (num_params,))]
    out, off = [], 0
    for s in param_shapes:
        n = int(np.prod(s, dtype=np.int64))
        out.append((off, off + n, tuple(int(x) for x in s)))
        off += n
    if off != num_params:
        raise ValueError(f"param_shapes: tensors hold {off} parameters but the gradients have {num_params}")
    return out
