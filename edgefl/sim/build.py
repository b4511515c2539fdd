"""Build a ready-to-run :class:`Simulation` from a resolved scenario.

All random streams derive from the scenario seed through one SeedSequence, one child
per consumer (placement, radio, gradients, compression, engine), so adding draws in
one never shifts another.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from edgefl.compress.registry import make_compressor
from edgefl.device_trace import DeviceTrace
from edgefl.energy import EnergyProfile
from edgefl.radio.access_registry import make_access
from edgefl.radio.environment import RadioEnvironment
from edgefl.radio.link import LinkModel
from edgefl.radio.link_registry import make_link
from edgefl.radio.placement import place_workers
from edgefl.radio.trace import ChannelTrace
from edgefl.scenario import FieldProblem, ResolvedScenario, ScenarioError
from edgefl.sim import bits_only
from edgefl.sim.allocation import RateAllocator
from edgefl.sim.ceo_source import GaussianCEOSource
from edgefl.sim.coverage import CoverageReport, CoverageWarning, coverage_report
from edgefl.sim.engine import Simulation
from edgefl.sim.gradient_source import GradientSource
from edgefl.sim.network import Network, SimOptions
from edgefl.trace_table import TraceError, find_trace


@dataclass(frozen=True)
class Layout:
    """Where the workers and the server are (metres)."""

    workers: np.ndarray  # (K, 3)
    server: np.ndarray  # (3,)


def seeds(seed: int) -> dict[str, np.random.SeedSequence]:
    """The independent random streams of a run."""
    names = ["placement", "radio", "gradients", "compression", "engine"]
    return dict(zip(names, np.random.SeedSequence(seed).spawn(len(names))))


def layout(rs: ResolvedScenario) -> Layout:
    """Worker positions from the placement rule, with per-worker overrides applied. Random
    layouts are centred on the server unless their ``center_m`` is given."""
    scn = rs.scenario
    rng = np.random.default_rng(seeds(scn.seed)["placement"])
    pl = scn.workers.placement
    if pl.layout != "explicit" and "center_m" not in pl.model_fields_set:
        pl = pl.model_copy(update={"center_m": (float(scn.server.position[0]), float(scn.server.position[1]))})
    pos = np.array(place_workers(pl, scn.workers.count, rng), dtype=float)
    for ov in scn.workers.overrides:
        if ov.position is not None:
            pos[ov.index] = ov.position
    return Layout(pos, np.asarray(scn.server.position, dtype=float))


def radio_environment(rs: ResolvedScenario, lay: Layout | None = None) -> RadioEnvironment:
    """The scenario's radio environment (path loss, shadowing, fading, noise)."""
    scn = rs.scenario
    lay = lay or layout(rs)
    ch = scn.channel
    tx = np.array([d.tx_power_dbm for d in rs.worker_devices], dtype=float)
    seed = int(seeds(scn.seed)["radio"].generate_state(1)[0])
    pl = scn.workers.placement
    return RadioEnvironment(ch, lay.workers, lay.server, tx, rs.server_profile.tx_power_dbm, seed,
                            trace=channel_trace(rs), indoor=(pl.indoor_fraction, pl.high_loss_fraction))


def channel_trace(rs: ResolvedScenario) -> ChannelTrace | None:
    """The scenario's ``channel.trace``, read and checked against its workers (None without one)."""
    tc = rs.scenario.channel.trace
    if tc is None:
        return None
    try:
        path = find_trace(tc.file, rs.base_dir, "channels")
        return ChannelTrace.read(path, rs.scenario.workers.count, tc.interpolation, tc.wrap)
    except TraceError as exc:
        raise ScenarioError(rs.source, [FieldProblem("channel.trace", tc.file, str(exc))]) from exc


#: fading correlations whose draw does not depend on the upload start time
TIME_FREE_CORRELATIONS = ("block_round", "block_upload")


def network(rs: ResolvedScenario, radio: RadioEnvironment, link: LinkModel | None = None) -> Network:
    """Hardware and radio as the engine sees them."""
    ch = rs.scenario.channel
    devs = rs.worker_devices
    bw_dl = ch.downlink_bandwidth_hz
    link = link or make_link(ch)

    def downlink_rate(t: float, r: int, workers: np.ndarray | None = None) -> float:
        # multicast: the weakest receiving worker (of the round's participants) must decode
        return float(link.rate_bps(bw_dl, radio.downlink_snr(t, r, bw_dl, workers).min()))

    return Network(
        num_workers=len(devs),
        worker_flops=np.array([d.flops_per_s for d in devs], dtype=float),
        worker_compute_power_w=np.array([d.compute_power_w for d in devs], dtype=float),
        worker_radio_power_w=np.array([d.radio_tx_power_w for d in devs], dtype=float),
        server_flops=rs.server_profile.flops_per_s,
        decoder_bps=rs.server_profile.decoder.throughput_bps,
        uplink_bandwidth_hz=ch.uplink_bandwidth_hz,
        access=make_access(ch.access),
        uplink_snr=radio.uplink_snr,
        downlink_rate=downlink_rate,
        link=link,
        uplink_snr_many=radio.uplink_snr_many,
        uplink_snr_batch=radio.uplink_snr_batch,
        snr_depends_on_time=ch.correlation.kind not in TIME_FREE_CORRELATIONS or ch.trace is not None,
        energy=energy_profile(rs),
        device_state=device_state(rs),
        decoder_reference_iterations=rs.server_profile.decoder.reference_iterations,
    )


def device_state(rs: ResolvedScenario):
    """``workers.trace`` as the engine's callable t -> (speed factors, waits); None without one."""
    tc = rs.scenario.workers.trace
    if tc is None:
        return None
    k = rs.scenario.workers.count
    try:
        trace = DeviceTrace.read(find_trace(tc.file, rs.base_dir, "devices"), k, tc.wrap)
    except TraceError as exc:
        raise ScenarioError(rs.source, [FieldProblem("workers.trace", tc.file, str(exc))]) from exc

    def state(t: float) -> tuple[np.ndarray, np.ndarray]:
        try:
            return trace.round_state(t, k)
        except TraceError as exc:
            raise ScenarioError(rs.source, [FieldProblem("workers.trace", tc.file, str(exc))]) from exc

    return state


def energy_profile(rs: ResolvedScenario) -> EnergyProfile:
    """Receive/idle draw and batteries of the workers, server compute and decoder energy figures.
    A worker profile without ``radio_rx_power_w`` receives at its idle draw."""
    devs, srv = rs.worker_devices, rs.server_profile
    return EnergyProfile(
        rx_power_w=np.array([d.idle_power_w if d.radio_rx_power_w is None else d.radio_rx_power_w for d in devs]),
        idle_power_w=np.array([d.idle_power_w for d in devs], dtype=float),
        battery_capacity_j=np.array([np.nan if d.battery_capacity_j is None else d.battery_capacity_j for d in devs]),
        server_compute_power_w=srv.compute_power_w,
        decoder_energy_per_bit_j=srv.decoder.energy_per_bit_j,
    )


def gradient_source(rs: ResolvedScenario) -> GradientSource:
    """The scenario's source of local gradients."""
    scn = rs.scenario
    if scn.model is not None:
        from edgefl.learning.source import build_source

        seed = int(seeds(scn.seed)["gradients"].generate_state(1)[0])
        try:
            src = build_source(scn.model, scn.workers.count, seed, rs.base_dir)
            src.last_round = scn.rounds - 1
            return src
        except Exception as exc:  # noqa: BLE001 - any failure to load the user's model or data
            raise ScenarioError(rs.source, [FieldProblem("model", scn.model.model, str(exc))]) from exc
    g = scn.gradients
    assert g is not None
    if g.source == "convex":
        from edgefl.learning.convex_source import build_convex_source

        return build_convex_source(g, scn.workers.count, seeds(scn.seed)["gradients"])
    return GaussianCEOSource(scn.workers.count, g.params, g.sigma_x2, g.sigma_n2, g.flops_per_gradient,
                             seeds(scn.seed)["gradients"])


ENGINE_PATHS = ("auto", "simpy", "fast")


def build_simulation(rs: ResolvedScenario, engine: str = "auto") -> Simulation:
    """Everything wired together for ``Simulation.run``.

    ``engine``: "simpy" forces the SimPy engine (the reference); "fast" requires the vectorised
    path of :mod:`edgefl.sim.fast_path` (ScenarioError saying why when the run does not qualify);
    "auto" takes it when the run qualifies. The chosen simulation's ``engine_path`` says which,
    ``fast_path_declined`` why not, ``rounds_on_simpy`` how many rounds SimPy played.
    """
    from edgefl.sim.fast_path import FastSimulation, fast_path_problems

    if engine not in ENGINE_PATHS:
        raise ValueError(f"engine must be one of {ENGINE_PATHS}, got {engine!r}")
    scn = rs.scenario
    radio = radio_environment(rs)
    link = make_link(scn.channel)
    coverage = _apply_coverage(rs, out_of_coverage(rs, radio, link))
    source = gradient_source(rs)
    compressor = compressor_for(rs, source)
    if scn.output.timing_only and bits_only.applies(source, compressor):
        source, compressor = bits_only.NoGradients(source), bits_only.BitsOnly(compressor, source.num_params)
    w = scn.workers
    per_round, weights = _participation(rs, coverage)
    opts = SimOptions(
        rounds=scn.rounds,
        fidelity=scn.fidelity,
        upload_order=scn.upload_order,
        compute_jitter=w.compute_jitter,
        per_round=per_round,
        sampling_weights=weights,
        round_deadline_s=scn.round_deadline_s,
        timeline=scn.output.timeline,
    )
    ra = scn.rate_allocation
    initial = (ra.initial_sigma_x2, ra.initial_sigma_n2) if ra.initial_sigma_x2 and ra.initial_sigma_n2 else None
    if not compressor.can_drop_uploads and (scn.round_deadline_s is not None or link.may_lose_uploads):
        field, value, why = (("round_deadline_s", scn.round_deadline_s, "a round deadline drops late uploads")
                             if scn.round_deadline_s is not None else
                             ("channel.link.model", link.name, f"link {link.name!r} can give up on an upload"))
        raise ScenarioError(rs.source, [FieldProblem(field, value, f"{why}, but compression.scheme "
                                                     f"{scn.compression.scheme!r} needs every worker's upload "
                                                     "each round; use another scheme, or no deadline / a link "
                                                     "without losses (shannon)")])
    net = network(rs, radio, link)
    declined = fast_path_problems(net, opts)
    if engine == "fast" and declined:
        raise ScenarioError(rs.source, [FieldProblem("--engine", "fast", "the vectorised path does not apply: "
                                                     + "; ".join(declined))])
    if engine == "simpy":
        declined = ["forced SimPy"]
    cls = Simulation if declined else FastSimulation
    sim = cls(net, source, compressor, opts, seeds(scn.seed)["engine"],
              allocator=rate_allocator(rs, radio, link, compressor.successive), initial_statistics=initial)
    sim.fast_path_declined = declined
    sim.coverage = coverage
    return sim


def out_of_coverage(rs: ResolvedScenario, radio: RadioEnvironment | None = None,
                    link: LinkModel | None = None) -> CoverageReport:
    """Which workers of the scenario's placement the link serves at their mean SNR, up and down
    (:mod:`edgefl.sim.coverage`): count, fraction, ids, distances. For planners as for runs."""
    ch = rs.scenario.channel
    radio = radio or radio_environment(rs)
    link = link or make_link(ch)
    return coverage_report(radio.mean_uplink_snr_db(ch.uplink_bandwidth_hz),
                           radio.mean_downlink_snr_db(ch.downlink_bandwidth_hz), radio.distance_3d_m,
                           link.coverage_snr_linear())


def _apply_coverage(rs: ResolvedScenario, cov: CoverageReport) -> CoverageReport:
    """``channel.out_of_coverage``: refuse (``error``, or when no worker is covered) or warn (``exclude``)."""
    if cov.count == 0:
        return cov
    ch = rs.scenario.channel
    fix = ("move them closer (workers.placement), raise the power or bandwidth, or use a link that serves them")
    if cov.count == cov.in_coverage.size:
        raise ScenarioError(rs.source, [FieldProblem(
            "channel.link", ch.link.model, f"every worker is out of coverage, nothing can train: {cov.describe()}; "
            + fix)])
    if ch.out_of_coverage == "error":
        raise ScenarioError(rs.source, [FieldProblem(
            "channel.out_of_coverage", "error", f"link {ch.link.model!r} serves no uplink/downlink rate to "
            f"{cov.describe()}; {fix}, or set channel.out_of_coverage: exclude")])
    warnings.warn(CoverageWarning(f"{rs.source}: {cov.describe()}; they are out of coverage and take part in "
                                  "no round (channel.out_of_coverage: exclude; workers.csv, summary.json "
                                  "'coverage')"), stacklevel=2)
    return cov


def _participation(rs: ResolvedScenario, cov: CoverageReport) -> tuple[int | None, np.ndarray | None]:
    """(per_round, sampling weights) of the engine: the scenario's, restricted to the workers in
    coverage (weight 0 outside; per_round at most the workers in coverage)."""
    w = rs.scenario.workers
    weights = w.availability_weights() if w.sampling == "availability" else None
    if cov.count == 0:
        return w.per_round, weights
    mask = cov.in_coverage.astype(float)
    weights = mask if weights is None else np.asarray(weights, dtype=float) * mask
    eligible = int(np.count_nonzero(weights))
    if eligible == 0:
        raise ScenarioError(rs.source, [FieldProblem("workers.sampling", "availability", "no worker in coverage "
                                                     "has an availability > 0")])
    return min(w.per_round or w.count, eligible), weights


def compressor_for(rs: ResolvedScenario, source: GradientSource):
    """The scenario's compressor, told the source's tensor shapes (per-layer schemes), P and,
    for the convex test bed, the constants the AIADE paper's step-size conditions need."""
    from edgefl.compress.errors import SchemeParameterError

    try:
        return make_compressor(rs.scenario.compression, param_shapes=source.param_shapes,
                               num_params=source.num_params, problem=source.problem_constants)
    except SchemeParameterError as exc:
        raise ScenarioError(rs.source, [FieldProblem(f"compression.{exc.field}", exc.value, exc.message)]) from exc


def rate_allocator(rs: ResolvedScenario, radio: RadioEnvironment, link: LinkModel,
                   impose_order: bool = True) -> RateAllocator:
    """The scenario's rate allocation rule, reading SNRs over the full uplink band."""
    ra = rs.scenario.rate_allocation
    bw = rs.scenario.channel.uplink_bandwidth_hz
    k = rs.scenario.workers.count

    def mean_snr() -> np.ndarray:
        return 10.0 ** (np.asarray(radio.mean_uplink_snr_db(bw), dtype=float) / 10.0)

    def current_snr(t: float, r: int, workers: np.ndarray | None = None) -> np.ndarray:
        # only the selected workers' fading is read (each worker's fading stream is its own)
        ids = range(k) if workers is None else workers
        return np.array([radio.uplink_snr(int(w), t, r, bw) for w in ids])

    return RateAllocator(ra.scheme, ra.target_distortion, ra.snr, ra.update, mean_snr, current_snr,
                         link, impose_order)
