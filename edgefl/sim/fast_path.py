"""Analytic fast path: the SimPy engine's uploads and decoding replayed as plain arithmetic.

For the configurations where the timing diagram of a round is a closed recursion, the
upload/decode phases of :class:`edgefl.sim.engine.Simulation` reduce to the formulas of
:mod:`edgefl.sim.timing` (DSC paper Sec. IV-D/E, Fig. 5):

* TDMA (one band, uploads in ``order``): start_i = max(ready_i, end_{i-1}),
  end_i = start_i + b_i / (B SE(SNR_i)) (:func:`edgefl.sim.timing.serial_pipeline`);
* FDMA (worker k on share s_k of the band): start_k = ready_k, end_k = ready_k + b_k / (s_k B SE(SNR_k));
* successive decoding in ``order``: dec_i = max(end_i, dec_{i-1}) + d_i / decoder throughput,
  then aggregation.

:class:`FastSimulation` keeps every other phase of the engine (broadcast, local work, rate
allocation, compression, records) and replaces only the SimPy processes of phases 3-5, with
the very same floating-point operations SimPy performs (``now + delay``), so rounds.csv and
timeline.csv are identical to the SimPy engine's (``tests/test_fast_path.py`` checks it on
every shipped scenario). SimPy stays the reference.

It declines (:func:`fast_path_problems` says why) whatever it cannot replay exactly: a link
model whose uploads are not one error-free attempt (retransmissions, HARQ), an SNR that depends
on the upload start time (Gauss-Markov fading, a channel trace), and any engine option it does
not know at a non-default value (e.g. partial participation or round deadlines). A round whose
compression asks for DSC feedback on the air (``CompressionResult.decode_schedule``) is played
by the SimPy processes of the base class.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from edgefl.compress.base import CompressionResult
from edgefl.radio.link import LinkModel
from edgefl.scenario import ResolvedScenario
from edgefl.sim.engine import Network, SimOptions, Simulation
from edgefl.sim.round_phases import AirOutcome, Interval, LocalWork

#: SimOptions fields whose every value the fast path replays; any other field must keep its default
_KNOWN_OPTIONS = {"rounds", "fidelity", "upload_order", "compute_jitter", "aggregate_flops_per_param_worker",
                  "timeline"}
#: fading correlations whose draw does not depend on the upload start time
_TIME_FREE_CORRELATIONS = {"block_round", "block_upload"}


def fast_path_problems(rs: ResolvedScenario, net: Network, opt: SimOptions) -> list[str]:
    """Why the run of ``rs`` on ``net`` with ``opt`` cannot take the fast path (empty: it can)."""
    problems = []
    ch = rs.scenario.channel
    link = type(net.link)
    if link.upload is not LinkModel.upload or link.transmit is not LinkModel.transmit:
        problems.append(f"link model {net.link.name!r} has its own upload process (retransmissions)")
    if ch.correlation.kind not in _TIME_FREE_CORRELATIONS:
        problems.append(f"fading correlation {ch.correlation.kind!r} depends on the upload start time")
    if getattr(ch, "trace", None) is not None:
        problems.append("channel.trace: the SNR depends on the upload start time")
    if net.access not in ("tdma", "fdma"):
        problems.append(f"access {net.access!r}")
    if net.energy is not None and np.any(np.isfinite(net.energy.battery_capacity_j)):
        problems.append("battery_capacity_j: workers whose battery runs out stop taking part")
    defaults = SimOptions(rounds=1)
    for f in dataclasses.fields(opt):
        if f.name not in _KNOWN_OPTIONS and not _same(getattr(opt, f.name), getattr(defaults, f.name)):
            problems.append(f"engine option {f.name} is set (the fast path plays every worker, no deadline)")
    return problems


def _same(value: object, default: object) -> bool:
    if value is default:
        return True
    try:
        return bool(value == default)
    except ValueError:  # an array against a scalar default
        return False


class FastSimulation(Simulation):
    """:class:`Simulation` with phases 3-5 (uploads, successive decoding, aggregation) computed
    directly instead of by SimPy processes; see the module docstring for when it applies."""

    engine_path = "fast"

    def _air_and_decode(self, r: int, t0: float, work: LocalWork, order: np.ndarray, res: CompressionResult,
                        share: np.ndarray, sel: np.ndarray, log: list[Interval]) -> AirOutcome:
        # the build admits no participation sampling (sel = every worker) and no deadline
        if res.decode_schedule is not None or sel.size != self.net.num_workers:  # SimPy plays it
            return super()._air_and_decode(r, t0, work, order, res, share, sel, log)
        net, link, k = self.net, self.net.link, self.net.num_workers
        keep = self.opt.timeline
        bits = np.asarray(res.upload_bits, dtype=float)
        dec_s = np.asarray(res.decode_bits, dtype=float) / net.decoder_bps
        bw = net.uplink_bandwidth_hz * np.asarray(share, dtype=float)
        # SimPy's clock after timeout(ready - t0) started at t0: the same two roundings
        t_req = t0 + (work.ready - t0)
        airtime = np.zeros(k)
        senders = np.flatnonzero(bits > 0)  # no bits, no draw from the fading stream
        if net.uplink_snr_many is not None:  # block fading: the start time does not matter
            snrs = net.uplink_snr_many(senders, t0, r, bw[senders])
        else:
            snrs = [net.uplink_snr(w, float(t_req[w]), r, float(bw[w])) for w in senders.tolist()]
        airtime_s = link.airtime_s
        for w, b, bw_w, snr in zip(senders.tolist(), bits[senders].tolist(), bw[senders].tolist(), snrs):
            airtime[w] = airtime_s(b, bw_w, snr)
        if net.access == "tdma":
            start = np.empty(k)
            t_air = -math.inf
            for w in order.tolist():  # the band is served FIFO in ``order`` (engine docstring, step 3)
                s = t_req[w] if t_req[w] > t_air else t_air
                start[w] = s
                t_air = s + airtime[w]
            end = start + airtime
        else:
            start = t_req
            end = t_req + airtime
        t_dec = t0  # the server process starts at t0
        decodes: list[tuple[int, float, float]] = []
        for w in order.tolist():
            if end[w] > t_dec:
                t_dec = float(end[w])
            if dec_s[w] > 0:
                s = t_dec
                t_dec = s + float(dec_s[w])
                if keep:
                    decodes.append((w, s, t_dec))
        t_end = t_dec + self._aggregate_s(k)
        if keep:
            self._log_intervals(r, t0, work, res, start, end, bits, decodes, t_dec, t_end, log)
        # the records read the round's end from the SimPy clock, as after a SimPy round
        self.env._now = t_end  # noqa: SLF001 - no public setter; the value is SimPy's own now + delay
        # single attempts are delivered, nothing is late, every upload is aggregated in decoding order
        return AirOutcome(airtime, np.ones(k, dtype=bool), np.zeros(k), np.zeros(k), np.ones(k, dtype=bool),
                           np.asarray(order, dtype=np.int64))

    def _log_intervals(self, r: int, t0: float, work: LocalWork, res: CompressionResult, start: np.ndarray,
                       end: np.ndarray, bits: np.ndarray, decodes: list[tuple[int, float, float]],
                       agg_start: float, t_end: float, log: list[Interval]) -> None:
        """The intervals the SimPy processes would have logged (same values, same fields)."""
        t_comp = t0 + work.t_bc + (work.wait_s if work.wait_s is not None else 0.0)
        comp_end = t_comp + work.compute_s
        enc_start = work.ready - work.encode_s
        dbits = np.asarray(res.decode_bits, dtype=float)
        for w in range(self.net.num_workers):
            actor = f"worker{w}"
            log.append(Interval(r, actor, "compute", float(t_comp if np.ndim(t_comp) == 0 else t_comp[w]),
                                float(comp_end[w])))
            if work.encode_s[w] > 0:
                log.append(Interval(r, actor, "encode", float(enc_start[w]), float(work.ready[w])))
            log.append(Interval(r, actor, "upload", float(start[w]), float(end[w]), float(bits[w])))
        for w, s, e in decodes:
            log.append(Interval(r, "server", "decode", s, e, float(dbits[w])))
        log.append(Interval(r, "server", "aggregate", agg_start, t_end))
