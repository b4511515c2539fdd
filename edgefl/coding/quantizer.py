"""Uniform scalar quantiser and its binary bit-plane representation.

DSC paper Section III-C: worker k quantises its local gradient to an index
``J_k in {0, ..., 2^m - 1}`` and writes it as bit-planes
``J_k = sum_{i=1}^m 2^(i-1) B_{k,i}`` (eq. 33-35 context, the binary mapping J(.)).
Bit-plane ``i`` of the paper is row ``i - 1`` here (row 0 is the least significant).

The quantiser has ``M = 2^m`` reconstruction levels evenly spaced on ``[-c, c]`` with
``c = clip * scale`` and rounds to the nearest level (index 0 is the most negative
level). With ``scale = sigma_Y`` and ``clip = 2`` this reproduces the bit-plane rates of
the DSC paper's Table 1 to within 0.005 bit (see ``studies/table1.py``), so it is the
default. For ``m = 1`` the single threshold is 0: the sign quantiser of signSGD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

MAX_BITS = 16


@dataclass(frozen=True)
class UniformQuantizer:
    """``2^bits`` levels evenly spaced on ``[-clip*scale, clip*scale]``, nearest-level rounding."""

    bits: int
    clip: float = 2.0

    def __post_init__(self) -> None:
        if not isinstance(self.bits, (int, np.integer)) or not 1 <= self.bits <= MAX_BITS:
            raise ValueError(f"bits must be an integer in [1, {MAX_BITS}], got {self.bits!r}")
        if not np.isfinite(self.clip) or self.clip <= 0:
            raise ValueError(f"clip must be a positive finite number, got {self.clip!r}")

    @property
    def levels_count(self) -> int:
        return 1 << self.bits

    def levels(self, scale: float = 1.0) -> np.ndarray:
        """Reconstruction values ``-c + j * 2c/(M-1)``, j = 0..M-1."""
        _check_scale(scale)
        return np.linspace(-self.clip * scale, self.clip * scale, self.levels_count)

    def thresholds(self, scale: float = 1.0) -> np.ndarray:
        """The M-1 decision thresholds (midpoints between neighbouring levels)."""
        lv = self.levels(scale)
        return 0.5 * (lv[1:] + lv[:-1])

    def edges(self, scale: float = 1.0) -> np.ndarray:
        """Cell boundaries, ``(M+1,)``, starting at -inf and ending at +inf."""
        return np.concatenate(([-np.inf], self.thresholds(scale), [np.inf]))

    def quantize(self, y: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Index of the nearest level, int64 array shaped like ``y`` (y >= 0 -> upper half)."""
        y = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("y must be finite (found NaN or inf in the gradient)")
        return np.searchsorted(self.thresholds(scale), y, side="right").astype(np.int64)

    def dequantize(self, index: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Reconstruction values ``U = Q^{-1}(J)``."""
        index = np.asarray(index)
        if index.size and (index.min() < 0 or index.max() >= self.levels_count):
            raise ValueError(f"index must lie in [0, {self.levels_count - 1}]")
        return self.levels(scale)[index]

    def step(self, scale: float = 1.0) -> float:
        """Distance between neighbouring levels (2c for the one-bit quantiser)."""
        return 2.0 * self.clip * scale / (self.levels_count - 1)

    def noise_variance(self, scale: float = 1.0) -> float:
        """Granular quantisation-noise variance ``step^2 / 12`` (sigma_W^2 of eq. 37)."""
        return self.step(scale) ** 2 / 12.0

    def cell_probabilities(self, x: np.ndarray, sigma_n: float, scale: float = 1.0) -> np.ndarray:
        """``q(j | x) = Pr(Q(x + N) = j)``, N ~ N(0, sigma_n^2), shape ``(len(x), M)``.

        The analytic per-sample factor of the semi-analytical Monte Carlo method
        (DSC paper eq. 43-44).
        """
        if not np.isfinite(sigma_n) or sigma_n <= 0:
            raise ValueError(f"sigma_n must be positive and finite, got {sigma_n!r}")
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        cdf = ndtr((self.edges(scale)[None, :] - x[:, None]) / sigma_n)
        return np.clip(np.diff(cdf, axis=1), 0.0, 1.0)


def _check_scale(scale: float) -> None:
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")


def to_bitplanes(index: np.ndarray, bits: int) -> np.ndarray:
    """Bit-planes of ``index``: shape ``(bits, *index.shape)`` uint8, row i-1 = B_i (row 0 = LSB)."""
    index = np.asarray(index, dtype=np.int64)
    if index.size and (index.min() < 0 or index.max() >= (1 << bits)):
        raise ValueError(f"index must lie in [0, {(1 << bits) - 1}] for bits={bits}")
    shifts = np.arange(bits, dtype=np.int64).reshape((bits,) + (1,) * index.ndim)
    return ((index[None] >> shifts) & 1).astype(np.uint8)


def from_bitplanes(planes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_bitplanes`: ``J = sum_i 2^(i-1) B_i``."""
    planes = np.asarray(planes)
    bits = planes.shape[0]
    weights = (np.int64(1) << np.arange(bits, dtype=np.int64)).reshape((bits,) + (1,) * (planes.ndim - 1))
    return (planes.astype(np.int64) * weights).sum(axis=0)
