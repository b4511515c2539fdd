"""The SimPy engine: plays out the DSC paper's Fig. 5 timing diagram every round.

Per round t (DSC paper Sec. IV-D, Algorithm 1):

1. the server broadcasts w(t) on the downlink (one multicast at the rate the worst
   worker can decode) while, in parallel, it runs the statistics estimator and the
   rate controller;
2. each worker computes its local gradient (time = FLOPs / device FLOP/s, times an
   optional lognormal straggler factor), waits for its rates, then encodes;
3. uploads through the scenario's link model (:mod:`edgefl.radio.link`): TDMA - the
   full band is one SimPy resource of capacity 1, requested in upload order
   (completion order, by index, or P1's order: a worker asks for the band only once
   its predecessor has asked), so a retransmission re-requests it and queues behind
   the others; FDMA - in parallel, each on its bandwidth share;
4. the server decodes upload k while upload k+1 is on the air (successive decoding
   in upload order; decode time = coded bits / decoder throughput), so only the last
   decode can add delay (Sec. IV-E);
5. aggregation and model update.

Partial participation (:mod:`edgefl.sim.participation`): each round ``per_round`` of the
``num_workers`` workers are sampled (own random stream) before phase 1; only they receive the
broadcast (the multicast rate is the weakest participant's), compute, are allocated rates (P1's
alpha and order over them), upload and are charged energy. Arrays of a round are indexed by row,
the position in the sorted list of participants; ``RoundContext.workers`` maps rows to worker
ids. With a round deadline the uploads (DSC retries included) not ended ``round_deadline_s``
after the round start are cut there and dropped: the server waits for the uploads in decoding
order until the deadline, aggregates the on-time ones (successive schemes: the on-time prefix
of the order) and the round ends with that aggregation. With neither feature, the round is
played exactly as before (same draws, same floating point operations).

The processes are thin: all numbers come from the radio, link, device, compression
and gradient-source objects; every interval is recorded as an :class:`Interval`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from edgefl.compress.base import FLOAT_BITS, CompressionResult, Compressor, DecodeStep, RoundContext
from edgefl.energy import Batteries, BatteriesExhausted, EnergyProfile, server_round_energy, worker_round_energy
from edgefl.radio.link import LinkModel, UploadOutcome
from edgefl.results.records import RoundRecord
from edgefl.sim.allocation import Allocation, RateAllocator
from edgefl.sim.gradient_source import GradientSource
from edgefl.sim.participation import clip_at_deadline, sample_workers
from edgefl.sim.timing import completion_order, compute_seconds, ready_times, transfer_seconds


#: linear SNR of upload attempts starting after the round deadline (never charged, see _air_and_decode)
PAST_DEADLINE_SNR = 1e3


@dataclass(frozen=True)
class Interval:
    """One interval on the timing diagram (a row of timeline.csv)."""

    round: int
    actor: str  # "server" or "worker<k>"
    phase: str  # broadcast, rate_control, compute, encode, upload, decode, aggregate
    start: float
    end: float
    bits: float = 0.0


@dataclass(frozen=True)
class Network:
    """Everything the engine needs to know about radio and hardware, as plain numbers and callables.

    ``uplink_snr(k, t, round, bandwidth_hz)`` is the linear SNR of worker k's upload attempt
    starting at t on ``bandwidth_hz``; ``link`` turns SNRs into air time (and retransmissions);
    ``downlink_rate(t, round)`` is the multicast rate of the model broadcast in bit/s to all
    workers, ``downlink_rate(t, round, workers)`` to the listed worker ids (partial
    participation). The engine never looks inside the radio model.
    """

    num_workers: int
    worker_flops: np.ndarray  # (K,) FLOP/s
    worker_compute_power_w: np.ndarray  # (K,)
    worker_radio_power_w: np.ndarray  # (K,)
    server_flops: float
    decoder_bps: float  # coded bits per second through the server's LDPC decoder
    uplink_bandwidth_hz: float
    access: str  # "tdma" | "fdma"
    uplink_snr: Callable[[int, float, int, float], float]
    downlink_rate: Callable[[float, int], float]
    link: LinkModel
    energy: EnergyProfile | None = None  # receive/idle/battery/server figures (None: not counted)
    # device trace: t -> (speed factor (K,), wait (K,) s before local work can start at t); None = (1, 0)
    device_state: Callable[[float], tuple[np.ndarray, np.ndarray]] | None = None
    # BP iterations per pass at which decoder_bps holds (decode time scales with the iterations
    # run); None = decode time = coded bits / decoder_bps whatever the iterations
    decoder_reference_iterations: float | None = None
    #: ``uplink_snr`` of many workers at once (workers, t, round, bandwidths) -> SNRs, same values;
    #: optional, used by the analytic fast path (:mod:`edgefl.sim.fast_path`)
    uplink_snr_many: Callable[[np.ndarray, float, int, np.ndarray], list[float]] | None = None


@dataclass
class SimOptions:
    """Engine knobs not tied to radio or hardware."""

    rounds: int
    fidelity: str = "analytic"
    upload_order: str = "completion"  # "completion" | "index"
    compute_jitter: float = 0.0
    aggregate_flops_per_param_worker: float = 1.0  # server aggregation: K*P adds
    per_round: int | None = None  # workers sampled per round (None: all take part)
    sampling_weights: np.ndarray | None = None  # (N,) availability weights; None: uniform sampling
    round_deadline_s: float | None = None  # uploads not ended this long after the round start are dropped
    timeline: bool = True  # keep every interval in ``Simulation.events`` (off: nothing per event kept)


@dataclass(frozen=True)
class _LocalWork:
    """Phase 2 of a round: per-worker compute and encode seconds and upload-ready times."""

    t_bc: float
    compute_s: np.ndarray
    encode_s: np.ndarray
    ready: np.ndarray  # absolute times
    wait_s: np.ndarray | None = None  # device trace: wait for the availability window after the model


@dataclass(frozen=True)
class _AirOutcome:
    """Phases 3-5 of a round, per row: air time (retries included, cut at the deadline), delivery
    by the link, DSC feedback receive time, bits a late upload put on the air before the deadline,
    whether the upload (and its retries) ended by the deadline, and the rows the server
    aggregated (in decoding order)."""

    airtime: np.ndarray
    delivered: np.ndarray
    feedback_s: np.ndarray
    late_bits: np.ndarray
    on_time: np.ndarray
    aggregated: np.ndarray


class Simulation:
    """Run ``options.rounds`` rounds of distributed learning over ``network``."""

    #: which engine plays out phases 3-5 (:mod:`edgefl.sim.fast_path` overrides it)
    engine_path = "simpy"

    def __init__(self, network: Network, source: GradientSource, compressor: Compressor,
                 options: SimOptions, seed: int | np.random.SeedSequence = 0,
                 allocator: RateAllocator | None = None,
                 initial_statistics: tuple[float, float] | None = None) -> None:
        if source.num_workers != network.num_workers:
            raise ValueError(f"source has {source.num_workers} workers, network {network.num_workers}")
        if options.per_round is not None and not 1 <= options.per_round <= network.num_workers:
            raise ValueError(f"per_round must be in 1..{network.num_workers}, got {options.per_round}")
        if options.round_deadline_s is not None and not options.round_deadline_s > 0:
            raise ValueError(f"round_deadline_s must be > 0, got {options.round_deadline_s}")
        self.net = network
        self.source = source
        self.compressor = compressor
        self.opt = options
        self.allocator = allocator
        self._stats = source.statistics() or initial_statistics
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        # children 0 and 1 as before the link stream existed, 0-2 as before the sampling stream
        jitter_ss, comp_ss, link_ss, part_ss = ss.spawn(4)
        self._jitter_rng = np.random.default_rng(jitter_ss)
        self._comp_rng = np.random.default_rng(comp_ss)
        self._link_rng = np.random.default_rng(link_ss)
        self._part_rng = np.random.default_rng(part_ss)
        n = network.num_workers
        self._per_round = n if options.per_round is None else options.per_round
        #: rounds.csv gets the participation columns only when a feature is on (golden outputs)
        self.energy = network.energy or EnergyProfile.idle_only(network.num_workers)
        self.batteries = Batteries(self.energy.battery_capacity_j)
        self._report_participation = (self._per_round < n or options.round_deadline_s is not None
                                      or self.batteries.any_battery() or network.link.may_lose_uploads)
        self.env = simpy.Environment()
        self.events: list[Interval] = []
        self.rounds: list[RoundRecord] = []
        self._downlink_bits: float | None = None  # announced by the previous round's compression
        self.fast_path_declined: list[str] = []  # why the build chose SimPy (edgefl.sim.build)

    # ------------------------------------------------------------------ phases of one round
    def _participants(self, r: int) -> np.ndarray:
        """Worker ids taking part in the coming round (sorted): everyone, or a fresh sample, among
        the workers whose battery is not exhausted (all of them while none is)."""
        alive = self.batteries.alive()
        if alive.all():
            return sample_workers(self._part_rng, self.net.num_workers, self._per_round, self.opt.sampling_weights)
        ids = np.flatnonzero(alive)
        if ids.size == 0:
            raise BatteriesExhausted(f"round {r}: every worker's battery is exhausted (battery_capacity_j of the "
                                     "device profiles); the network cannot train any longer")
        w = None if self.opt.sampling_weights is None else np.asarray(self.opt.sampling_weights, dtype=float)[ids]
        k = min(self._per_round, ids.size if w is None else int(np.count_nonzero(w)))
        if k == 0:
            raise BatteriesExhausted(f"round {r}: no worker with charge left has a sampling weight > 0")
        return ids[sample_workers(self._part_rng, ids.size, k, w)]

    def _downlink_rate(self, t: float, r: int, sel: np.ndarray) -> float:
        """Multicast rate to the round's participants (all workers: the call as without sampling)."""
        partial = sel.size < self.net.num_workers
        return float(self.net.downlink_rate(t, r, sel) if partial else self.net.downlink_rate(t, r))

    def _broadcast(self, r: int, t0: float, sel: np.ndarray, log: list[Interval]) -> tuple[float, float, float]:
        """Phase 1: model broadcast to the participants || statistics estimation + rate control.
        The broadcast carries what the previous round's compression announced (round 0, or None:
        the float32 model). Returns the broadcast bits and both durations."""
        p = self.source.num_params
        model_bits = float(FLOAT_BITS * p) if self._downlink_bits is None else float(self._downlink_bits)
        t_bc = float(transfer_seconds(model_bits, self._downlink_rate(t0, r, sel)))
        server_ops = self.compressor.server_flops(sel.size, p)
        t_rc = float(compute_seconds(server_ops, self.net.server_flops))
        log.append(Interval(r, "server", "broadcast", t0, t0 + t_bc, model_bits))
        if t_rc > 0:
            log.append(Interval(r, "server", "rate_control", t0, t0 + t_rc))
        return model_bits, t_bc, t_rc

    def _local_work(self, t0: float, t_bc: float, t_rc: float, sel: np.ndarray) -> _LocalWork:
        """Phase 2: local gradients and encoding of the participants (DSC paper Algorithm 1, lines 3-12)."""
        net, opt, k = self.net, self.opt, sel.size
        jitter = (np.exp(opt.compute_jitter * self._jitter_rng.standard_normal(k))
                  if opt.compute_jitter > 0 else np.ones(k))
        speed, wait = net.device_state(t0 + t_bc) if net.device_state is not None else (1.0, np.zeros(net.num_workers))
        if k < net.num_workers:
            speed, wait = np.broadcast_to(speed, (net.num_workers,))[sel], np.asarray(wait)[sel]
        flops = net.worker_flops if k == net.num_workers else net.worker_flops[sel]
        comp_s = compute_seconds(self.source.flops_per_gradient, flops * speed) * jitter
        enc_s = compute_seconds(self.compressor.encode_flops(self.source.num_params), flops * speed)
        return _LocalWork(t_bc, comp_s, enc_s, t0 + ready_times(t_bc + wait, comp_s, t_rc, enc_s), wait)

    def _allocate(self, r: int, t0: float, ready: np.ndarray, sel: np.ndarray
                  ) -> tuple[Allocation | None, np.ndarray]:
        """Rates and upload order (rows) of the round, over the participants."""
        sx, sn = self._stats if self._stats is not None else (None, None)
        alloc = None
        if self.allocator is not None:
            partial = sel.size < self.net.num_workers
            alloc = self.allocator.allocate(r, t0, sx, sn, sel) if partial else self.allocator.allocate(r, t0, sx, sn)
        if alloc is not None and alloc.order is not None:
            return alloc, alloc.order
        order = completion_order(ready) if self.opt.upload_order == "completion" else np.arange(sel.size)
        return alloc, order

    def _shares(self, alloc: Allocation | None, res: CompressionResult) -> np.ndarray:
        """Fraction of the uplink band each worker transmits on (TDMA: all of it)."""
        k = np.asarray(res.upload_bits).shape[0]
        if self.net.access != "fdma":
            return np.ones(k)
        if self.allocator is not None:
            return self.allocator.fdma_shares(alloc, np.asarray(res.upload_bits, dtype=float))
        return np.full(k, 1.0 / k)

    def _air_and_decode(self, r: int, t0: float, work: _LocalWork, order: np.ndarray, res: CompressionResult,
                        share: np.ndarray, sel: np.ndarray, log: list[Interval]) -> _AirOutcome:
        """Phases 3-5 as SimPy processes: uploads, pipelined successive decoding (with DSC feedback
        and retries), aggregation.

        With a round deadline the server waits for each upload of the decoding order (and each
        retry it asks for) only until the deadline; whatever is on the air at the deadline is
        cut there (:func:`clip_at_deadline`), and the server aggregates the on-time rows, or for
        successive decoding the on-time prefix of the order (:mod:`edgefl.sim.participation`);
        an upload the link gave up on is charged, never aggregated, and ends that prefix too."""
        env, net = self.env, self.net
        k, p = sel.size, self.source.num_params
        bits = np.asarray(res.upload_bits, dtype=float)
        upload_done = [env.event() for _ in range(k)]
        airtime = np.zeros(k)
        delivered = np.ones(k, dtype=bool)
        feedback_s = np.zeros(k)
        late_bits = np.zeros(k)
        late = np.zeros(k, dtype=bool)
        dl = None if self.opt.round_deadline_s is None else t0 + self.opt.round_deadline_s
        schedule = res.decode_schedule
        if schedule is not None:  # the first upload carries what no feedback asked for
            bits = bits - np.array([sum(st.bits for st in steps if st.kind == "retry") for steps in schedule])
        actors = [f"worker{w}" for w in sel]
        channel = simpy.Resource(env, capacity=1) if net.access == "tdma" else None
        # TDMA: worker order[i] requests the band only after order[i-1] has requested it, so the
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

            def snr_at(t: float) -> float:
                # an attempt starting at or after the deadline is never charged: it is played out
                # only to close the process, at a placeholder SNR, without touching the radio's
                # fading state (which the next round reads)
                return PAST_DEADLINE_SNR if dl is not None and t >= dl else net.uplink_snr(w, t, r, bw)

            outcome: UploadOutcome = yield from net.link.upload(env, channel, nbits, bw, snr_at, self._link_rng)
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
            ref = net.decoder_reference_iterations
            if ref is None or st.iterations < 0 or st.count == 0:
                return st.bits / net.decoder_bps
            return st.bits / net.decoder_bps * (st.iterations / st.count) / ref

        def feedback_then_retry(i: int, st: DecodeStep):
            # the decoder's request (1 bit per frame asking, as LDPCA's feedback channel) goes out
            # on the downlink, then the worker uploads the increment like any upload
            s = env.now
            yield env.timeout(float(transfer_seconds(float(st.count), self._downlink_rate(s, r, sel))))
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
        successive = self.compressor.successive

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
                for st in schedule[i]:
                    if st.kind == "retry" and stop is None:
                        yield from feedback_then_retry(i, st)
                    elif st.kind == "retry":
                        retry = env.process(feedback_then_retry(i, st))
                        yield retry | stop
                        if not retry.triggered or late[i]:  # the increment missed the deadline
                            late[i] = cut = True
                            break
                    elif st.bits > 0:
                        s = env.now
                        yield env.timeout(decode_s(st))
                        log.append(Interval(r, "server", "decode", s, env.now, st.bits))
                if not late[i] and delivered[i]:
                    kept.append(i)
                elif not delivered[i]:
                    gap = True
            agg_s = float(compute_seconds(self.opt.aggregate_flops_per_param_worker * k * p, net.server_flops))
            s = env.now
            yield env.timeout(agg_s)
            log.append(Interval(r, "server", "aggregate", s, env.now))

        for i in range(k):
            env.process(worker(i))
        env.run(until=env.process(server()))
        if dl is not None:
            # play the late uploads out (only their air time up to the deadline is charged), then
            # go on from the round's end in a fresh environment without their events
            end = env.now
            env.run()
            self.env = simpy.Environment(initial_time=end)
        on_time = ~late
        return _AirOutcome(airtime, delivered, feedback_s, late_bits, on_time, np.asarray(kept, dtype=np.int64))

    # ------------------------------------------------------------------ one round
    def _round(self, r: int, log: list[Interval]) -> RoundRecord:
        t0 = self.env.now
        sel = self._participants(r)
        partial = sel.size < self.net.num_workers
        grads = self.source.local_gradients(r, sel) if partial else self.source.local_gradients(r)
        downlink_bits, t_bc, t_rc = self._broadcast(r, t0, sel, log)
        work = self._local_work(t0, t_bc, t_rc, sel)
        alloc, order = self._allocate(r, t0, work.ready, sel)
        sx, sn = self._stats if self._stats is not None else (None, None)
        ctx = RoundContext(round=r, rng=self._comp_rng, workers=sel,
                           fidelity=self.opt.fidelity, allocation=alloc, sigma_x2=sx, sigma_n2=sn)
        res: CompressionResult = self.compressor.compress(grads, order, ctx)
        air = self._air_and_decode(r, t0, work, order, res, self._shares(alloc, res), sel, log)
        all_kept = air.aggregated.size == sel.size
        try:
            aggregate = res.aggregate if all_kept else res.aggregate_of(air.aggregated)
        except ValueError as exc:
            raise ValueError(f"round {r} dropped uploads (round_deadline_s or a link that gives up on "
                             f"uploads), but compression scheme {self.compressor.name!r} cannot aggregate a "
                             f"subset of them ({exc})") from exc
        if not all_kept:
            self.compressor.uploads_dropped(air.aggregated)
        metrics = self.source.apply_aggregate(r, aggregate)
        self._downlink_bits = res.downlink_bits
        self._update_statistics(metrics)
        dbits = np.asarray(res.decode_bits)
        decode_bits = float(np.sum(dbits) if all_kept else np.sum(dbits[air.aggregated]))
        energy = self._energy(t0, t_rc, work, decode_bits, air, sel)
        return self._record(r, t0, downlink_bits, grads, work, res, air, aggregate, decode_bits, sel, metrics, energy)

    def _record(self, r: int, t0: float, downlink_bits: float, grads: np.ndarray, work: _LocalWork,
                res: CompressionResult, air: _AirOutcome, aggregate: np.ndarray, decode_bits: float,
                sel: np.ndarray, metrics: dict[str, Any], energy: dict[str, Any]) -> RoundRecord:
        """The round's row of rounds.csv (``energy``: the columns of :meth:`_energy`; bits: what went
        on the air, late uploads up to the deadline; distortion: of the aggregate vs the mean
        gradient of all participants)."""
        k, p = sel.size, self.source.num_params
        t_end = self.env.now
        bits = np.asarray(res.upload_bits, dtype=float)
        extras = dict(metrics)
        if self.opt.round_deadline_s is not None:
            bits = np.where(air.on_time, bits, air.late_bits)
        if self._report_participation:
            extras = {"participants": int(k), "dropped": int(np.sum(~air.on_time)),
                      "aggregated": int(air.aggregated.size),
                      "dropped_bits": float(np.sum(air.late_bits[~air.on_time])), **extras}
        return RoundRecord(
            round=r,
            start_s=t0,
            end_s=t_end,
            latency_s=t_end - t0,
            broadcast_s=work.t_bc,
            downlink_bits=downlink_bits,
            bits_total=float(bits.sum()),
            bits_per_worker_mean=float(bits.mean()),
            bits_per_worker_min=float(bits.min()),
            bits_per_worker_max=float(bits.max()),
            bits_per_param=float(bits.sum() / (k * p)),
            decode_bits_total=decode_bits,
            distortion=float(np.mean((aggregate - grads.mean(axis=0)) ** 2)),
            decode_failures=int(res.decode_failures),
            undetected_errors=int(res.undetected_errors),
            retries=int(res.retries),
            upload_airtime_s=float(air.airtime.sum()),
            **energy,
            extras=extras,
        )

    def _update_statistics(self, metrics: dict[str, Any]) -> None:
        """Algorithm 1 line 4: round t allocates with the statistics estimated in round t-1."""
        if self.source.statistics() is None and "sigma_x2_est" in metrics and "sigma_n2_est" in metrics:
            est = (float(metrics["sigma_x2_est"]), float(metrics["sigma_n2_est"]))
            if all(np.isfinite(est)) and min(est) > 0:
                self._stats = est

    def _energy(self, t0: float, t_rc: float, work: _LocalWork, decode_bits: float, air: _AirOutcome,
                sel: np.ndarray) -> dict[str, Any]:
        """Energy columns of the round (:mod:`edgefl.energy`): the participants by state (workers not
        sampled are not charged), server decoder (bits decoded) and compute; batteries drained,
        workers that ran out counted."""
        net, en = self.net, self.energy
        k, p = sel.size, self.source.num_params
        latency = self.env.now - t0
        full = k == net.num_workers

        def of(a: np.ndarray) -> np.ndarray:
            return a if full else np.asarray(a)[sel]

        busy = work.compute_s + work.encode_s
        if self.opt.round_deadline_s is not None:  # local work still going at the deadline stops there
            # the same cut as the timeline's compute [t_bc + wait, + c] and encode [ready - e, ready]
            dl = t0 + self.opt.round_deadline_s
            wait = work.wait_s if work.wait_s is not None else 0.0
            busy = (np.clip(dl - (t0 + work.t_bc + wait), 0.0, work.compute_s)
                    + np.clip(dl - (work.ready - work.encode_s), 0.0, work.encode_s))
        we = worker_round_energy(latency, busy, air.airtime, work.t_bc + air.feedback_s,
                                 of(net.worker_compute_power_w), of(net.worker_radio_power_w), of(en.rx_power_w),
                                 of(en.idle_power_w))
        agg_s = float(compute_seconds(self.opt.aggregate_flops_per_param_worker * k * p, net.server_flops))
        e_dec, e_srv = server_round_energy(decode_bits, en.decoder_energy_per_bit_j,
                                           t_rc + agg_s, en.server_compute_power_w)
        drained = we.total_j
        if not full:
            drained = np.zeros(net.num_workers)
            drained[sel] = we.total_j
        emptied = self.batteries.drain(drained)
        return {
            "worker_energy_j": float(we.total_j.sum()),
            "energy_compute_j": float(we.compute_j.sum()),
            "energy_transmit_j": float(we.transmit_j.sum()),
            "energy_receive_j": float(we.receive_j.sum()),
            "energy_idle_j": float(we.idle_j.sum()),
            "server_decoder_energy_j": e_dec,
            "server_compute_energy_j": e_srv,
            "uploads_lost": int((~air.delivered).sum()),
            "battery_dropouts": int(emptied.sum()),
        }

    def run(self, on_round: Callable[[int, RoundRecord], None] | None = None) -> None:
        """Play out all rounds. A round interrupted midway is dropped; finished ones stay."""
        for r in range(len(self.rounds), self.opt.rounds):
            log: list[Interval] = []
            rec = self._round(r, log)
            if self.opt.timeline:
                log.sort(key=lambda e: (e.start, e.end, e.actor, e.phase))
                self.events.extend(log)
            self.rounds.append(rec)
            if on_round is not None:
                on_round(r, rec)
