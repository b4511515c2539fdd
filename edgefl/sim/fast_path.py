"""The vectorised path: the SimPy engine's phases 3-5 replayed by the round-timing core.

:class:`FastSimulation` keeps every other phase of the engine (participation, broadcast, local
work, rate allocation, compression, energy, records) and replaces only the SimPy processes of
uploads, successive decoding, the deadline and aggregation with :mod:`edgefl.sim.round_timing`
(DSC paper Sec. IV-D/E, Fig. 5), performing the very floating-point operations SimPy performs
(``now + delay``), so rounds.csv and timeline.csv are identical to the SimPy engine's
(``tests/test_timing_core_equality.py`` checks it on every shipped scenario and feature variant).
SimPy stays the reference.

It covers partial participation, batteries, round deadlines, SNRs that depend on the upload
start time (Gauss-Markov fading, channel traces: read attempt by attempt at each start), links
with their own upload process (NR HARQ passes, RLC retries, uploads given up on: the link's own
process on the core's event loop), DSC decode schedules and DSC feedback on the air (a ``retry``
step of ``decode_schedule``: the server process on the same event loop as the uploads, its retry
uploads queueing on the band behind the others, racing the deadline where there is one). The
links' random draws are keyed by (round, worker, upload), so both paths draw the same numbers.

:func:`fast_path_problems` says why a run cannot take the path at all (empty: it can).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgefl.radio.keyed_draws import KeyedDraws
from edgefl.radio.link import LinkModel
from edgefl.sim.engine import Simulation
from edgefl.sim.network import Network, SimOptions
from edgefl.sim.round_phases import AirOutcome, AirPlan, Interval
from edgefl.sim.round_timing import (
    CutUploads,
    ServerPass,
    Uploads,
    batched_link_uploads,
    cut_at_deadline,
    decode_seconds,
    feedback_round,
    feedback_round_with_deadline,
    link_uploads,
    one_decode_pass,
    server_pass,
    sim_clock,
    single_attempts,
    snr_reader,
)

#: SimOptions fields whose every value the fast path replays; any other field must keep its default
_KNOWN_OPTIONS = {"rounds", "fidelity", "upload_order", "compute_jitter", "aggregate_flops_per_param_worker",
                  "timeline", "per_round", "sampling_weights", "round_deadline_s"}


def fast_path_problems(net: Network, opt: SimOptions) -> list[str]:
    """Why the run on ``net`` with ``opt`` cannot take the vectorised path (empty: it can)."""
    problems = []
    attempt_by_attempt = net.snr_depends_on_time or opt.round_deadline_s is not None or net.uplink_snr_many is None
    if net.access.capacity not in (None, 1) and _single_attempt(net.link) and attempt_by_attempt:
        problems.append(f"access {net.access.name!r} shares a band of capacity {net.access.capacity}, read attempt "
                        "by attempt (an SNR that depends on the upload start time, or a round deadline)")
    defaults = type(opt)(rounds=1)
    for f in dataclasses.fields(opt):
        if f.name not in _KNOWN_OPTIONS and not _same(getattr(opt, f.name), getattr(defaults, f.name)):
            problems.append(f"engine option {f.name} is set (the vectorised path does not know it)")
    return problems


def _same(value: object, default: object) -> bool:
    if value is default:
        return True
    try:
        return bool(value == default)
    except ValueError:  # an array against a scalar default
        return False


def _single_attempt(link: LinkModel) -> bool:
    """The link sends each upload as one error-free attempt (the base class's process)."""
    cls = type(link)
    return cls.upload is LinkModel.upload and cls.transmit is LinkModel.transmit


class FastSimulation(Simulation):
    """:class:`Simulation` with phases 3-5 computed by :mod:`edgefl.sim.round_timing` instead of
    by SimPy processes; see the module docstring for what it covers."""

    engine_path = "fast"

    def _air_and_decode(self, plan: AirPlan, log: list[Interval]) -> AirOutcome:
        schedule = plan.res.decode_schedule
        retries = schedule is not None and any(st.kind == "retry" for steps in schedule for st in steps)
        net, t0, sel, work, order = self.net, plan.t0, plan.sel, plan.work, plan.order
        res, dl = plan.res, plan.deadline
        k = sel.size
        bits = np.asarray(res.upload_bits, dtype=float)
        bw = net.uplink_bandwidth_hz * np.asarray(plan.share, dtype=float)
        requested = net.access.request_times(sim_clock(t0, work.ready), order)
        keep = self.opt.timeline
        if retries:
            return self._feedback_round(plan, requested, bits, bw, log)
        up = self._uploads(plan, requested, bits, bw, dl)
        cut = cut_at_deadline(up, dl)
        if schedule is None:
            sp = one_decode_pass(t0, order, up.end, cut.late, up.delivered, np.asarray(res.decode_bits, dtype=float),
                                 net.decoder_bps, plan.successive, dl, plan.aggregate_s, keep)
        else:
            ref = net.decoder_reference_iterations
            steps = [[(st.bits, decode_seconds(st, net.decoder_bps, ref)) for st in row if st.bits > 0]
                     for row in schedule]
            sp = server_pass(t0, order, up.end, cut.late, up.delivered, steps, plan.successive, dl, plan.aggregate_s)
        if keep:
            self._log(plan, cut, sp, log)
        return AirOutcome(airtime=cut.airtime, delivered=up.delivered, feedback_s=np.zeros(k),
                          late_bits=cut.late_bits, on_time=~cut.late, aggregated=sp.kept, end=sp.end)

    def _feedback_round(self, plan: AirPlan, requested: np.ndarray, bits: np.ndarray, bw: np.ndarray,
                        log: list[Interval]) -> AirOutcome:
        """A round with DSC feedback on the air: the server on the core's event loop."""
        net, r, sel, dl = self.net, plan.round, plan.sel, plan.deadline
        snr_at = [snr_reader(net.uplink_snr, w, r, b, dl) for w, b in zip(sel.tolist(), bw.tolist())]
        if dl is not None:
            return self._feedback_round_with_deadline(plan, requested, bits, bw, snr_at, log)
        fb = feedback_round(net.access, net.link, plan.t0, requested, plan.order, bits, bw, snr_at, plan.link_rng,
                            plan.res.decode_schedule, plan.downlink_rate, net.decoder_bps,
                            net.decoder_reference_iterations, plan.successive, plan.aggregate_s)
        k = sel.size
        if self.opt.timeline:
            up = fb.uploads
            cut = CutUploads(up.airtime, np.zeros(k, dtype=bool), np.zeros(k), up.attempt_row, up.attempt_start,
                             up.attempt_end, up.attempt_bits)
            self._log(plan, cut, fb.server, log)
            for i, s, e, b in fb.retries:
                log.append(Interval(r, f"worker{sel[i]}", "upload_retry", s, e, b))
            for s, e, b in fb.feedback:
                log.append(Interval(r, "server", "feedback", s, e, b))
        return AirOutcome(airtime=fb.airtime, delivered=fb.delivered, feedback_s=fb.feedback_s, late_bits=np.zeros(k),
                          on_time=np.ones(k, dtype=bool), aggregated=fb.server.kept, end=fb.server.end,
                          retry_s=fb.retry_s)

    def _feedback_round_with_deadline(self, plan: AirPlan, requested: np.ndarray, bits: np.ndarray, bw: np.ndarray,
                                      snr_at: list, log: list[Interval]) -> AirOutcome:
        net, r, sel = self.net, plan.round, plan.sel
        fb, late, late_bits, firsts = feedback_round_with_deadline(
            net.access, net.link, plan.t0, plan.deadline, requested, plan.order, bits, bw, snr_at, plan.link_rng,
            plan.res.decode_schedule, plan.downlink_rate, net.decoder_bps, net.decoder_reference_iterations,
            plan.successive, plan.aggregate_s)
        if self.opt.timeline:
            rows = np.array([a[0] for a in firsts], dtype=np.int64)
            cut = CutUploads(fb.airtime, late, late_bits, rows, np.array([a[1] for a in firsts]),
                             np.array([a[2] for a in firsts]), np.array([a[3] for a in firsts], dtype=float))
            self._log(plan, cut, fb.server, log)
            for i, s, e, b in fb.retries:
                log.append(Interval(r, f"worker{sel[i]}", "upload_retry", s, e, b))
            for s, e, b in fb.feedback:
                log.append(Interval(r, "server", "feedback", s, e, b))
        return AirOutcome(airtime=fb.airtime, delivered=fb.delivered, feedback_s=fb.feedback_s, late_bits=late_bits,
                          on_time=~late, aggregated=fb.server.kept, end=fb.server.end, retry_s=fb.retry_s)

    def _uploads(self, plan: AirPlan, requested: np.ndarray, bits: np.ndarray, bw: np.ndarray,
                 dl: float | None) -> Uploads:
        net, r, sel, order = self.net, plan.round, plan.sel, plan.order
        ids = sel.tolist()
        if _single_attempt(net.link) and not net.snr_depends_on_time and dl is None \
                and net.uplink_snr_many is not None:
            many, t0 = net.uplink_snr_many, plan.t0

            def snrs(rows: np.ndarray) -> list[float]:  # block fading: the start time does not matter
                return many(sel[rows], t0, r, bw[rows])

            return single_attempts(net.access, net.link, requested, order, bits, bw, None, snrs)
        if not _single_attempt(net.link):
            snr_batch = None if net.uplink_snr_batch is None else (
                lambda reads: net.uplink_snr_batch(sel, r, bw, reads))
            up = batched_link_uploads(net.access, net.link, requested, order, bits, bw, snr_batch,
                                      lambda: KeyedDraws.of(self._link_ss, r, sel, 0), dl)
            if up is not None:
                return up
        snr_at = [snr_reader(net.uplink_snr, w, r, b, dl) for w, b in zip(ids, bw.tolist())]
        if _single_attempt(net.link):
            return single_attempts(net.access, net.link, requested, order, bits, bw, snr_at, None)
        rngs = [plan.link_rng(i, 0) for i in range(sel.size)]
        return link_uploads(net.access, net.link, requested, order, bits, bw, snr_at, rngs, dl)

    def _log(self, plan: AirPlan, cut: CutUploads, sp: ServerPass, log: list[Interval]) -> None:
        """The intervals the SimPy processes would have logged (same values, same fields)."""
        r, t0, work, sel, dl = plan.round, plan.t0, plan.work, plan.sel, plan.deadline
        wait = work.wait_s if work.wait_s is not None else np.zeros(sel.size)
        actors = [f"worker{w}" for w in sel.tolist()]
        for i, actor in enumerate(actors):
            t_comp = t0 + work.t_bc + float(wait[i])
            local = [("compute", t_comp, t_comp + float(work.compute_s[i]))]
            if work.encode_s[i] > 0:
                local.append(("encode", float(work.ready[i] - work.encode_s[i]), float(work.ready[i])))
            for phase, s, e in local:
                if dl is None:
                    log.append(Interval(r, actor, phase, s, e))
                elif s < dl:
                    log.append(Interval(r, actor, phase, s, min(e, dl)))
        for i, s, e, b in zip(cut.attempt_row.tolist(), cut.attempt_start.tolist(), cut.attempt_end.tolist(),
                              cut.attempt_bits.tolist()):
            log.append(Interval(r, actors[i], "upload", s, e, b))
        for _, s, e, b in sp.decodes:
            log.append(Interval(r, "server", "decode", s, e, float(b)))
        log.append(Interval(r, "server", "aggregate", sp.aggregate_start, sp.end))
