"""Rate allocation inside the simulator: equal (baseline) or P1 (RD paper eq. (20)).

Each round (or once), the allocator turns the workers' SNRs into bandwidth costs
alpha_k = 1 / SE(SNR_k) Hz per bit/s, SE the spectral efficiency of the scenario's link
model (RD paper Sec. V-A: alpha_k is the bandwidth consumed per unit rate; for the
Shannon link SE = min(log2(1 + SNR_k / Gamma), eta_max), gap and cap included, the same
rule the simulated uploads use, :mod:`edgefl.radio.link`) and, for a target distortion D
of the aggregate, picks

* the test-channel parameters z_k and the per-worker rates R_k in bits per
  parameter: P1's optimum (Lemma 1 corner point in P1's order) for ``p1``, the
  symmetric point (z_k = 1/(K D), R_k = R_sum(D)/K, RD paper Corollary 2) for
  ``equal``;
* the successive-decoding order: Lemma 1's order for ``p1`` (the cheapest-to-send
  worker, smallest alpha, is decoded first, without side information);
* FDMA bandwidth shares once the bits are known: equal shares, or for ``p1``
  the shares under which all uploads end together, which minimises the FDMA round
  latency for the given total bandwidth (exact, with the sub-band SNR gain:
  :func:`edgefl.radio.rate.equal_finish_fdma_shares`).

SNRs for alpha are per-worker uplink SNRs over the full uplink band: the mean
(path loss + shadowing) or the current fading state at round start. P1 treats
alpha as fixed; on an FDMA sub-band the noise is lower, so alpha over the full
band slightly overstates the cost of narrow-band workers (the usual linear
bandwidth-cost approximation of the RD paper).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgefl.radio.link import LinkModel
from edgefl.radio.rate import equal_finish_fdma_shares
from edgefl.theory import solve_p1, symmetric_rates_bits


@dataclass(frozen=True)
class Allocation:
    """The allocator's decision for one round (arrays indexed by worker)."""

    alpha: np.ndarray  # (K,) Hz per bit/s
    snr: np.ndarray  # (K,) linear full-band SNR behind alpha
    order: np.ndarray | None  # successive decoding / TDMA upload order, None = engine's choice
    rates_bits: np.ndarray | None  # (K,) bits per parameter the RD-ideal coder sends
    z: np.ndarray | None  # (K,) test-channel precisions z_k = 1 / (sigma_N^2 + sigma_V,k^2)


class RateAllocator:
    """Runs the allocation rule of a scenario each round."""

    def __init__(self, scheme: str, target_distortion: float | None, snr_source: str, update: str,
                 mean_snr: Callable[[], np.ndarray], current_snr: Callable[..., np.ndarray],
                 link: LinkModel, impose_order: bool = True) -> None:
        self.scheme = scheme
        self.D = target_distortion
        self.snr_source = snr_source
        self.update = update
        self._mean_snr = mean_snr
        self._current_snr = current_snr
        self.link = link
        self._cached: Allocation | None = None
        self._cached_key: tuple[int, ...] | None = None  # the workers of the cached allocation
        # (mean SNR, alpha) of every worker (snr: mean): alpha is elementwise in the SNR, so a round's
        # participants read their rows instead of recomputing the link's expectations every round
        self._mean_alpha: tuple[np.ndarray, np.ndarray] | None = None
        # the Lemma 1 order only pays off for successive (side-information) coding
        self.impose_order = impose_order

    def allocate(self, round: int, t: float, sigma_x2: float | None, sigma_n2: float | None,
                 workers: np.ndarray | None = None) -> Allocation:
        """Allocation for the round starting at ``t`` given the server's gradient statistics, over
        all workers or (partial participation) over the selected ``workers`` only: alpha, P1's
        rates and order of that subset, arrays indexed by position in ``workers``. ``update:
        once`` reuses the last allocation only for the same set of workers."""
        key = None if workers is None else tuple(np.asarray(workers, dtype=np.int64).tolist())
        if self._cached is not None and self.update == "once" and key == self._cached_key:
            return self._cached
        if self.snr_source == "mean":  # mean SNRs and their alpha do not change: computed once for all workers
            if self._mean_alpha is None:
                mean = np.asarray(self._mean_snr(), dtype=float).reshape(-1)
                self._mean_alpha = (mean, np.asarray(self.link.alpha(mean), dtype=float).reshape(-1))
            snr, alpha = self._mean_alpha
            rows = slice(None) if workers is None else np.asarray(workers, dtype=np.int64)
            snr, alpha = snr[rows].copy(), alpha[rows].copy()  # copies: the round's arrays are its own
        else:
            snr = self._current_snr(t, round) if workers is None else self._current_snr(t, round, workers)
            snr = np.asarray(snr, dtype=float).reshape(-1)
            alpha = np.asarray(self.link.alpha(snr), dtype=float).reshape(-1)
        k = alpha.size
        order = rates = z = None
        if self.D is not None and sigma_x2 is not None and sigma_n2 is not None:
            if self.scheme == "p1":
                res = solve_p1(alpha, np.full((k, 1), sigma_n2), np.array([sigma_x2]), self.D)
                rates, z = res.R[:, 0].copy(), res.z[:, 0].copy()
                order = np.asarray(res.decode_order)  # paper's worker K (smallest alpha) decodes first
            else:
                rates = symmetric_rates_bits(k, sigma_x2, sigma_n2, self.D)
                z = np.full(k, 1.0 / (k * self.D))
        elif self.scheme == "p1" and self.impose_order:
            order = np.argsort(alpha, kind="stable")
        alloc = Allocation(alpha, snr, order, rates, z)
        self._cached, self._cached_key = alloc, key
        return alloc

    def fdma_shares(self, alloc: Allocation, bits: np.ndarray) -> np.ndarray:
        """Bandwidth shares (sum 1): equal, or for p1 the split under which all uploads end together."""
        k = bits.size
        if self.scheme != "p1":
            return np.full(k, 1.0 / k)
        return equal_finish_fdma_shares(np.asarray(bits, dtype=float), alloc.snr, se=self.link.spectral_efficiency)
