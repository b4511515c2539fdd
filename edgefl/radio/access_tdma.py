"""TDMA: the whole uplink band, one upload at a time (DSC paper Sec. IV-D, Fig. 5)."""

from __future__ import annotations

import numpy as np
from numba import njit

from edgefl.radio.access import AccessScheme, ShareRule, run_sequential


@njit(cache=True)
def _serial_starts(requested: np.ndarray, airtime: np.ndarray, order: np.ndarray) -> np.ndarray:
    start = np.empty(len(requested))
    t_air = -np.inf
    for w in order:
        s = requested[w] if requested[w] > t_air else t_air
        start[w] = s
        t_air = s + airtime[w]
    return start


class TDMA(AccessScheme):
    """Uploads are serial on the full band, served first come, first served (a SimPy resource of
    capacity 1): upload i starts at max(asked_i, end of the upload before it)."""

    name = "tdma"
    capacity = 1

    def shares(self, bits: np.ndarray, rule: ShareRule | None = None) -> np.ndarray:
        return np.ones(np.asarray(bits).shape[0])

    def ideal_upload(self, bits: np.ndarray, alpha: np.ndarray, bandwidth_hz: float) -> tuple[np.ndarray, float, str]:
        """t_k = alpha_k b_k / W on the full band, one after the other: latency sum_k t_k."""
        from edgefl.theory.allocation import tdma_airtime

        per_worker = tdma_airtime(bits, alpha, bandwidth_hz)
        return per_worker, float(per_worker.sum()), "airtime_s"

    def serve(self, requested: np.ndarray, airtime: np.ndarray, order: np.ndarray) -> np.ndarray:
        args = (np.asarray(requested, dtype=float), np.asarray(airtime, dtype=float), np.asarray(order, dtype=np.int64))
        return run_sequential(_serial_starts, args[0].size, *args)

    def serve_rounds(self, requested: np.ndarray, airtime: np.ndarray, order: np.ndarray) -> np.ndarray:
        """:func:`_serial_starts` of every row at once, queue position by queue position (the same
        comparisons and additions; numpy over rows instead of a compiled loop, whose first call in a
        process costs more than the whole batch)."""
        requested, airtime = np.asarray(requested, dtype=float), np.asarray(airtime, dtype=float)
        rows = np.arange(requested.shape[0])
        start = np.empty(requested.shape)
        t_air = np.full(rows.size, -np.inf)
        for w in np.asarray(order, dtype=np.int64).T:
            asked = requested[rows, w]
            s = np.where(asked > t_air, asked, t_air)
            start[rows, w] = s
            t_air = s + airtime[rows, w]
        return start
