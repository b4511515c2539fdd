"""Pure timing formulas of one round (DSC paper Sec. IV-D/E, Fig. 5).

The engine (:mod:`edgefl.sim.engine`) and the air phase call these; the timing of uploads,
decoding and the deadline as array code is :mod:`edgefl.sim.round_timing`. Keeping them pure
lets the tests check them against hand-derived numbers.
"""

from __future__ import annotations

import numpy as np


def compute_seconds(flops: float | np.ndarray, flops_per_s: float | np.ndarray) -> np.ndarray:
    """Time of a computation of ``flops`` operations on a device sustaining ``flops_per_s``."""
    return np.asarray(flops, dtype=float) / np.asarray(flops_per_s, dtype=float)


def transfer_seconds(bits: float | np.ndarray, rate_bps: float | np.ndarray) -> np.ndarray:
    """Air time of ``bits`` at ``rate_bps`` (block fading: the rate holds for the whole transfer)."""
    rate = np.asarray(rate_bps, dtype=float)
    bits = np.asarray(bits, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(bits > 0, bits / rate, 0.0)


def ready_times(t_model: float, compute_s: np.ndarray, t_rates: float, encode_s: np.ndarray) -> np.ndarray:
    """When each worker's upload is ready (DSC paper Algorithm 1, lines 3-12).

    A worker starts its local gradient once it has the model (``t_model``), and can
    encode only once it also knows its rates from the server's rate controller
    (``t_rates``): ready_k = max(t_model + c_k, t_rates) + e_k.
    """
    return np.maximum(t_model + compute_s, t_rates) + encode_s


def completion_order(ready: np.ndarray) -> np.ndarray:
    """Upload order of the successive Wyner-Ziv chain: as workers finish (ties by index)."""
    return np.argsort(ready, kind="stable")


def serial_pipeline(ready: np.ndarray, order: np.ndarray, upload_s: np.ndarray,
                    decode_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TDMA uploads in ``order`` with pipelined successive decoding (DSC paper Fig. 5).

    Upload i starts at max(ready_i, end of upload i-1); decode i starts at
    max(end of upload i, end of decode i-1). Returns upload start, upload end and
    decode end per worker (indexed by worker).
    """
    k = len(ready)
    up_start = np.empty(k)
    up_end = np.empty(k)
    dec_end = np.empty(k)
    t_air = -np.inf
    t_dec = -np.inf
    for w in order:
        up_start[w] = max(ready[w], t_air)
        up_end[w] = t_air = up_start[w] + upload_s[w]
        dec_end[w] = t_dec = max(up_end[w], t_dec) + decode_s[w]
    return up_start, up_end, dec_end
