"""The SimPy engine: plays out the DSC paper's Fig. 5 timing diagram every round.

Per round t (DSC paper Sec. IV-D, Algorithm 1):

1. the server broadcasts w(t) on the downlink (one multicast at the rate the worst
   worker can decode) while, in parallel, it runs the statistics estimator and the
   rate controller;
2. each worker computes its local gradient (time = FLOPs / device FLOP/s, times an
   optional lognormal straggler factor), waits for its rates, then encodes;
3. uploads: TDMA - one at a time on the full band, in completion order (or by
   index); FDMA - in parallel, each on its bandwidth share; the rate of an upload is
   the Shannon rate at the SNR of the moment it starts;
4. the server decodes upload k while upload k+1 is on the air (successive decoding
   in upload order; decode time = coded bits / decoder throughput), so only the last
   decode can add delay (Sec. IV-E);
5. aggregation and model update.

The processes are thin: all numbers come from the radio, device, compression and
gradient-source objects; every interval is recorded as an :class:`Event`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from edgefl.compress.base import FLOAT_BITS, CompressionResult, Compressor, RoundContext
from edgefl.sim.allocation import RateAllocator
from edgefl.sim.gradient_source import GradientSource
from edgefl.sim.timing import completion_order, compute_seconds, ready_times, transfer_seconds


@dataclass(frozen=True)
class Event:
    """One interval on the timing diagram."""

    round: int
    actor: str  # "server" or "worker<k>"
    phase: str  # broadcast, rate_control, compute, encode, upload, decode, aggregate
    start: float
    end: float
    bits: float = 0.0


@dataclass(frozen=True)
class Network:
    """Everything the engine needs to know about radio and hardware, as plain numbers and callables.

    ``uplink_rate(k, t, round, bandwidth_hz)`` and ``downlink_rate(t, round)`` (the
    multicast rate of the model broadcast) return bit/s; the engine never looks
    inside the radio model.
    """

    num_workers: int
    worker_flops: np.ndarray  # (K,) FLOP/s
    worker_compute_power_w: np.ndarray  # (K,)
    worker_radio_power_w: np.ndarray  # (K,)
    server_flops: float
    decoder_bps: float  # coded bits per second through the server's LDPC decoder
    uplink_bandwidth_hz: float
    access: str  # "tdma" | "fdma"
    uplink_rate: Callable[[int, float, int, float], float]
    downlink_rate: Callable[[float, int], float]


@dataclass
class SimOptions:
    """Engine knobs not tied to radio or hardware."""

    rounds: int
    fidelity: str = "analytic"
    upload_order: str = "completion"  # "completion" | "index"
    compute_jitter: float = 0.0
    bandwidth_share: np.ndarray | None = None  # FDMA shares (sum <= 1); None = equal
    encode_flops_per_param: float = 0.0  # worker-side encoding cost per parameter
    server_flops_per_round: float = 0.0  # statistics estimation + rate control
    aggregate_flops_per_param_worker: float = 1.0  # server aggregation: K*P adds


@dataclass
class RoundRecord:
    """The per-round metrics of rounds.csv."""

    values: dict[str, Any] = field(default_factory=dict)


class Simulation:
    """Run ``options.rounds`` rounds of distributed learning over ``network``."""

    def __init__(self, network: Network, source: GradientSource, compressor: Compressor,
                 options: SimOptions, seed: int | np.random.SeedSequence = 0,
                 allocator: RateAllocator | None = None,
                 initial_statistics: tuple[float, float] | None = None) -> None:
        if source.num_workers != network.num_workers:
            raise ValueError(f"source has {source.num_workers} workers, network {network.num_workers}")
        self.net = network
        self.source = source
        self.compressor = compressor
        self.opt = options
        self.allocator = allocator
        self._stats = source.statistics() or initial_statistics
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        jitter_ss, comp_ss = ss.spawn(2)
        self._jitter_rng = np.random.default_rng(jitter_ss)
        self._comp_rng = np.random.default_rng(comp_ss)
        k = network.num_workers
        if options.bandwidth_share is None:
            self.share = np.full(k, 1.0 / k) if network.access == "fdma" else np.ones(k)
        else:
            self.share = np.asarray(options.bandwidth_share, dtype=float)
        self.env = simpy.Environment()
        self.events: list[Event] = []
        self.rounds: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ one round
    def _round(self, r: int, log: list[Event], out: dict[str, Any]):  # noqa: C901 - one diagram
        env, net, opt = self.env, self.net, self.opt
        k, p = net.num_workers, self.source.num_params
        t0 = env.now

        grads = self.source.local_gradients(r)

        # 1. broadcast w(t) || statistics estimation + rate control
        model_bits = float(FLOAT_BITS * p)
        rate_bc = float(net.downlink_rate(t0, r))
        t_bc = float(transfer_seconds(model_bits, rate_bc))
        t_rc = float(compute_seconds(opt.server_flops_per_round, net.server_flops))
        log.append(Event(r, "server", "broadcast", t0, t0 + t_bc, model_bits))
        if t_rc > 0:
            log.append(Event(r, "server", "rate_control", t0, t0 + t_rc))

        # 2. local computation and encoding
        jitter = (np.exp(opt.compute_jitter * self._jitter_rng.standard_normal(k))
                  if opt.compute_jitter > 0 else np.ones(k))
        comp_s = compute_seconds(self.source.flops_per_gradient, net.worker_flops) * jitter
        enc_s = compute_seconds(opt.encode_flops_per_param * p, net.worker_flops)
        ready = t0 + ready_times(t_bc, comp_s, t_rc, enc_s)
        sx, sn = self._stats if self._stats is not None else (None, None)
        alloc = self.allocator.allocate(r, t0, sx, sn) if self.allocator is not None else None
        if alloc is not None and alloc.order is not None:
            order = alloc.order
        else:
            order = completion_order(ready) if opt.upload_order == "completion" else np.arange(k)

        ctx = RoundContext(round=r, rng=self._comp_rng, fidelity=opt.fidelity, allocation=alloc,
                           sigma_x2=sx, sigma_n2=sn)
        res: CompressionResult = self.compressor.compress(grads, order, ctx)
        share = self.share
        if net.access == "fdma" and self.allocator is not None:
            share = self.allocator.fdma_shares(alloc, np.asarray(res.upload_bits, dtype=float))

        upload_done = [env.event() for _ in range(k)]
        upload_time = np.zeros(k)
        prev_done: dict[int, simpy.Event] = {}
        if net.access == "tdma":
            for i in range(1, k):
                prev_done[int(order[i])] = upload_done[int(order[i - 1])]

        bits = np.asarray(res.upload_bits, dtype=float)
        actors = [f"worker{w}" for w in range(k)]

        def worker(w: int):
            # compute and encode need no resource: jump straight to the ready time (one event)
            t_comp = t0 + t_bc
            yield env.timeout(ready[w] - t0)
            log.append(Event(r, actors[w], "compute", t_comp, t_comp + comp_s[w]))
            if enc_s[w] > 0:
                log.append(Event(r, actors[w], "encode", ready[w] - enc_s[w], ready[w]))
            if w in prev_done:
                yield prev_done[w]
            dur = 0.0
            if bits[w] > 0:
                dur = bits[w] / net.uplink_rate(w, env.now, r, net.uplink_bandwidth_hz * share[w])
            s = env.now
            yield env.timeout(dur)
            upload_time[w] = dur
            log.append(Event(r, actors[w], "upload", s, env.now, float(bits[w])))
            upload_done[w].succeed()

        def server():
            for w in order:
                yield upload_done[int(w)]
                dbits = float(res.decode_bits[w])
                if dbits > 0:
                    s = env.now
                    yield env.timeout(dbits / net.decoder_bps)
                    log.append(Event(r, "server", "decode", s, env.now, dbits))
            agg_s = float(compute_seconds(opt.aggregate_flops_per_param_worker * k * p, net.server_flops))
            s = env.now
            yield env.timeout(agg_s)
            log.append(Event(r, "server", "aggregate", s, env.now))

        for w in range(k):
            env.process(worker(w))
        done = env.process(server())
        env.run(until=done)
        t_end = env.now

        metrics = self.source.apply_aggregate(r, res.aggregate)
        mean_grad = grads.mean(axis=0)
        bits = np.asarray(res.upload_bits, dtype=float)
        energy = float(np.sum(comp_s * net.worker_compute_power_w + upload_time * net.worker_radio_power_w))
        out.update({
            "round": r,
            "start_s": t0,
            "end_s": t_end,
            "latency_s": t_end - t0,
            "broadcast_s": t_bc,
            "bits_total": float(bits.sum()),
            "bits_per_worker_mean": float(bits.mean()),
            "bits_per_worker_min": float(bits.min()),
            "bits_per_worker_max": float(bits.max()),
            "bits_per_param": float(bits.sum() / (k * p)),
            "decode_bits_total": float(np.sum(res.decode_bits)),
            "distortion": float(np.mean((res.aggregate - mean_grad) ** 2)),
            "decode_failures": int(res.decode_failures),
            "undetected_errors": int(res.undetected_errors),
            "retries": int(res.retries),
            "upload_airtime_s": float(upload_time.sum()),
            "worker_energy_j": energy,
        })
        for name, value in metrics.items():
            out[name] = value
        if self.source.statistics() is None and "sigma_x2_est" in metrics and "sigma_n2_est" in metrics:
            est = (float(metrics["sigma_x2_est"]), float(metrics["sigma_n2_est"]))
            if all(np.isfinite(est)) and min(est) > 0:
                self._stats = est  # Algorithm 1 line 4: round t uses the statistics of round t-1

    def run(self, on_round: Callable[[int, dict[str, Any]], None] | None = None) -> None:
        """Play out all rounds. A round interrupted midway is dropped; finished ones stay."""
        for r in range(len(self.rounds), self.opt.rounds):
            log: list[Event] = []
            out: dict[str, Any] = {}
            self._round(r, log, out)
            log.sort(key=lambda e: (e.start, e.end, e.actor, e.phase))
            self.events.extend(log)
            self.rounds.append(out)
            if on_round is not None:
                on_round(r, out)
