"""The arithmetic of one NR HARQ pass as compiled scalar functions, shared by every upload path.

:class:`edgefl.radio.nr.HarqTransfer` (the SimPy engine's and the round-timing core's per-upload
process) and the batched upload kernel (:mod:`edgefl.radio.nr_batch`) call these same functions,
so both paths choose the same MCS, put the same bits on the air and compare their draws with the
same failure probabilities, bit for bit. The formulas are those of :mod:`edgefl.radio.nr`:

* MCS choice: the highest-SE row m with x_m(p) <= SNR (dB), row 0 when none qualifies;
* combined SNR after j transmissions: chase sum_i snr_i, IR Gamma (prod_i (1 + snr_i / Gamma) - 1)
  (Chase 1985; Caire and Tuninetti 2001);
* q_j = BLER_m(snr_eff_j) = 1 / (1 + exp(s (10 log10 snr_eff - gamma_m) + ln 9)), the exponent
  clipped to +-700.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LN9 = math.log(9.0)


# _nrt=False: no reference counting in this helper (it allocates nothing and only reads and writes arrays its
# caller holds); the kernels call it per pass, where counting each array argument in and out cost more
# than the arithmetic
@njit(cache=True, _nrt=False)
def mcs_row(snr: float, thresholds_db: np.ndarray, se: np.ndarray) -> int:
    """Row of the highest-SE MCS whose BLER-target threshold (dB) is <= the SNR (first row of equal
    SE wins); row 0 when none qualifies."""
    snr_db = 10.0 * np.log10(snr)
    best = -1
    best_se = -np.inf
    for m in range(thresholds_db.size):
        if thresholds_db[m] <= snr_db and se[m] > best_se:
            best = m
            best_se = se[m]
    return 0 if best < 0 else best


@njit(cache=True, _nrt=False)
def undecoded_probability(snrs: np.ndarray, n: int, gamma_db: float, slope: float, gap: float,
                          chase: bool) -> float:
    """q_n: P(TB undecoded after the n transmissions at linear SNRs ``snrs[:n]``) at the MCS whose
    10 %-BLER SNR is ``gamma_db``."""
    acc = 0.0
    if chase:
        for i in range(n):
            acc += snrs[i]
        eff = acc
    else:
        for i in range(n):
            acc += np.log1p(snrs[i] / gap)
        eff = gap * np.expm1(acc)
    z = slope * (10.0 * np.log10(eff) - gamma_db) + LN9
    if z > 700.0:
        z = 700.0
    elif z < -700.0:
        z = -700.0
    return 1.0 / (1.0 + np.exp(z))


@njit(cache=True)
def bits_sum(sizes: np.ndarray) -> float:
    """Payload bits of the TBs ``sizes`` on the air in one pass (summed in order)."""
    total = 0.0
    for i in range(sizes.size):
        total += sizes[i]
    return total
