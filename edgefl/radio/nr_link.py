"""The 5G NR link model behind :class:`edgefl.radio.link.LinkModel` (``channel.link: {model: nr}``).

Spectral efficiency (and so P1's alpha = 1/SE, the FDMA shares and ``edgefl plan``):
SE(SNR) = SE_m (1 - overhead) / E[N], m the MCS chosen at the SNR for the BLER target and
E[N] the expected transmissions per transport block on a static channel with HARQ, at most
max_harq (max_rlc_retx + 1) (the RLC limit included)
(:func:`edgefl.radio.nr.expected_spectral_efficiency`).

Upload: the message is cut into transport blocks; each pass sends every undecoded TB once
at the pass's MCS (chosen from the SNR at the first pass of a HARQ process), lasting
bits / (B SE_m (1 - overhead)); failures are drawn per TB from the combined-SNR BLER
(:class:`edgefl.radio.nr.HarqTransfer`); failed TBs go again after ``harq_rtt_s``. Under
TDMA each pass requests the band afresh, so other workers' uploads use it during the round trip.
An upload whose TBs exhaust ``max_rlc_retx`` fresh HARQ processes ends with ``delivered=False``.

:meth:`NRLink.upload_batch` plays a whole round's uploads at once in a compiled event loop
(:mod:`edgefl.radio.nr_batch`) with the same pass functions (:mod:`edgefl.radio.nr_pass`), the
radio's SNR arithmetic and the uploads' keyed draws, so it returns the numbers the processes give
(tests/test_nr_batch.py, tests/test_timing_core_equality.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from edgefl.radio.link import LinkModel, SnrAt, UploadArrays, UploadOutcome, UploadProcess
from edgefl.radio.nr import (
    HarqTransfer,
    expected_spectral_efficiency,
    pass_tables,
    payload_rate_bps,
    snr_thresholds_db,
)
from edgefl.radio.nr_config import NRLinkConfig

if TYPE_CHECKING:
    from edgefl.radio.config import ChannelConfig


class NRLink(LinkModel):
    """5G NR link adaptation (TS 38.214 MCS tables) with HARQ; see :mod:`edgefl.radio.nr`."""

    name = "nr"
    may_lose_uploads = True  # after max_harq transmissions and max_rlc_retx RLC retries

    def __init__(self, cfg: NRLinkConfig) -> None:
        self.cfg = cfg
        self.max_reads_per_upload = cfg.max_harq * (cfg.max_rlc_retx + 1)

    @classmethod
    def from_config(cls, cfg: NRLinkConfig, channel: ChannelConfig) -> NRLink:
        return cls(cfg)

    def coverage_snr_linear(self) -> float:
        """x_0(p): the SNR at which the lowest MCS of the table reaches the BLER target. Below it even
        MCS 0 misses the target, the CQI 0 "out of range" of TS 38.214 Sec. 5.2.2.1:
        the cell edge at the mean SNR (:func:`edgefl.radio.nr.snr_thresholds_db`)."""
        return float(10.0 ** (snr_thresholds_db(self.cfg)[0] / 10.0))

    def spectral_efficiency(self, snr_linear: np.ndarray) -> np.ndarray:
        return expected_spectral_efficiency(self.cfg, snr_linear)

    def upload(self, env: simpy.Environment, channel: simpy.Resource | None, bits: float,
               bandwidth_hz: float, snr_at: SnrAt, rng: np.random.Generator) -> UploadProcess:
        """HARQ passes until every TB is decoded (module docstring); one interval per pass."""
        if bits <= 0:
            return (yield from super().upload(env, channel, bits, bandwidth_hz, snr_at, rng))
        h = HarqTransfer(self.cfg, bits, rng)
        first, air, sent, intervals = None, 0.0, 0.0, []
        while True:
            req = channel.request() if channel is not None else None
            if req is not None:
                yield req
            s = env.now
            first = s if first is None else first
            on_air, row = h.start_pass(snr_at(s))
            yield env.timeout(on_air / payload_rate_bps(self.cfg, bandwidth_hz, row))
            if req is not None:
                channel.release(req)  # type: ignore[union-attr]
            air += env.now - s
            sent += on_air
            intervals.append((s, env.now, on_air))
            if h.end_pass():
                break
            yield env.timeout(self.cfg.harq_rtt_s)
        return UploadOutcome(first, env.now, air, h.passes, sent, tuple(intervals), delivered=h.done)

    def upload_batch(self, queued: bool, requested: np.ndarray, order: np.ndarray, bits: np.ndarray,
                     bandwidth_hz: np.ndarray, snr: Any, draws: Any, deadline: float | None) -> UploadArrays | None:
        """:meth:`upload` of every row at once, compiled (:func:`edgefl.radio.nr_batch.nr_round`)."""
        from edgefl.radio.gauss_markov import numpy_cabs_fused
        from edgefl.radio.nr_batch import nr_round, stable_order_by_row

        b = np.asarray(bits, dtype=float)
        bw = np.asarray(bandwidth_hz, dtype=float)
        if not np.all(np.isfinite(b)) or np.any((b > 0) & ~(np.isfinite(bw) & (bw > 0))):
            return None  # upload() raises its error
        cfg, t = self.cfg, pass_tables(self.cfg)
        tb = float(cfg.transport_block_bits)
        # transport_blocks of each upload: numpy's divmod is Python's float divmod
        n_full, rest = np.divmod(np.where(b > 0, b, 0.0), tb)
        n_full = n_full.astype(np.int64)
        res = nr_round(np.asarray(requested, dtype=float), np.asarray(order, dtype=np.int64), b, n_full, rest,
                       bw, bool(queued), deadline is not None,
                       0.0 if deadline is None else float(deadline),
                       snr.kind, snr.mean_db, snr.ids, snr.buf, snr.pos, snr.state_re, snr.state_im, snr.last_t,
                       snr.has_last, snr.used, snr.gain_map, snr.los, snr.scale, snr.doppler_hz,
                       bool(numpy_cabs_fused()), 2.0,
                       t.thresholds_db, t.se, t.gamma_db, t.slope, t.gap, t.chase, 1.0 - cfg.overhead,
                       cfg.max_harq, cfg.max_rlc_retx, float(cfg.harq_rtt_s), tb,
                       draws.prefix, draws.round, draws.workers, draws.upload)
        snr.commit()
        end, air, delivered, row, s, e, nbits = res
        by_row = stable_order_by_row(row, b.size)
        return UploadArrays(end, air, delivered, row[by_row], s[by_row], e[by_row], nbits[by_row])
