"""Round latency of a scenario over many independent channel draws, vectorised (no SimPy, no
training): the timing recursion of the engine (DSC paper Sec. IV-D/E, Fig. 5;
:mod:`edgefl.sim.timing`) evaluated for N draws at once.

One draw n gives every worker k an uplink and a downlink fading power gain from the
channel's fading distribution (:func:`edgefl.radio.fading.sample_power_gain`; for
Gauss-Markov correlation its stationary marginal) and a straggler factor
exp(compute_jitter x N(0, 1)). Then, relative to the round start:

* broadcast t_bc = 32 P / R_dl, R_dl = B_dl SE(min_k SNR_dl,k g_dl,k) (multicast to the weakest);
* ready_k = max(t_bc + c_k, t_rc) + e_k (Algorithm 1; :func:`edgefl.sim.timing.ready_times`);
* TDMA (uploads in completion order, or by index): end_(j) = max_{i<=j} (ready_(i) + sum_{l=i..j} a_(l)),
  the closed form of end_(j) = max(ready_(j), end_(j-1)) + a_(j), with a_k = b_k / R_k(B);
* FDMA (equal shares 1/K; the sub-band's noise is K times smaller): end_k = ready_k + b_k / R_k(B/K);
* successive decoding in the same order: D = max_j (end_(j) + sum_{l>=j} d_(l)), d_k = decode bits / throughput;
* round latency = D + aggregation (K P adds on the server).

Randomness: worker k's draws come from its own generator
``SeedSequence(seed, spawn_key=(_PLAN, stream, k))``, so the draws of the first K workers do not
change when workers are added (and placements are nested too, :mod:`edgefl.radio.placement`):
p95(K) is then comparable across K with common random numbers.

Supported: compression ``none`` and ``signsgd`` (upload bits fixed by P) with the ``equal``
rate allocation, any link model with single-attempt uploads. Everything else is refused with
the field and the allowed values (the P1 plan of RD paper eq. 20 is ``edgefl plan`` without options).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgefl.compress.base import FLOAT_BITS, RoundContext
from edgefl.compress.registry import make_compressor
from edgefl.radio.fading import sample_power_gain
from edgefl.radio.link import LinkModel
from edgefl.radio.link_registry import make_link
from edgefl.scenario import FieldProblem, ResolvedScenario, ScenarioError
from edgefl.sim.build import Layout, gradient_source, layout, radio_environment
from edgefl.sim.timing import compute_seconds

_PLAN = 7  # spawn-key root of the planning draws (the radio environment uses 0-2)
_UPLINK, _DOWNLINK, _JITTER = 0, 1, 2
SCHEMES = ("none", "signsgd")
_CHUNK_ELEMENTS = 1 << 20
ALLOCATIONS = ("equal",)


@dataclass(frozen=True)
class RoundModel:
    """Everything the round latency of one scenario depends on, as plain numbers per worker."""

    scheme: str
    access: str
    upload_order: str  # "completion" | "index"
    bandwidth_hz: float
    downlink_bandwidth_hz: float
    link: LinkModel
    upload_bits: np.ndarray  # (K,)
    decode_s: np.ndarray  # (K,)
    ul_snr_full: np.ndarray  # (K,) mean linear uplink SNR over the full band
    dl_snr: np.ndarray  # (K,) mean linear downlink SNR
    compute_s: np.ndarray  # (K,) before jitter
    encode_s: np.ndarray  # (K,)
    rate_control_s: float
    broadcast_bits: float
    aggregate_s: float
    compute_jitter: float
    fading: object  # FadingConfig
    seed: int

    @property
    def num_workers(self) -> int:
        return self.upload_bits.size

    def assumptions(self) -> dict[str, str]:
        """The scheme and allocation every answer built on this model assumes."""
        order = "completion order" if self.upload_order == "completion" else "index order"
        alloc = (f"TDMA, full band {self.bandwidth_hz:g} Hz per upload, uploads in {order}"
                 if self.access == "tdma" else
                 f"FDMA, equal shares B/K of {self.bandwidth_hz:g} Hz, all uploads in parallel")
        return {"scheme": self.scheme, "allocation": "equal", "access": self.access, "uplink": alloc,
                "broadcast": "float32 model, multicast at the weakest worker's rate"}


def check_supported(rs: ResolvedScenario) -> None:
    """Refuse, naming the field, what the vectorised latency model does not cover."""
    scn = rs.scenario
    problems = []
    if scn.compression.scheme not in SCHEMES:
        problems.append(FieldProblem("compression.scheme", scn.compression.scheme,
                                     f"the latency planner covers {', '.join(SCHEMES)} (bits fixed by P)"))
    if scn.rate_allocation.scheme not in ALLOCATIONS:
        problems.append(FieldProblem("rate_allocation.scheme", scn.rate_allocation.scheme,
                                     f"the latency planner covers {', '.join(ALLOCATIONS)}"))
    link = type(make_link(scn.channel))
    if link.upload is not LinkModel.upload or link.transmit is not LinkModel.transmit:
        problems.append(FieldProblem("channel.link", link.name,
                                     "the latency planner covers single-attempt links (no retransmissions)"))
    if problems:
        raise ScenarioError(rs.source, problems)


def round_model(rs: ResolvedScenario, positions: np.ndarray | None = None) -> RoundModel:
    """The :class:`RoundModel` of ``rs``; ``positions`` (K, 3) replaces the placement."""
    check_supported(rs)
    scn = rs.scenario
    ch = scn.channel
    lay = layout(rs)
    if positions is not None:
        lay = Layout(np.asarray(positions, dtype=float), lay.server)
    radio = radio_environment(rs, lay)
    src = gradient_source(rs)
    p = src.num_params
    comp = make_compressor(scn.compression)
    # the scheme's own bit count; none/signsgd put the same bits on the air for every worker
    res = comp.compress(np.ones((1, p)), np.arange(1), RoundContext(0, np.random.default_rng(0)))
    k = scn.workers.count
    flops = np.array([d.flops_per_s for d in rs.worker_devices], dtype=float)
    server = rs.server_profile
    return RoundModel(
        scheme=scn.compression.scheme, access=ch.access, upload_order=scn.upload_order,
        bandwidth_hz=ch.uplink_bandwidth_hz, downlink_bandwidth_hz=ch.downlink_bandwidth_hz, link=make_link(ch),
        upload_bits=np.full(k, float(res.upload_bits[0])),
        decode_s=np.full(k, float(res.decode_bits[0]) / server.decoder.throughput_bps),
        ul_snr_full=10.0 ** (radio.mean_uplink_snr_db(ch.uplink_bandwidth_hz) / 10.0),
        dl_snr=10.0 ** (radio.mean_downlink_snr_db(ch.downlink_bandwidth_hz) / 10.0),
        compute_s=compute_seconds(src.flops_per_gradient, flops),
        encode_s=compute_seconds(comp.encode_flops(p), flops),
        rate_control_s=float(compute_seconds(comp.server_flops(k, p), server.flops_per_s)),
        broadcast_bits=float(FLOAT_BITS * p),
        aggregate_s=float(compute_seconds(1.0 * k * p, server.flops_per_s)),
        compute_jitter=scn.workers.compute_jitter, fading=ch.fading, seed=scn.seed,
    )


@dataclass(frozen=True)
class Draws:
    """N independent channel and straggler draws for K workers, (N, K) each."""

    ul_gain: np.ndarray
    dl_gain: np.ndarray
    jitter: np.ndarray


def draw(model: RoundModel, n: int, seed: int | None = None) -> Draws:
    """``n`` draws per worker from per-worker generators (see the module docstring); memory 24 n K bytes."""
    if n < 1:
        raise ValueError(f"draws must be >= 1, got {n}")
    seed = model.seed if seed is None else seed
    k = model.num_workers

    def per_worker(stream: int, sample) -> np.ndarray:
        out = np.empty((n, k))
        for w in range(k):
            out[:, w] = sample(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_PLAN, stream, w))))
        return out

    ul = per_worker(_UPLINK, lambda g: sample_power_gain(model.fading, g, n))
    dl = per_worker(_DOWNLINK, lambda g: sample_power_gain(model.fading, g, n))
    jit = (np.exp(model.compute_jitter * per_worker(_JITTER, lambda g: g.standard_normal(n)))
           if model.compute_jitter > 0 else np.ones((n, k)))
    return Draws(ul, dl, jit)


def round_latency(model: RoundModel, draws: Draws, bandwidth_hz: float | None = None) -> np.ndarray:
    """(N,) round latency in seconds, one per draw (formulas in the module docstring);
    ``bandwidth_hz`` replaces the scenario's uplink bandwidth (the SNR scales as 1/B)."""
    b = model.bandwidth_hz if bandwidth_hz is None else float(bandwidth_hz)
    n, k = draws.ul_gain.shape
    step = max(1, _CHUNK_ELEMENTS // k)  # bounded temporaries: a few (step, K) arrays at a time
    lat = np.empty(n)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # SNR 0 (far out): rate 0, latency inf
        for i in range(0, n, step):
            rows = slice(i, i + step)
            lat[rows] = _round_latency(model, Draws(draws.ul_gain[rows], draws.dl_gain[rows], draws.jitter[rows]), b)
    return np.where(np.isnan(lat), np.inf, lat)


def _round_latency(model: RoundModel, draws: Draws, b: float) -> np.ndarray:
    k = model.num_workers
    snr_full = model.ul_snr_full * (model.bandwidth_hz / b)  # thermal noise is proportional to B
    dl_min = (model.dl_snr[None, :] * draws.dl_gain).min(axis=1)
    t_bc = model.broadcast_bits / model.link.rate_bps(model.downlink_bandwidth_hz, dl_min)
    ready = np.maximum(t_bc[:, None] + model.compute_s * draws.jitter, model.rate_control_s) + model.encode_s
    bits = model.upload_bits
    if model.access == "tdma":
        air = np.where(bits > 0, bits / model.link.rate_bps(b, snr_full * draws.ul_gain), 0.0)
    else:  # equal shares: sub-band B/K, SNR K times the full-band SNR
        air = np.where(bits > 0, bits / model.link.rate_bps(b / k, k * snr_full * draws.ul_gain), 0.0)
    if model.upload_order == "completion":
        idx = np.argsort(ready, axis=1, kind="stable")
    else:
        idx = np.broadcast_to(np.arange(k), ready.shape)
    r_s = np.take_along_axis(ready, idx, axis=1)
    a_s = np.take_along_axis(air, idx, axis=1)
    if model.access == "tdma":
        cum = np.cumsum(a_s, axis=1)
        end_s = cum + np.maximum.accumulate(r_s - (cum - a_s), axis=1)
    else:
        end_s = r_s + a_s
    d_s = model.decode_s[idx]
    dec_tail = np.cumsum(d_s[:, ::-1], axis=1)[:, ::-1]  # sum_{l>=j} d_(l)
    decoded = np.maximum((end_s + dec_tail).max(axis=1), 0.0)
    return decoded + model.aggregate_s


def percentiles(latency: np.ndarray, qs: tuple[float, ...] = (50.0, 95.0, 99.0)) -> dict[str, float]:
    """{"p50": ..., ...}: empirical quantiles (numpy's linear interpolation)."""
    vals = np.percentile(latency, qs)
    return {f"p{q:g}": float(v) for q, v in zip(qs, vals)}
