"""Thermal noise and link budget."""

from __future__ import annotations

import numpy as np

#: Thermal noise density at T0 = 290 K: 10 log10(k_B T0 / 1 mW) = -173.98 dBm/Hz,
#: rounded to -174 dBm/Hz as in 3GPP link budgets (e.g. TR 38.901 Table 7.8-1 context).
NOISE_DENSITY_DBM_HZ = -174.0


def thermal_noise_dbm(bandwidth_hz: float | np.ndarray, noise_figure_db: float) -> np.ndarray:
    """Receiver noise power N = -174 dBm/Hz + 10 log10(B) + NF (dBm)."""
    b = np.asarray(bandwidth_hz, dtype=float)
    if not np.all(np.isfinite(b)) or np.any(b <= 0):
        raise ValueError(f"bandwidth_hz must be positive and finite, got {bandwidth_hz}")
    if not np.isfinite(noise_figure_db) or noise_figure_db < 0:
        raise ValueError(f"noise_figure_db must be finite and >= 0 dB, got {noise_figure_db}")
    return NOISE_DENSITY_DBM_HZ + 10.0 * np.log10(b) + noise_figure_db


def snr_db(
    tx_power_dbm: float | np.ndarray,
    pathloss_db: np.ndarray,
    shadowing_db: np.ndarray | float,
    noise_dbm: np.ndarray | float,
) -> np.ndarray:
    """Mean SNR (dB) = P_tx - PL - X_sigma - N; shadowing X_sigma is a loss (positive = weaker)."""
    return np.asarray(tx_power_dbm, float) - pathloss_db - shadowing_db - noise_dbm
