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

The engine only orchestrates the phases. The SimPy processes of phases 3-5 live in
:mod:`edgefl.sim.air`, the round's energy and rounds.csv row in :mod:`edgefl.sim.round_record`,
the data the phases hand on in :mod:`edgefl.sim.round_phases`; all numbers come from the radio,
link, device, compression and gradient-source objects; every interval is recorded as an
:class:`Interval`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edgefl.compress.base import FLOAT_BITS, CompressionResult, Compressor, RoundContext
from edgefl.energy import Batteries, BatteriesExhausted, EnergyProfile
from edgefl.results.records import RoundRecord
from edgefl.sim.air import play_air_and_decode
from edgefl.sim.allocation import Allocation, RateAllocator
from edgefl.sim.gradient_source import GradientSource
from edgefl.sim.network import Network, SimOptions
from edgefl.sim.participation import DrawMemo, sample_workers
from edgefl.sim.round_phases import AirOutcome as _AirOutcome
from edgefl.sim.round_phases import AirPlan, Interval
from edgefl.sim.round_phases import LocalWork as _LocalWork
from edgefl.sim.round_record import RoundInputs, round_energy, round_record
from edgefl.sim.round_timing import PAST_DEADLINE_SNR, keyed_link_rng
from edgefl.sim.timing import completion_order, compute_seconds, ready_times, transfer_seconds

__all__ = ["PAST_DEADLINE_SNR", "Interval", "Network", "SimOptions", "Simulation"]  # Network, SimOptions: re-exported


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
        self._link_ss = link_ss  # the links' draws, keyed by (round, worker, upload): round_timing.keyed_link_rng
        self._part_rng = np.random.default_rng(part_ss)
        #: participants shared with other simulations of the same sampling stream (DrawMemo; the planner
        #: sets it); draws made by this simulation, and the stream's state its generator is behind (None: current)
        self.participant_memo: DrawMemo | None = None
        self._part_drawn = 0
        self._part_behind: dict | None = None
        w = options.sampling_weights
        self._part_key = (part_ss.entropy, tuple(part_ss.spawn_key), part_ss.pool_size, network.num_workers,
                          options.per_round, None if w is None else np.asarray(w, dtype=float).tobytes())
        n = network.num_workers
        self._per_round = n if options.per_round is None else options.per_round
        #: rounds.csv gets the participation columns only when a feature is on (golden outputs)
        self.energy = network.energy or EnergyProfile.idle_only(network.num_workers)
        self.batteries = Batteries(self.energy.battery_capacity_j)
        self._report_participation = (self._per_round < n or options.round_deadline_s is not None
                                      or self.batteries.any_battery() or network.link.may_lose_uploads)
        #: the simulated clock, where the next round starts (SimPy's int 0 at first: rounds.csv prints 0)
        self.now: float = 0
        self.events: list[Interval] = []
        self.rounds: list[RoundRecord] = []
        self._downlink_bits: float | None = None  # announced by the previous round's compression
        self.fast_path_declined: list[str] = []  # why the build chose SimPy (edgefl.sim.build)
        #: rounds of this run whose phases 3-5 the SimPy processes played (every round on the SimPy
        #: path, none on the vectorised one)
        self.rounds_on_simpy = 0

    # ------------------------------------------------------------------ phases of one round
    def _participants(self, r: int) -> np.ndarray:
        """Worker ids taking part in the coming round (sorted): everyone, or a fresh sample, among
        the workers whose battery is not exhausted (all of them while none is)."""
        alive = self.batteries.alive()
        if alive.all():
            if self.participant_memo is not None and self._per_round < self.net.num_workers:
                i = self._part_drawn
                self._part_drawn += 1
                ids, self._part_behind = self.participant_memo.draw(
                    self._part_key, i, self._part_rng, self._part_behind, self.net.num_workers, self._per_round,
                    self.opt.sampling_weights)
                return ids
            return sample_workers(self._part_rng, self.net.num_workers, self._per_round, self.opt.sampling_weights)
        if self.participant_memo is not None:  # from now on this simulation's own draws (batteries differ)
            if self._part_behind is not None:
                self._part_rng.bit_generator.state = self._part_behind
            self.participant_memo = self._part_behind = None
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
        """Fraction of the uplink band each worker transmits on (the access scheme's answer, with the
        allocator's split where the scheme splits the band)."""
        allocator = self.allocator
        rule = (lambda bits: allocator.fdma_shares(alloc, bits)) if allocator is not None else None
        return self.net.access.shares(np.asarray(res.upload_bits, dtype=float), rule)

    def _aggregate_s(self, k: int) -> float:
        """Server aggregation time of ``k`` uploads: ``aggregate_flops_per_param_worker`` k P FLOPs."""
        return float(compute_seconds(self.opt.aggregate_flops_per_param_worker * k * self.source.num_params,
                                     self.net.server_flops))

    def _air_plan(self, r: int, t0: float, work: _LocalWork, order: np.ndarray, res: CompressionResult,
                  share: np.ndarray, sel: np.ndarray) -> AirPlan:
        """What phases 3-5 of round ``r`` are handed."""
        link_ss = self._link_ss
        return AirPlan(round=r, t0=t0, sel=sel, work=work, order=order, res=res, share=share,
                       successive=self.compressor.successive, deadline_s=self.opt.round_deadline_s,
                       aggregate_s=self._aggregate_s(sel.size),
                       downlink_rate=lambda t: self._downlink_rate(t, r, sel),
                       link_rng=lambda i, j: keyed_link_rng(link_ss, r, int(sel[i]), j))

    def _air_and_decode(self, plan: AirPlan, log: list[Interval]) -> _AirOutcome:
        """Phases 3-5 as SimPy processes (:func:`edgefl.sim.air.play_air_and_decode`): uploads,
        pipelined successive decoding (with DSC feedback and retries), the deadline, aggregation.
        :class:`edgefl.sim.fast_path.FastSimulation` overrides it."""
        self.rounds_on_simpy += 1
        return play_air_and_decode(self.net, plan, log)

    # ------------------------------------------------------------------ one round
    def _round(self, r: int, log: list[Interval]) -> RoundRecord:
        t0 = self.now
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
        air = self._air_and_decode(self._air_plan(r, t0, work, order, res, self._shares(alloc, res), sel), log)
        self.now = air.end
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
        rin = RoundInputs(round=r, t0=t0, t_end=air.end, t_rc=t_rc, aggregate_s=self._aggregate_s(sel.size),
                          downlink_bits=downlink_bits, grads=grads, work=work, res=res, air=air, aggregate=aggregate,
                          decode_bits=decode_bits, sel=sel, num_params=self.source.num_params,
                          deadline_s=self.opt.round_deadline_s)
        energy = round_energy(self.net, self.energy, self.batteries, rin)
        return round_record(rin, metrics, energy, report_participation=self._report_participation)

    def _update_statistics(self, metrics: dict[str, Any]) -> None:
        """Algorithm 1 line 4: round t allocates with the statistics estimated in round t-1."""
        if self.source.statistics() is None and "sigma_x2_est" in metrics and "sigma_n2_est" in metrics:
            est = (float(metrics["sigma_x2_est"]), float(metrics["sigma_n2_est"]))
            if all(np.isfinite(est)) and min(est) > 0:
                self._stats = est

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
