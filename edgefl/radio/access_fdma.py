"""FDMA: every worker on its own share of the uplink band, all at once (RD paper Sec. V-A)."""

from __future__ import annotations

import numpy as np

from edgefl.radio.access import AccessScheme, ShareRule


class FDMA(AccessScheme):
    """Simultaneous uploads on disjoint sub-bands s_k B, sum s_k = 1: equal shares, or the rate
    allocator's split (P1: the shares under which all uploads end together)."""

    name = "fdma"
    capacity = None
    splits_band = True

    def shares(self, bits: np.ndarray, rule: ShareRule | None = None) -> np.ndarray:
        bits = np.asarray(bits, dtype=float)
        if rule is not None:
            return rule(bits)
        k = bits.shape[0]
        return np.full(k, 1.0 / k)

    def ideal_upload(self, bits: np.ndarray, alpha: np.ndarray, bandwidth_hz: float) -> tuple[np.ndarray, float, str]:
        """W_k = W alpha_k b_k / sum_j alpha_j b_j, all ending together at sum_j alpha_j b_j / W."""
        from edgefl.theory.allocation import fdma_split_for_bandwidth

        per_worker, latency = fdma_split_for_bandwidth(bits, alpha, bandwidth_hz)
        return per_worker, float(latency), "bandwidth_hz"

    def serve(self, requested: np.ndarray, airtime: np.ndarray, order: np.ndarray) -> np.ndarray:
        return np.asarray(requested, dtype=float)

    def serve_rounds(self, requested: np.ndarray, airtime: np.ndarray, order: np.ndarray) -> np.ndarray:
        return np.asarray(requested, dtype=float)
