"""Shannon spectral efficiency with SNR gap and cap, and the FDMA shares under which all uploads end together."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def shannon_spectral_efficiency(snr_linear: float | np.ndarray, gap_linear: float = 1.0,
                                max_spectral_efficiency: float | None = None) -> np.ndarray:
    """min(log2(1 + SNR / Gamma), eta_max) bit/s/Hz for validated inputs (``gap_linear`` = Gamma =
    10^(gap_dB/10)); the one place the formula lives, see :func:`spectral_efficiency`."""
    se = np.log2(1.0 + np.asarray(snr_linear, dtype=float) / gap_linear)
    if max_spectral_efficiency is not None:
        se = np.minimum(se, max_spectral_efficiency)
    return se


def spectral_efficiency(
    snr_linear: float | np.ndarray,
    snr_gap_db: float = 0.0,
    max_spectral_efficiency: float | None = None,
) -> np.ndarray:
    """log2(1 + SNR / Gamma), Gamma = 10^(gap/10), capped at ``max_spectral_efficiency`` (bit/s/Hz).

    The SNR-gap approximation of practical coded modulation (Forney and Ungerboeck,
    "Modulation and coding for linear Gaussian channels", IEEE Trans. IT 44(6), 1998);
    gap 0 dB gives Shannon capacity.
    """
    snr = np.asarray(snr_linear, dtype=float)
    if np.any(np.isnan(snr)) or np.any(snr < 0):
        raise ValueError(f"snr_linear must be >= 0 (linear, not dB), got {snr_linear}")
    if not np.isfinite(snr_gap_db) or snr_gap_db < 0:
        raise ValueError(f"snr_gap_db must be finite and >= 0 dB, got {snr_gap_db}")
    if max_spectral_efficiency is not None and not max_spectral_efficiency > 0:
        raise ValueError(
            f"max_spectral_efficiency must be > 0 bit/s/Hz or None, got {max_spectral_efficiency}"
        )
    return shannon_spectral_efficiency(snr, 10.0 ** (snr_gap_db / 10.0), max_spectral_efficiency)


def equal_finish_fdma_shares(
    bits: np.ndarray,
    snr_full_band: np.ndarray,
    snr_gap_db: float = 0.0,
    max_spectral_efficiency: float | None = None,
    iterations: int = 60,
    *,
    se: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """FDMA shares s_k (sum 1) under which uploads of ``bits`` that start together end together,
    which minimises the FDMA upload latency for a fixed total band B.

    On share s the noise shrinks with the band, so SNR_k(s) = SNR_k / s (``snr_full_band`` is
    the SNR over the whole band B) and worker k needs t_k(s) = b_k / (s B se(SNR_k / s)) with
    se the spectral efficiency of the link (``se``, e.g. ``LinkModel.spectral_efficiency``;
    default :func:`spectral_efficiency` with the given gap and cap). s se(SNR/s) increases in s, so
    for a common end time T each s_k(T) follows by bisection, and T by an outer bisection on
    sum_k s_k(T) = 1 (T lies between the all-alone time max_k t_k(1) and the equal-split time
    max_k t_k(1/K)). Workers with b_k = 0 get no band. B cancels: shares are dimensionless.
    """
    b = np.asarray(bits, dtype=float)
    snr = np.asarray(snr_full_band, dtype=float)
    if b.shape != snr.shape or b.ndim != 1 or b.size == 0:
        raise ValueError(f"bits and snr_full_band must be equal-length 1-D arrays, got {b.shape}, {snr.shape}")
    if np.any(~(b >= 0)) or np.any(~(snr > 0)):
        raise ValueError("bits must be >= 0 and snr_full_band > 0")
    active = b > 0
    shares = np.zeros_like(b)
    if not active.any():
        return np.full(b.size, 1.0 / b.size)
    ba, sa = b[active], snr[active]
    if se is None:
        spectral_efficiency(sa, snr_gap_db, max_spectral_efficiency)  # validates gap and cap once
        gap = 10.0 ** (snr_gap_db / 10.0)

        def se(snr: np.ndarray) -> np.ndarray:
            return shannon_spectral_efficiency(snr, gap, max_spectral_efficiency)

    def load(s: np.ndarray) -> np.ndarray:  # bits per second per Hz of the whole band
        return s * se(sa / s)

    def shares_for(t: float) -> np.ndarray:
        need = ba / t
        lo, hi = np.zeros_like(ba), np.ones_like(ba)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            ok = load(np.maximum(mid, 1e-300)) >= need
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        return hi

    t_lo = float(np.max(ba / load(np.ones_like(ba))))
    t_hi = float(np.max(ba / load(np.full_like(ba, 1.0 / ba.size))))
    for _ in range(iterations):
        t_mid = 0.5 * (t_lo + t_hi)
        if shares_for(t_mid).sum() > 1.0:
            t_lo = t_mid
        else:
            t_hi = t_mid
    s = shares_for(t_hi)
    shares[active] = s / s.sum()
    return shares
