"""Pure timing formulas of one round (DSC paper Sec. IV-D/E, Fig. 5).

The engine (:mod:`edgefl.sim.engine`: broadcast, local work, the completion order), the air
phase and the round-timing core (a feedback message's air time) call these; the timing of
uploads, decoding and the deadline is :mod:`edgefl.sim.round_timing` alone (the hand-written
TDMA recursion the tests check it against is ``tests/pipeline_reference.py``). Keeping them
pure lets the tests check them against hand-derived numbers.
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
