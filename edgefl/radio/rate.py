"""Achievable rates, bandwidth sharing (TDMA / FDMA) and broadcast downlink."""

from __future__ import annotations

import math

import numpy as np


def _check_bandwidth(bandwidth_hz) -> np.ndarray:
    b = np.asarray(bandwidth_hz, dtype=float)
    if not np.all(np.isfinite(b)) or np.any(b <= 0):
        raise ValueError(f"bandwidth_hz must be positive and finite, got {bandwidth_hz}")
    return b


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
    se = np.log2(1.0 + snr / 10.0 ** (snr_gap_db / 10.0))
    if max_spectral_efficiency is not None:
        if not max_spectral_efficiency > 0:
            raise ValueError(
                f"max_spectral_efficiency must be > 0 bit/s/Hz or None, got {max_spectral_efficiency}"
            )
        se = np.minimum(se, max_spectral_efficiency)
    return se


def shannon_rate_bps(
    bandwidth_hz: float | np.ndarray,
    snr_linear: float | np.ndarray,
    snr_gap_db: float = 0.0,
    max_spectral_efficiency: float | None = None,
) -> np.ndarray:
    """R = B min(log2(1 + SNR / Gamma), eta_max) bit/s (Shannon capacity with SNR gap and cap)."""
    return _check_bandwidth(bandwidth_hz) * spectral_efficiency(
        snr_linear, snr_gap_db, max_spectral_efficiency
    )


def scalar_rate_bps(
    bandwidth_hz: float, snr_linear: float, gap_linear: float, max_spectral_efficiency: float | None
) -> float:
    """Scalar fast path of :func:`shannon_rate_bps` for the simulator's per-upload calls.

    Same formula, R = B min(log2(1 + SNR / Gamma), eta_max); arguments are assumed
    validated by the caller (``gap_linear`` = 10^(gap_dB/10)).
    """
    se = math.log2(1.0 + snr_linear / gap_linear)
    if max_spectral_efficiency is not None and se > max_spectral_efficiency:
        se = max_spectral_efficiency
    return bandwidth_hz * se


def upload_bandwidths_hz(
    access: str, total_bandwidth_hz: float, n_workers: int, shares: np.ndarray | None = None
) -> np.ndarray:
    """Bandwidth each of ``n_workers`` transmits on.

    ``tdma``: uploads are serial, each on the full band B. ``fdma``: simultaneous
    uploads on disjoint sub-bands B_k = s_k B with sum s_k = 1 (equal split when
    ``shares`` is None; P1 supplies unequal shares).
    """
    b = float(_check_bandwidth(total_bandwidth_hz))
    if n_workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    if access == "tdma":
        if shares is not None:
            raise ValueError("shares apply to access='fdma' only; TDMA uses the full band")
        return np.full(n_workers, b)
    if access != "fdma":
        raise ValueError(f"access must be 'tdma' or 'fdma', got {access!r}")
    if shares is None:
        return np.full(n_workers, b / n_workers)
    s = np.asarray(shares, dtype=float)
    if s.shape != (n_workers,) or np.any(s <= 0) or not np.isclose(s.sum(), 1.0, rtol=0, atol=1e-9):
        raise ValueError(
            f"shares must be {n_workers} positive numbers summing to 1, got {shares}"
        )
    return s * b


def broadcast_rate_bps(
    bandwidth_hz: float,
    snr_linear: np.ndarray,
    snr_gap_db: float = 0.0,
    max_spectral_efficiency: float | None = None,
) -> float:
    """Common-message (broadcast) rate: every worker must decode, so R = B log2(1 + min_k SNR_k / Gamma)."""
    snr = np.asarray(snr_linear, dtype=float)
    if snr.size == 0:
        raise ValueError("snr_linear must hold at least one worker's SNR")
    return float(shannon_rate_bps(bandwidth_hz, snr.min(), snr_gap_db, max_spectral_efficiency))
