"""Rate allocation helpers for the simulator: alpha from the radio, P1 and equal rates, and the
bandwidth / airtime that the rates cost on the uplink (RD paper Sec. V-A: alpha_k is the
bandwidth consumed per unit rate on a wireless link).

Sending b bits in time t over bandwidth W at spectral efficiency log2(1 + SNR) needs
W = b / (t log2(1 + SNR)) = alpha b / t, so sum_k alpha_k b_k is, up to 1/t, the total FDMA
bandwidth for a deadline t, and, divided by W, the TDMA airtime (or FDMA latency) for a
bandwidth W. P1 (RD paper eq. (20)) minimises exactly this weighted sum. SNRs are taken as
given per worker (fixed transmit power spectral density), so alpha does not depend on W.
"""

from __future__ import annotations

import numpy as np

from ._checks import count, positive
from .p1 import solve_p1
from .sumrate import r_sum

UNCODED_BITS_PER_PARAM = 32.0  # float32 gradients sent as they are


def alpha_from_snr(snr_linear):
    """alpha_k = 1 / log2(1 + SNR_k), Hz per bit/s (RD paper Sec. V-A: alpha_k is the bandwidth
    consumed per unit rate) on an ideal Shannon link. SNR is linear (not dB) and must be > 0.
    The simulator and ``edgefl plan`` use ``LinkModel.alpha`` (:mod:`edgefl.radio.link`), which
    adds the channel's SNR gap and spectral-efficiency cap; with gap 0 dB and no cap it is this."""
    snr = positive("snr_linear", snr_linear)
    out = 1.0 / np.log2(1.0 + snr)
    return float(out) if np.ndim(out) == 0 else out


def p1_rates_bits(alpha, sigma_x2, sigma_n2, D, return_result: bool = False):
    """Per-worker bits per gradient parameter from P1 (RD paper eq. (20)): (1/L) sum_l R_{k,l}.

    alpha (K,); sigma_x2 scalar or (L,); sigma_n2 scalar, (K,) or (K, L); D is the distortion of
    one L-vector (one entry per layer, RD paper eq. (11)), i.e. per parameter when L = 1.
    Layers are taken to be of equal size P/L (the paper's assumption), so worker k sends
    (P/L) sum_l R_{k,l} = P x (returned value) bits per round; Corollary 1's per-worker rate
    R_k = sum_l R_{k,l} is ``P1Result.R_worker``. Returns (K,) bits per parameter (and the
    P1Result if ``return_result``)."""
    res = solve_p1(alpha, sigma_n2, sigma_x2, D)
    bits = res.R.mean(axis=1)
    return (bits, res) if return_result else bits


def symmetric_rates_bits(K: int, sigma_x2: float, sigma_n2: float, D: float) -> np.ndarray:
    """Equal allocation baseline: R_sum(D)/K bits per parameter for every worker (the symmetric
    point of Theorem 2, summing to Corollary 2's R_sum(D)); one layer, identical workers."""
    K = count("K", K)
    return np.full(K, r_sum(K, sigma_x2, sigma_n2, D, "bits") / K)


def fdma_bandwidth_for_deadline(bits, alpha, deadline_s: float) -> np.ndarray:
    """FDMA bandwidth per worker so that every upload of ``bits`` finishes in ``deadline_s``:
    W_k = alpha_k b_k / t (Hz). Their sum is the minimum total bandwidth for that deadline."""
    b = np.asarray(bits, dtype=float)
    if np.any(~(b >= 0)):
        raise ValueError("bits must be >= 0")
    return np.asarray(positive("alpha", alpha)) * b / float(positive("deadline_s", deadline_s))


def fdma_split_for_bandwidth(bits, alpha, bandwidth_hz: float) -> tuple[np.ndarray, float]:
    """Split a total bandwidth W among workers so all uploads end together, which minimises the
    FDMA round latency: W_k = W alpha_k b_k / sum_j alpha_j b_j, latency = sum_j alpha_j b_j / W.
    Returns (W_k (K,), latency_s)."""
    load = fdma_bandwidth_for_deadline(bits, alpha, 1.0)
    W = float(positive("bandwidth_hz", bandwidth_hz))
    total = float(load.sum())
    share = load / total * W if total > 0 else np.zeros_like(load)
    return share, total / W


def tdma_airtime(bits, alpha, bandwidth_hz: float) -> np.ndarray:
    """TDMA airtime per worker with the full bandwidth W: t_k = alpha_k b_k / W (seconds)."""
    return fdma_bandwidth_for_deadline(bits, alpha, 1.0) / float(positive("bandwidth_hz", bandwidth_hz))
