"""``--over placements`` rounds of many placements at once, at any cell radius, from draws made once.

:class:`edgefl.planning.samples.PlacementSamples` builds and plays one simulation per placement
seed (:func:`~edgefl.planning.samples.placement_seed`) and radius: about 4 ms a placement, so a
radius search with thousands of samples per point takes seconds. For the scenarios the
vectorised path plays with no state carried between workers of different placements (listed in
:func:`batch_problems`), :class:`PlacementBatch` gives the *same* latencies (the engine's numbers,
checked at run time on the first placement and by ``tests/test_plan_coverage.py`` on many) from
one pass of array code over all placements:

* **Draws made once, shared by every radius (common random numbers).** For placement seed s_i
  the placement's two uniforms per worker (:func:`edgefl.radio.placement.annulus_uniforms`: the
  area fraction U and the angle), the shadowing, the uplink and downlink block-fading gains of
  every round and the compute-jitter normals are drawn from the very streams the build and the
  engine draw them from (``edgefl.sim.build.seeds(s_i)``, the radio streams of
  :mod:`edgefl.radio.environment`, the engine's jitter stream), once per placement. A radius R
  only maps U to a distance (r = sqrt(U (R^2 - r_min^2) + r_min^2),
  :func:`~edgefl.radio.placement.annulus_points`), as the placement rule does. So the
  samples at two radii differ only through the distances, each sample's latency grows with R
  (path loss grows with distance; every phase of a round is non-decreasing in each transfer
  time) and the empirical percentile is a non-decreasing function of R: the bisection of
  ``--coverage`` compares radii on the same draws instead of on fresh noise.
* **One array pass per round index over every placement.** Phases 1-5 of a round as the engine
  plays them (:mod:`edgefl.sim.engine`, :mod:`edgefl.sim.fast_path`): multicast at the weakest
  worker's rate, compute with jitter, ready times (:mod:`edgefl.sim.timing`), upload order, the
  access scheme's queue (:meth:`~edgefl.radio.access.AccessScheme.request_times`,
  :meth:`~edgefl.radio.access.AccessScheme.serve_rounds`), single attempts at
  b / (B SE(SNR)) (the link's own :meth:`~edgefl.radio.link.LinkModel.rate_bps`), successive
  decoding (:func:`decode_rounds`, the core's decode pass with every upload in) and aggregation;
  rows are placements, the clock of each placement carried from round to round as in a run.
  Bit counts, compute and encode times come from the engine's own run of the first placement.

Anything outside that list (HARQ links, deadlines, partial participation, traces, LOS/O2I states,
P1, DSC retries, workers out of coverage, ...) keeps the per-placement simulations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgefl.radio.fading import _BATCH, sample_power_gain
from edgefl.radio.noise import NOISE_DENSITY_DBM_HZ
from edgefl.radio.placement import annulus_points, annulus_uniforms
from edgefl.scenario import ResolvedScenario
from edgefl.sim.timing import compute_seconds, ready_times, transfer_seconds

#: relative difference tolerated between the batch and the engine on the run-time check (rounding of
#: the same operations in another order of evaluation, e.g. numpy's vector log2 against math.log2)
CHECK_RTOL = 1e-9


class NotBatchable(Exception):
    """The scenario needs the per-placement simulations (the message says why)."""


def decode_rounds(t0: np.ndarray, order: np.ndarray, end: np.ndarray, decode_s: np.ndarray) -> np.ndarray:
    """When the server has decoded the last upload of each row (round), for rounds without a deadline
    whose uploads all arrived: :func:`edgefl.sim.round_timing.one_decode_pass` in that case (decode i
    starts at max(end of upload i, end of decode i-1), in decoding order; DSC paper Sec. IV-E), the
    same comparisons and additions over all rows at once, decoding position by position."""
    rows = np.arange(end.shape[0])
    now = np.asarray(t0, dtype=float)
    for i in np.asarray(order, dtype=np.int64).T:
        e = end[rows, i]
        now = np.where(e > now, e, now)
        d = decode_s[rows, i]
        now = np.where(d > 0, now + d, now)
    return now


class _Recorder:
    """A compressor that records the bit counts of each round it compresses (delegates the rest)."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.results: list = []

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def compress(self, grads, order, ctx):
        res = self._inner.compress(grads, order, ctx)
        self.results.append(res)
        return res


def batch_problems(rs: ResolvedScenario, sim=None) -> list[str]:
    """Why ``--over placements`` samples of ``rs`` cannot be computed by :class:`PlacementBatch`
    (empty: they can); ``sim``, a built timing-only simulation of ``rs``, adds the engine's side."""
    from edgefl.radio.link_state import resolve_indoor
    from edgefl.sim import bits_only

    scn = rs.scenario
    ch, w = scn.channel, scn.workers
    pl = w.placement
    out = []
    if pl.layout not in ("disc", "annulus"):
        out.append(f"placement layout {pl.layout!r} has no radius")
    elif "center_m" in pl.model_fields_set and tuple(pl.center_m) != tuple(scn.server.position[:2]):
        out.append("the placement is not centred on the server")
    if any(ov.position is not None for ov in w.overrides):
        out.append("workers.overrides place workers")
    if ch.trace is not None or w.trace is not None:
        out.append("channel or device trace")
    if ch.correlation.kind != "block_round":
        out.append(f"fading correlation {ch.correlation.kind!r} (block_round only)")
    if ch.los_state is not None:
        out.append("LOS/NLOS states")
    if resolve_indoor(ch, pl.indoor_fraction, pl.high_loss_fraction)[0] > 0:
        out.append("indoor workers (O2I)")
    if ch.pathloss.model.startswith("uma") and ch.pathloss.h_e_m == "standard":
        out.append("random UMa h_E")
    if scn.round_deadline_s is not None:
        out.append("round deadline")
    if w.participants != w.count or w.sampling != "uniform":
        out.append("partial participation / sampling weights")
    if any(d.battery_capacity_j is not None for d in rs.worker_devices):
        out.append("batteries")
    if scn.rate_allocation.scheme != "equal":
        out.append(f"rate allocation {scn.rate_allocation.scheme!r}")
    if scn.rounds > _BATCH:
        out.append(f"more than {_BATCH} rounds per placement")
    if sim is not None:
        from edgefl.sim.fast_path import _single_attempt

        if sim.engine_path != "fast":
            out.append(f"engine path {sim.engine_path!r}")
        if not _single_attempt(sim.net.link):
            out.append(f"link {sim.net.link.name!r} has its own upload process")
        if sim.net.link.coverage_snr_linear() > 0:
            out.append(f"link {sim.net.link.name!r} can leave workers out of coverage")
        if not isinstance(sim.compressor, (bits_only.BitsOnly, _Recorder)):
            out.append("bit counts depend on the gradient values")
    return out


@dataclass(frozen=True)
class _Rounds:
    """What the engine's run of the first placement says about every placement's rounds (no
    quantity here depends on the placement: bits, compute and encode times, server times)."""

    model_bits: np.ndarray  # (m,) broadcast bits
    upload_bits: np.ndarray  # (m, K)
    decode_s: np.ndarray  # (m, K)
    compute_s: np.ndarray  # (K,) before jitter
    encode_s: np.ndarray  # (K,)
    rate_control_s: float
    aggregate_s: float
    shares: np.ndarray  # (K,)
    latencies: np.ndarray  # (m,) the engine's, for the run-time check


class PlacementBatch:
    """Round latencies of ``per_placement`` rounds at each of the placement seeds of ``seed``
    (:func:`~edgefl.planning.samples.placement_seed`), at any radius of ``rs``'s disc/annulus
    (module docstring). Raises :class:`NotBatchable` when the scenario needs the simulations."""

    def __init__(self, rs: ResolvedScenario, per_placement: int, seed: int, method: str = "auto") -> None:
        from edgefl.planning.samples import build, placement_seed, play, timing_run
        from edgefl.sim.build import radio_environment

        self.rs, self.m, self.seed = rs, int(per_placement), int(seed)
        m = self.m
        why = batch_problems(timing_run(rs, m))
        if why:
            raise NotBatchable("; ".join(why))
        rs0 = timing_run(rs, m, placement_seed(self.seed, 0))
        sim = build(rs0, method)
        rec = sim.compressor = _Recorder(sim.compressor)
        why = batch_problems(rs0, sim)
        if why:
            raise NotBatchable("; ".join(why))
        lat = play(sim, m)
        if any(r.decode_schedule is not None for r in rec.results):
            raise NotBatchable("DSC decode schedules")
        up = np.array([np.asarray(r.upload_bits, dtype=float) for r in rec.results])
        if not np.all(up > 0):
            raise NotBatchable("rounds in which a worker sends nothing")
        net, src, comp = sim.net, sim.source, rec._inner
        k, p = net.num_workers, src.num_params
        from edgefl.compress.base import FLOAT_BITS

        model_bits = [float(FLOAT_BITS * p)] + [float(FLOAT_BITS * p) if r.downlink_bits is None else
                                                 float(r.downlink_bits) for r in rec.results[:-1]]
        dbits = np.array([np.asarray(r.decode_bits, dtype=float) for r in rec.results])
        self.net = net
        self.rounds = _Rounds(
            model_bits=np.array(model_bits), upload_bits=up,
            decode_s=np.where(dbits > 0, dbits / net.decoder_bps, 0.0),
            compute_s=compute_seconds(src.flops_per_gradient, net.worker_flops * 1.0),
            encode_s=compute_seconds(comp.encode_flops(p), net.worker_flops * 1.0),
            rate_control_s=float(compute_seconds(comp.server_flops(k, p), net.server_flops)),
            aggregate_s=sim._aggregate_s(k),
            shares=np.asarray(net.access.shares(up[0]), dtype=float), latencies=lat)
        if not all(np.array_equal(net.access.shares(u), self.rounds.shares) for u in up):
            raise NotBatchable("bandwidth shares change from round to round")
        scn = rs.scenario
        radio = radio_environment(rs0)
        self.cfg = radio.cfg
        self.h_bs, self.h_ut = radio.h_bs_m, radio.h_ut_m
        self.tx, self.server_tx = radio.worker_tx_dbm, radio.server_tx_dbm
        self.jitter = scn.workers.compute_jitter
        self.completion = scn.upload_order == "completion"
        pl = scn.workers.placement
        self.center = np.array(scn.server.position[:2], dtype=float) if "center_m" not in pl.model_fields_set \
            else np.asarray(pl.center_m, dtype=float)
        self.server = np.asarray(scn.server.position, dtype=float)
        self.r_min = float(getattr(pl, "r_min_m", 0.0))
        self.k = k
        self._draws: dict[str, list[np.ndarray]] = {n: [] for n in ("u", "phi", "shadow", "g_ul", "g_dl", "z")}
        self._lat: dict[float, np.ndarray] = {}
        first = self.latencies(float(getattr(pl, "r_max_m", getattr(pl, "radius_m", 0.0))), m)
        if not np.allclose(first, lat, rtol=CHECK_RTOL, atol=0.0):
            raise NotBatchable(f"the batch differs from the engine on the first placement ({first} vs {lat})")

    # ------------------------------------------------------------------ draws (once per placement)
    @property
    def placements(self) -> int:
        return len(self._draws["u"])

    def _draw(self, i: int) -> None:
        """Placement ``i``'s draws, from the streams the build and the engine draw them from."""
        from edgefl.planning.samples import placement_seed
        from edgefl.sim.build import seeds

        ss = seeds(placement_seed(self.seed, i))
        u, phi = annulus_uniforms(np.random.default_rng(ss["placement"]), self.k)
        radio_seed = int(ss["radio"].generate_state(1)[0])
        cfg, m, k = self.cfg, self.m, self.k

        def gains(stream: int) -> np.ndarray:
            if cfg.fading.model == "none":
                return np.ones((m, k))
            return np.stack([sample_power_gain(cfg.fading, np.random.default_rng(
                np.random.SeedSequence(radio_seed, spawn_key=(stream, j))), _BATCH)[:m] for j in range(k)], axis=1)

        shadow = np.array([np.random.default_rng(np.random.SeedSequence(radio_seed, spawn_key=(0, j))).normal(
            0.0, cfg.shadowing_sigma_db) for j in range(k)])
        jitter_ss = ss["engine"].spawn(4)[0]
        z = np.random.default_rng(jitter_ss).standard_normal((m, k)) if self.jitter > 0 else np.zeros((m, k))
        for name, v in (("u", u), ("phi", phi), ("shadow", shadow), ("g_ul", gains(1)), ("g_dl", gains(2)),
                        ("z", z)):
            self._draws[name].append(v)

    def _stacked(self, name: str, a: int, b: int) -> np.ndarray:
        return np.stack(self._draws[name][a:b])

    # ------------------------------------------------------------------ latencies at a radius
    def latencies(self, radius: float, n: int) -> np.ndarray:
        """The first ``n`` round latencies (placement by placement, ``per_placement`` rounds each) at
        cell radius ``radius`` (the disc's radius_m or the annulus' r_max_m)."""
        radius = float(radius)
        have = self._lat.get(radius, np.zeros(0))
        need = -(-n // self.m)
        if have.size < need * self.m:
            while self.placements < need:
                self._draw(self.placements)
            have = np.concatenate([have, self._play(radius, have.size // self.m, need)])
            self._lat[radius] = have
        return have[:n]

    def _play(self, radius: float, a: int, b: int) -> np.ndarray:
        """Latencies (row-major: placement, round) of placements a..b-1 at ``radius``."""
        from edgefl.radio.pathloss import pathloss_db

        cfg, net, rd = self.cfg, self.net, self.rounds
        xy = annulus_points(self._stacked("u", a, b), self._stacked("phi", a, b), self.r_min, radius) + self.center
        d2d = np.hypot(xy[..., 0] - self.server[0], xy[..., 1] - self.server[1])
        pl = pathloss_db(cfg.pathloss, d2d, cfg.carrier_hz, self.h_bs, self.h_ut) + 0.0
        shadow = self._stacked("shadow", a, b)
        ul_rx, dl_rx = self.tx - pl - shadow, self.server_tx - pl - shadow
        g_ul, g_dl, z = self._stacked("g_ul", a, b), self._stacked("g_dl", a, b), self._stacked("z", a, b)
        bw_dl, link, access = cfg.downlink_bandwidth_hz, net.link, net.access
        dl_nf = cfg.downlink_noise_figure_db if cfg.downlink_noise_figure_db is not None else cfg.noise_figure_db
        bw = net.uplink_bandwidth_hz * rd.shares
        noise_ul = np.array([NOISE_DENSITY_DBM_HZ + 10.0 * math.log10(x) + cfg.noise_figure_db for x in bw.tolist()])
        dl_snr_mean = np.power(10.0, (dl_rx - (NOISE_DENSITY_DBM_HZ + 10.0 * math.log10(bw_dl) + dl_nf)) / 10.0)
        ul_snr_mean = 10.0 ** ((ul_rx - noise_ul) / 10.0)
        rows = b - a
        t0 = np.zeros(rows)
        out = np.empty((rows, self.m))
        for r in range(self.m):
            t_bc = transfer_seconds(rd.model_bits[r], link.rate_bps(bw_dl, (dl_snr_mean * g_dl[:, r]).min(axis=1)))
            jit = np.exp(self.jitter * z[:, r]) if self.jitter > 0 else np.ones((rows, self.k))
            ready = t0[:, None] + ready_times(t_bc[:, None], rd.compute_s * jit, rd.rate_control_s, rd.encode_s)
            order = (np.argsort(ready, axis=1, kind="stable") if self.completion
                     else np.broadcast_to(np.arange(self.k), ready.shape).copy())
            requested = access.request_times(t0[:, None] + (ready - t0[:, None]), order)
            airtime = rd.upload_bits[r] / link.rate_bps(bw, ul_snr_mean * g_ul[:, r])
            end = access.serve_rounds(requested, airtime, order) + airtime
            now = decode_rounds(t0, order, end, np.broadcast_to(rd.decode_s[r], end.shape))
            t_end = now + rd.aggregate_s
            out[:, r] = t_end - t0
            t0 = t_end
        return out.reshape(-1)


class BatchSamples:
    """:class:`~edgefl.planning.samples.PlacementSamples` at one radius, computed by a shared
    :class:`PlacementBatch` (same samples, same coverage bookkeeping: Shannon-like links only, so
    every placed worker is in coverage)."""

    engine_path = "fast (placements batched)"
    series = False  # clusters (the placements), as PlacementSamples

    def __init__(self, batch: PlacementBatch, radius: float) -> None:
        self.batch, self.radius, self.m = batch, float(radius), batch.m
        self._n = 0

    def cluster_size(self, n: int) -> int:
        return self.m

    def take(self, n: int) -> np.ndarray:
        self._n = max(self._n, -(-n // self.m))
        return self.batch.latencies(self.radius, n)

    @property
    def engine_paths(self) -> set[str]:
        return {self.engine_path}

    @property
    def drawn(self) -> int:
        return self._n * self.m

    @property
    def placed(self) -> list[int]:
        return [self.batch.k] * self._n

    @property
    def out(self) -> list[np.ndarray]:
        return [np.zeros(0, dtype=np.int64)] * self._n

    @property
    def distances(self) -> list[np.ndarray]:
        return [np.zeros(0)] * self._n

    def out_of_coverage_share(self) -> float:
        return 0.0 if self._n else float("nan")
