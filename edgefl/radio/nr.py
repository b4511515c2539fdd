"""5G NR link adaptation and HARQ as pure functions: SNR thresholds, TB BLER, MCS choice, HARQ.

Model (one MCS table of TS 38.214, see :mod:`edgefl.radio.nr_tables`):

* **10 %-BLER threshold** of MCS m (AWGN, dB): the Shannon-gap rule
  gamma_m = 10 log10(2^SE_m - 1) + Delta, SE_m the table's spectral efficiency and Delta the
  implementation gap (Forney and Ungerboeck, IEEE Trans. IT 44(6), 1998). Default
  Delta = 4.3 dB: the least-squares fit (mean of gamma - Shannon SNR) to the CQI-to-SNR
  mapping at 10 % BLER of the Vienna 5G Link Level Simulator for TS 38.214 Table 5.2.2.1-2
  (Pratschner et al., EURASIP J. Wireless Commun. Netw. 2018:226; fit residuals within
  +-1.1 dB, see tests/test_nr_link_adaptation.py).
* **Transport-block BLER** around it, logistic in dB:
  BLER_m(x) = 1 / (1 + exp(s (x - gamma_m) + ln 9)), so BLER_m(gamma_m) = 0.1 exactly and
  the waterfall falls from 90 % to 10 % over 2 ln 9 / s dB. Default s = 8 /dB (0.55 dB
  from 90 % to 10 %): LDPC link-level curves of 5G-LENA (Lagen et al., "New radio physical
  layer abstraction for system-level simulations of 5G networks", IEEE ICC 2020; MCS 4,
  code blocks 3840-4864 bits) fall from 61 % to 0.6 % within 0.5 dB (logit slope 10-14 /dB);
  8 /dB is the shallower side for shorter transport blocks.
* **Threshold at a BLER target p**: x_m(p) = gamma_m + (ln((1 - p)/p) - ln 9) / s.
* **MCS selection**: the highest spectral efficiency among the MCSs with x_m(p) <= SNR
  (MCS index 0 of the table when none qualifies). The feasible set grows with the SNR, so
  the chosen SE never decreases (TS 38.214 Table 5.1.3.1-1 repeats ~2.57 bit/s/Hz at
  I_MCS 16/17: the dominated entry is simply never the best).
* **HARQ combining** after transmissions with SNRs snr_1..snr_j: chase combining adds SNR,
  snr_eff = sum_i snr_i (maximal-ratio combining of identical copies; Chase, IEEE Trans.
  Commun. 33(5), 1985); incremental redundancy adds mutual information,
  snr_eff = Gamma (prod_i (1 + snr_i / Gamma) - 1) with Gamma = 10^(Delta/10), the SNR whose
  gap-adjusted capacity log2(1 + snr/Gamma) equals sum_i log2(1 + snr_i/Gamma)
  (Caire and Tuninetti, IEEE Trans. IT 47(5), 2001). Decoding failures are nested (more
  combined energy never hurts), so P(TB not decoded after j transmissions) =
  q_j = BLER_m(snr_eff_j) and P(fail at j | failed at j-1) = q_j / q_{j-1}.
* **Delivery**: a TB still undecoded after ``max_harq`` transmissions (3GPP
  maxHARQ-Tx semantics: the first transmission counts) starts a fresh HARQ process (RLC
  AM retransmission, no combining with the old copies), at most ``max_rlc_retx`` times
  (RLC maxRetxThreshold, TS 38.322 Sec. 5.3.2; default 4); after that the upload is lost
  (radio link failure: a deep fade that HARQ cannot bridge). Every retransmission waits
  one HARQ round trip ``harq_rtt_s`` (NACK + re-grant).
* **Overhead**: a fraction ``overhead`` of the resource elements carries control and
  reference signals (DMRS, PUCCH/PDCCH, SRS), so the payload rate is
  B SE_m (1 - overhead). Default 0.08: the overhead OH of TS 38.306 Sec. 4.1.2 for the
  FR1 uplink (0.10 FR2 uplink, 0.14 / 0.18 FR1 / FR2 downlink).
* **Defaults**: ``max_harq`` = 4 transmissions, one per redundancy version of the LDPC
  circular buffer (rv 0-3, TS 38.212 Sec. 5.4.2.1; gNBs usually cycle 0, 2, 3, 1);
  ``harq_rtt_s`` = 1 ms (NACK/re-grant at 30 kHz SCS: PUSCH preparation N2 = 12 symbols,
  TS 38.214 Table 6.4-1, plus gNB decoding and a slot of scheduling; FDD LTE's 8 ms,
  TS 36.213 Sec. 8, is the conservative end); ``transport_block_bits`` = 8448, the largest
  LDPC code block of base graph 1 (TS 38.212 Sec. 5.2.2).

On a static channel the expected transmissions per TB, the RLC limit included, are
E[N] = S (1 + q_M + ... + q_M^R) = S (1 - q_M^(R+1)) / (1 - q_M), S = sum_{j=0}^{M-1} q_j
(q_0 = 1, M = max_harq, R = max_rlc_retx): each HARQ process costs S transmissions on
average (TS 38.321 Sec. 5.4.2.1: a HARQ retransmission only after a failed one) and a fresh
process follows with probability q_M, at most R times (TS 38.322 Sec. 5.3.2: once RETX_COUNT
reaches maxRetxThreshold the RLC gives up and indicates it to upper layers). So
1 <= E[N] <= M (R + 1) at every SNR: below MCS 0 (TS 38.214 Sec. 5.2.2.1, CQI 0 "out of
range") a TB costs at most its M (R + 1) transmissions and is then lost, never an unbounded
number. The spectral efficiency is the payload offered per second and hertz the link spends,
SE = SE_m (1 - overhead) / E[N] >= SE_0 (1 - overhead) / (M (R + 1)) > 0, and the bandwidth
per unit payload rate (P1's alpha) is alpha = 1 / SE: finite, so the FDMA shares, the
multicast rate and the planner never meet a zero rate. Above MCS 0's threshold q_M^(R+1) is
negligible and E[N] is the renewal value S / (1 - q_M) (the cost of a bit eventually delivered).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from edgefl.radio.nr_config import NRLinkConfig

LN9 = math.log(9.0)


def _db(x: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.asarray(x, dtype=float))


def bler10_snr_db(p: NRLinkConfig) -> np.ndarray:
    """gamma_m = 10 log10(2^SE_m - 1) + Delta (dB): SNR of 10 % TB BLER for every MCS of the table."""
    se = p.mcs_table.spectral_efficiency
    return _db(np.exp2(se) - 1.0) + p.implementation_gap_db


def snr_thresholds_db(p: NRLinkConfig) -> np.ndarray:
    """x_m(p) = gamma_m + (ln((1-p)/p) - ln 9) / s: SNR (dB) at which MCS m has BLER = bler_target."""
    shift = (math.log((1.0 - p.bler_target) / p.bler_target) - LN9) / p.bler_slope_per_db
    return bler10_snr_db(p) + shift


def tb_bler(p: NRLinkConfig, mcs_row: np.ndarray | int, snr_linear: np.ndarray | float) -> np.ndarray:
    """BLER_m(x) = 1 / (1 + exp(s (x - gamma_m) + ln 9)), x = 10 log10 SNR (row = table row)."""
    gamma = bler10_snr_db(p)[np.asarray(mcs_row)]
    z = p.bler_slope_per_db * (_db(snr_linear) - gamma) + LN9
    return 1.0 / (1.0 + np.exp(np.clip(z, -700.0, 700.0)))


def select_mcs(p: NRLinkConfig, snr_linear: np.ndarray | float) -> np.ndarray:
    """Row of the highest-SE MCS whose threshold x_m(p) <= SNR; row of MCS 0 when none qualifies."""
    snr_db = _db(snr_linear)
    th = snr_thresholds_db(p)
    se = p.mcs_table.spectral_efficiency
    ok = th[None, :] <= np.atleast_1d(snr_db)[:, None]  # (n, M)
    best = np.argmax(np.where(ok, se[None, :], -np.inf), axis=1)
    best = np.where(ok.any(axis=1), best, 0)
    return best.reshape(np.shape(snr_db))


def combined_snr(p: NRLinkConfig, snrs: np.ndarray) -> np.ndarray:
    """snr_eff after the transmissions along the last axis of ``snrs`` (linear; see module docstring)."""
    s = np.asarray(snrs, dtype=float)
    if p.harq == "chase":
        return s.sum(axis=-1)
    g = p.gap_linear
    with np.errstate(over="ignore"):  # inf effective SNR = certainly decoded
        return g * np.expm1(np.log1p(s / g).sum(axis=-1))


def failure_probabilities(p: NRLinkConfig, mcs_row: int, snrs: np.ndarray) -> np.ndarray:
    """q_j = BLER_m(snr_eff of transmissions 1..j), j = 1..len(snrs): P(TB undecoded after j)."""
    s = np.asarray(snrs, dtype=float)
    eff = np.array([combined_snr(p, s[: j + 1]) for j in range(s.size)])
    q = tb_bler(p, mcs_row, eff)
    return np.minimum.accumulate(q)  # nested failures; guards round-off only


def static_expectations(p: NRLinkConfig, snr_linear: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(MCS row, E[N] transmissions per TB, E[N] - 1 round trips per TB) on a static channel.

    E[N] = S (1 - q_M^(R+1)) / (1 - q_M) (limit S (R + 1) as q_M -> 1), S = sum_{j=0}^{M-1} q_j,
    q_0 = 1, q_j = BLER_m(snr_eff_j) with every transmission at the same SNR: at most R + 1
    HARQ processes of M = max_harq transmissions (TS 38.321 Sec. 5.4.2.1, TS 38.322 Sec. 5.3.2;
    module docstring). Finite and <= M (R + 1) at every SNR.
    """
    snr = np.atleast_1d(np.asarray(snr_linear, dtype=float))
    rows = select_mcs(p, snr)
    m = p.max_harq
    counts = np.arange(1, m + 1, dtype=float)
    if p.harq == "chase":
        eff = snr[:, None] * counts[None, :]
    else:
        g = p.gap_linear
        with np.errstate(over="ignore"):  # inf effective SNR = certainly decoded
            eff = g * np.expm1(counts[None, :] * np.log1p(snr[:, None] / g))
    q = tb_bler(p, rows[:, None], eff)  # (n, M): q_1..q_M
    q = np.minimum.accumulate(q, axis=1)
    per_process = 1.0 + q[:, :-1].sum(axis=1)
    n_tx = per_process * rlc_processes(q[:, -1], p.max_rlc_retx)
    shape = np.shape(snr_linear)
    return rows.reshape(shape), n_tx.reshape(shape), (n_tx - 1.0).reshape(shape)


def rlc_processes(q_m: np.ndarray, max_rlc_retx: int) -> np.ndarray:
    """Expected HARQ processes per TB, 1 + q + ... + q^R = (1 - q^(R+1)) / (1 - q) (R + 1 at q = 1),
    q = q_M the probability that a process ends undecoded, R = max_rlc_retx (TS 38.322 Sec. 5.3.2)."""
    q = np.clip(np.asarray(q_m, dtype=float), 0.0, 1.0)
    one_minus = 1.0 - q
    with np.errstate(divide="ignore", invalid="ignore"):
        # 1 - q^(R+1) = -expm1((R+1) log q), accurate as q -> 1
        geo = -np.expm1((max_rlc_retx + 1) * np.log(np.maximum(q, 1e-300))) / one_minus
    return np.where(one_minus > 0.0, geo, float(max_rlc_retx + 1))


def expected_spectral_efficiency(p: NRLinkConfig, snr_linear: np.ndarray | float) -> np.ndarray:
    """Payload bit/s/Hz: SE_m (1 - overhead) / E[N] with m = select_mcs(SNR); alpha = 1 / this."""
    rows, n_tx, _ = static_expectations(p, snr_linear)
    return p.mcs_table.spectral_efficiency[rows] * (1.0 - p.overhead) / n_tx


def payload_rate_bps(p: NRLinkConfig, bandwidth_hz: float, mcs_row: int) -> float:
    """B SE_m (1 - overhead): payload bit/s of one transmission pass at MCS row ``mcs_row``."""
    return float(bandwidth_hz * p.mcs_table.spectral_efficiency[mcs_row] * (1.0 - p.overhead))


def transport_blocks(p: NRLinkConfig, bits: float) -> np.ndarray:
    """Payload bits of each TB of a ``bits``-bit message: full TBs of transport_block_bits, the last holds the rest."""
    if not (math.isfinite(bits) and bits >= 0):
        raise ValueError(f"bits must be finite and >= 0, got {bits}")
    tb = float(p.transport_block_bits)
    n_full, rest = divmod(float(bits), tb)
    sizes = np.full(int(n_full), tb)
    return np.append(sizes, rest) if rest > 0 else sizes


def conditional_failure(q_prev: float, q_now: float) -> float:
    """P(fail at transmission j | failed at j-1) = q_j / q_{j-1} (nested failures), 0 if q_{j-1} = 0."""
    return 0.0 if q_prev <= 0.0 else min(1.0, q_now / q_prev)


class PassTables:
    """The per-MCS arrays one HARQ pass needs (thresholds x_m(p) and gamma_m in dB, SE_m)."""

    def __init__(self, p: NRLinkConfig) -> None:
        self.thresholds_db = np.ascontiguousarray(snr_thresholds_db(p), dtype=float)
        self.gamma_db = np.ascontiguousarray(bler10_snr_db(p), dtype=float)
        self.se = np.ascontiguousarray(p.mcs_table.spectral_efficiency, dtype=float)
        self.slope = float(p.bler_slope_per_db)
        self.gap = float(p.gap_linear)
        self.chase = p.harq == "chase"


@lru_cache(maxsize=64)
def _tables(table: str, bler_target: float, gap_db: float, slope: float, harq: str) -> PassTables:
    return PassTables(NRLinkConfig(table=table, bler_target=bler_target, implementation_gap_db=gap_db,
                                   bler_slope_per_db=slope, harq=harq))


def pass_tables(p: NRLinkConfig) -> PassTables:
    """:class:`PassTables` of ``p`` (cached by the fields they depend on)."""
    return _tables(p.table, p.bler_target, p.implementation_gap_db, p.bler_slope_per_db, p.harq)


class HarqTransfer:
    """HARQ state of one message upload, advanced one transmission pass at a time.

    A pass sends every still-undecoded TB once, all at the MCS chosen from the SNR at the
    first pass of the current HARQ process; after it each TB fails independently with
    probability q_j / q_{j-1} (j = transmissions so far in the process). Undecoded TBs are
    resent after one ``harq_rtt_s``; after ``max_harq`` transmissions they start a fresh
    process (new MCS choice, combining reset), up to ``max_rlc_retx`` times; then
    :attr:`lost` is set. The SimPy side only asks for the SNR of each pass, waits
    ``pass_bits / rate``, then calls :meth:`end_pass`.
    """

    def __init__(self, p: NRLinkConfig, bits: float, rng: np.random.Generator) -> None:
        self.p = p
        self.rng = rng
        self.outstanding = transport_blocks(p, bits)
        self.passes = 0
        self.transmissions = 0  # TB transmissions, summed over TBs
        self.mcs_row = -1
        self.processes = 1
        self.lost = False
        self._snrs: list[float] = []
        self._q_prev = 1.0
        self._t = pass_tables(p)

    @property
    def done(self) -> bool:
        """True once every TB is decoded."""
        return self.outstanding.size == 0

    def start_pass(self, snr_linear: float) -> tuple[float, int]:
        """Record the pass SNR; return (payload bits on the air, MCS row)."""
        if self.done or self.lost:
            raise RuntimeError("the transfer is over (all TBs decoded or the upload lost); no pass to start")
        from edgefl.radio.nr_pass import bits_sum, mcs_row  # compiled; not at import (scenario loading stays light)

        if not self._snrs:
            self.mcs_row = int(mcs_row(float(snr_linear), self._t.thresholds_db, self._t.se))
        self._snrs.append(float(snr_linear))
        self.passes += 1
        self.transmissions += self.outstanding.size
        return float(bits_sum(self.outstanding)), self.mcs_row

    def end_pass(self) -> bool:
        """Draw which TBs failed this pass; return True when the transfer is over (decoded or lost)."""
        from edgefl.radio.nr_pass import undecoded_probability

        t = self._t
        q_now = float(undecoded_probability(np.array(self._snrs), len(self._snrs), float(t.gamma_db[self.mcs_row]),
                                            t.slope, t.gap, t.chase))
        q_now = min(q_now, self._q_prev)
        fail = self.rng.random(self.outstanding.size) < conditional_failure(self._q_prev, q_now)
        self.outstanding = self.outstanding[fail]
        self._q_prev = q_now
        if len(self._snrs) == self.p.max_harq and not self.done:
            if self.processes > self.p.max_rlc_retx:
                self.lost = True
            else:  # RLC retransmission: fresh HARQ process
                self._snrs, self._q_prev = [], 1.0
                self.processes += 1
        return self.done or self.lost
