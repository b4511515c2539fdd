"""Phases 3-5 of a round as SimPy processes (DSC paper Sec. IV-D/E, Fig. 5, Algorithm 1).

Uploads through the scenario's link model (TDMA: the band is one SimPy resource served FIFO in
the upload order; FDMA: each worker on its share), pipelined successive decoding at the server
(decode upload i while upload i+1 is on the air; decode time = coded bits / decoder throughput),
the DSC feedback channel and the retries it asks for, the round deadline, then aggregation.
The processes are thin: every number comes from the link, radio and compression objects or from
the pure functions of :mod:`edgefl.sim.timing` and :mod:`edgefl.sim.participation`.
"""

from __future__ import annotations

import numpy as np
import simpy

from edgefl.compress.base import DecodeStep
from edgefl.radio.link import UploadOutcome
from edgefl.sim.network import Network
from edgefl.sim.participation import clip_at_deadline
from edgefl.sim.round_phases import AirOutcome, AirPlan, Interval
from edgefl.sim.round_timing import PAST_DEADLINE_SNR, decode_seconds, snr_reader
from edgefl.sim.timing import transfer_seconds

__all__ = ["PAST_DEADLINE_SNR", "play_air_and_decode"]


def play_air_and_decode(net: Network, plan: AirPlan, log: list[Interval]) -> AirOutcome:
    """Phases 3-5 of round ``plan.round`` in a SimPy environment starting at ``plan.t0``: uploads
    (the band of ``net.access``), pipelined successive decoding (with DSC feedback and retries),
    aggregation. Rows of the arrays are the participants ``plan.sel``.

    With a round deadline the server waits for each upload of the decoding order (and each retry
    it asks for) only until the deadline; whatever is on the air at the deadline is cut there
    (:func:`clip_at_deadline`), and the server aggregates the on-time rows, or for successive
    decoding the on-time prefix of the order (:mod:`edgefl.sim.participation`); an upload the link
    gave up on is charged, never aggregated, and ends that prefix too. The late uploads are played
    out after the round's end (only what went out by the deadline is charged)."""
    env = simpy.Environment(initial_time=plan.t0)
    r, t0, work, order, res, share, sel = plan.round, plan.t0, plan.work, plan.order, plan.res, plan.share, plan.sel
    successive, aggregate_s, downlink_rate = plan.successive, plan.aggregate_s, plan.downlink_rate
    k = sel.size
    bits = np.asarray(res.upload_bits, dtype=float)
    upload_done = [env.event() for _ in range(k)]
    airtime = np.zeros(k)
    delivered = np.ones(k, dtype=bool)
    feedback_s = np.zeros(k)
    retry_s = np.zeros(k)  # server time on retry exchanges and the decodes they trigger
    late_bits = np.zeros(k)
    late = np.zeros(k, dtype=bool)
    dl = plan.deadline
    uploads_of = np.zeros(k, dtype=np.int64)  # uploads (first, then DSC retries) each row has made
    schedule = res.decode_schedule
    if schedule is not None:  # the first upload carries what no feedback asked for
        bits = bits - np.array([sum(st.bits for st in steps if st.kind == "retry") for steps in schedule])
    actors = [f"worker{w}" for w in sel]
    channel = net.access.band(env)
    # a shared band: worker order[i] requests it only after order[i-1] has requested it, so the
    # resource's FIFO queue serves the uploads in ``order``
    asked = {int(w): env.event() for w in order} if channel is not None else {}
    before = {int(order[i]): int(order[i - 1]) for i in range(1, k)} if channel is not None else {}

    def worker(i: int):
        # compute and encode need no resource: jump straight to the ready time (one event)
        t_comp = t0 + work.t_bc + (work.wait_s[i] if work.wait_s is not None else 0.0)
        yield env.timeout(work.ready[i] - t0)
        local = [("compute", t_comp, t_comp + work.compute_s[i])]
        if work.encode_s[i] > 0:
            local.append(("encode", work.ready[i] - work.encode_s[i], work.ready[i]))
        for phase, s, e in local:
            if dl is None:
                log.append(Interval(r, actors[i], phase, s, e))
            elif s < dl:  # local work still going at the deadline stops there
                log.append(Interval(r, actors[i], phase, s, min(e, dl)))
        if i in before:
            yield asked[before[i]]
        if channel is not None:
            asked[i].succeed()  # fires after this step, i.e. after our request is queued below
        outcome = yield from send(i, float(bits[i]), "upload")
        delivered[i] = outcome.delivered
        upload_done[i].succeed()

    def send(i: int, nbits: float, phase: str):
        bw = net.uplink_bandwidth_hz * share[i]
        w = int(sel[i])

        snr_at = snr_reader(net.uplink_snr, w, r, bw, dl)
        rng = plan.link_rng(i, int(uploads_of[i]))
        uploads_of[i] += 1
        outcome: UploadOutcome = yield from net.link.upload(env, channel, nbits, bw, snr_at, rng)
        intervals, air = list(outcome.intervals), outcome.airtime_s
        if dl is not None and outcome.end > dl:  # late: cut at the deadline, what went out is charged
            late[i] = True
            intervals, air, _ = clip_at_deadline(intervals, dl)
        if dl is not None:
            late_bits[i] += sum(b for _, _, b in intervals)
        airtime[i] += air
        for s, e, b in intervals:
            log.append(Interval(r, actors[i], phase, s, e, b))
        return outcome

    def decode_s(st: DecodeStep) -> float:
        return decode_seconds(st, net.decoder_bps, net.decoder_reference_iterations)

    def feedback_then_retry(i: int, st: DecodeStep):
        # the decoder's request (1 bit per frame asking, as LDPCA's feedback channel) goes out
        # on the downlink, then the worker uploads the increment like any upload
        s = env.now
        yield env.timeout(float(transfer_seconds(float(st.count), downlink_rate(s))))
        e = env.now if dl is None else min(env.now, dl)  # played out past the deadline: not charged
        if e > s:
            feedback_s[i] += e - s
            log.append(Interval(r, "server", "feedback", s, e, float(st.count) * (e - s) / (env.now - s)))
        elif s == env.now:
            log.append(Interval(r, "server", "feedback", s, e, float(st.count)))
        outcome = yield from send(i, st.bits, "upload_retry")
        delivered[i] &= outcome.delivered

    def deadline():
        yield env.timeout(dl - env.now)
        yield env.timeout(0)  # let uploads ending exactly at the deadline report first

    kept: list[int] = []

    def server():
        stop = env.process(deadline()) if dl is not None else None
        cut = gap = False
        for i in (int(i) for i in order):
            if not cut:
                yield upload_done[i] if stop is None else (upload_done[i] | stop)
                cut = not upload_done[i].triggered or bool(late[i])
            if cut and (successive or not upload_done[i].triggered or late[i]):
                continue  # late, or (successive decoding) missing side information
            if not delivered[i] or (gap and successive):
                gap = True  # the link gave up on this upload: nothing to decode or aggregate
                continue
            if schedule is None:
                kept.append(i)
                dbits = float(res.decode_bits[i])
                if dbits > 0:
                    s = env.now
                    yield env.timeout(dbits / net.decoder_bps)
                    log.append(Interval(r, "server", "decode", s, env.now, dbits))
                continue
            retried = False
            for st in schedule[i]:
                s = env.now
                if st.kind == "retry" and stop is None:
                    yield from feedback_then_retry(i, st)
                elif st.kind == "retry":
                    retry = env.process(feedback_then_retry(i, st))
                    yield retry | stop
                    if not retry.triggered or late[i]:  # the increment missed the deadline
                        late[i] = cut = True
                        retry_s[i] += env.now - s
                        break
                elif st.bits > 0:
                    yield env.timeout(decode_s(st))
                    log.append(Interval(r, "server", "decode", s, env.now, st.bits))
                if st.kind == "retry" or retried:  # the exchange, and the decode it asked for
                    retry_s[i] += env.now - s
                retried = st.kind == "retry"
            if not late[i] and delivered[i]:
                kept.append(i)
            elif not delivered[i]:
                gap = True
        s = env.now
        yield env.timeout(aggregate_s)
        log.append(Interval(r, "server", "aggregate", s, env.now))

    for i in range(k):
        env.process(worker(i))
    env.run(until=env.process(server()))
    end = env.now
    if dl is not None:
        env.run()  # play the late uploads out: only their air time up to the deadline is charged
    return AirOutcome(airtime=airtime, delivered=delivered, feedback_s=feedback_s, late_bits=late_bits,
                      on_time=~late, aggregated=np.asarray(kept, dtype=np.int64), end=end,
                      retry_s=retry_s if schedule is not None else None)
