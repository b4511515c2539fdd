"""Per-worker link state of a 3GPP TR 38.901 channel: LOS/NLOS, indoor/outdoor, h_E.

:func:`worker_links` draws, per worker and seeded per worker, everything 38.901 makes
random about a link before fading: the UMa effective environment height h_E (Table
7.4.1-1 Note 1), whether the worker is indoors and in which building type with which
indoor distance and penetration loss (Sec. 7.4.3.1), and its LOS state (Table
7.4.2-1). The path loss, shadowing std and fading model of each worker then follow its
state. :class:`StateSwitchingStream` gives the fading gain of one link when the LOS
state is redrawn with the channel's ``correlation`` policy.

Random streams (``SeedSequence(seed, spawn_key=(stream, k, ...))``, one per worker k):
3 LOS state at placement, 4 indoor/O2I draws, 5 h_E, 6 LOS state per round,
7 / 8 LOS state per uplink / downlink transmission, 9 / 10 LOS-state fading of the
uplink / downlink (the NLOS state, and a profile without ``los_state``, use streams 1 / 2,
as :mod:`edgefl.radio.environment`). Worker k's values depend only on (seed, k).
"""

from __future__ import annotations

from functools import lru_cache

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgefl.diagnostics import ScenarioWarning
from edgefl.radio.config import NLOS_INHERITED, ChannelConfig, FadingConfig
from edgefl.radio.fading import FadingStream
from edgefl.radio.heights import check_heights
from edgefl.radio.los import draw_uma_h_e, los_probability
from edgefl.radio.o2i import draw_indoor_distance, penetration_loss_db
from edgefl.radio.pathloss import pathloss_db

_SHADOW, _UPLINK, _DOWNLINK = 0, 1, 2
_LOS0, _O2I, _HE, _LOS_ROUND, _LOS_UL, _LOS_DL, _UPLINK_LOS, _DOWNLINK_LOS = 3, 4, 5, 6, 7, 8, 9, 10
NLOS, LOS = 0, 1


def _uniforms(seed: int, stream: int, k: int, n: int, *extra: int) -> np.ndarray:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, k, *extra))).random(n)


def _per_worker(seed: int, stream: int, k: int, n: int) -> np.ndarray:
    """(n, K) uniforms, column k from worker k's own generator."""
    return np.column_stack([_uniforms(seed, stream, i, n) for i in range(k)]) if k else np.empty((n, 0))


@dataclass(frozen=True)
class WorkerLinks:
    """Per-worker large-scale link state (arrays of length K; ``*_by_state`` are (2, K),
    row 0 NLOS, row 1 LOS). ``los`` is the state drawn at placement (all True for a
    fixed-LOS profile, all False for a fixed-NLOS one); ``pathloss_db`` and
    ``shadowing_db`` are the values in that state, O2I penetration loss included."""

    mixed: bool  # the channel has a los_state section
    indoor_any: bool
    h_ut_m: np.ndarray
    pr_los: np.ndarray
    los: np.ndarray
    indoor: np.ndarray
    high_loss: np.ndarray
    d2d_in_m: np.ndarray
    o2i_loss_db: np.ndarray
    h_e_m: np.ndarray
    pathloss_by_state_db: np.ndarray
    sigma_by_state_db: np.ndarray
    shadow_z: np.ndarray
    fading_by_state: tuple[tuple[FadingConfig, FadingConfig], ...]  # per worker (NLOS, LOS)

    @property
    def plain(self) -> bool:
        """No per-worker state: the channel's single path loss, shadowing and fading apply."""
        return not (self.mixed or self.indoor_any)

    @property
    def pathloss_db(self) -> np.ndarray:
        return self.pathloss_by_state_db[self.los.astype(int), np.arange(self.los.size)]

    @property
    def shadowing_db(self) -> np.ndarray:
        return self.sigma_by_state_db[self.los.astype(int), np.arange(self.los.size)] * self.shadow_z


def floor_height_m(u_buildings, u_floor) -> np.ndarray:
    """Indoor UT height 3 (n_fl - 1) + 1.5 m, n_fl ~ U{1, ..., N_fl}, N_fl ~ U{4, ..., 8}
    (38.901 Table 7.2-1, UMi / UMa), from two uniforms per worker."""
    n_floors = 4 + np.floor(np.asarray(u_buildings) * 5.0)
    n_fl = 1 + np.floor(np.asarray(u_floor) * n_floors)
    return 3.0 * (n_fl - 1.0) + 1.5


def resolve_indoor(cfg: ChannelConfig, indoor_fraction: float | None, high_loss_fraction: float | None,
                   where: str = "workers.placement") -> tuple[float, float]:
    """Indoor share and high-loss share: the placement's values, else the channel's ``o2i`` defaults."""
    if cfg.o2i is None:
        if indoor_fraction:
            raise ValueError(
                f"{where}.indoor_fraction={indoor_fraction} needs a channel with an 'o2i' section "
                "(38.901 Sec. 7.4.3 penetration loss), e.g. the umi_street_canyon or uma profile; this channel has none"
            )
        return 0.0, 0.0
    frac = cfg.o2i.indoor_fraction if indoor_fraction is None else indoor_fraction
    high = cfg.o2i.high_loss_fraction if high_loss_fraction is None else high_loss_fraction
    return float(frac), float(high)


def draw_h_e(cfg: ChannelConfig, d2d_m: np.ndarray, h_ut_m: np.ndarray, seed: int) -> np.ndarray | None:
    """Per-link h_E for UMa with ``h_e_m: standard`` (38.901 Table 7.4.1-1 Note 1), else None.

    Warns when a fixed h_E is used for UMa terminals at h_UT >= 13 m, where the standard
    makes it random (the fixed value biases the LOS path loss beyond the breakpoint)."""
    pl = cfg.pathloss
    if not pl.model.startswith("uma"):
        return None
    if pl.h_e_m != "standard":
        if np.any(np.asarray(h_ut_m) >= 13.0):
            warnings.warn(
                f"channel.pathloss.h_e_m={pl.h_e_m} m is fixed for UMa terminals at h_UT >= 13 m "
                f"(max {np.max(h_ut_m):g} m); 38.901 Table 7.4.1-1 Note 1 draws h_E per link there "
                "(h_e_m: standard)",
                ScenarioWarning,
                stacklevel=3,
            )
        return None
    u = _per_worker(seed, _HE, d2d_m.size, 2)
    return draw_uma_h_e(d2d_m, h_ut_m, u[0], u[1])


def worker_links(
    cfg: ChannelConfig,
    d2d_m: np.ndarray,
    h_bs_m: float,
    h_ut_m: np.ndarray,
    seed: int,
    indoor_fraction: float | None = None,
    high_loss_fraction: float | None = None,
) -> WorkerLinks:
    """Draw the link state of every worker (see the module docstring)."""
    k = d2d_m.size
    fc_ghz = cfg.carrier_hz / 1e9
    frac, high_frac = resolve_indoor(cfg, indoor_fraction, high_loss_fraction)

    indoor = np.zeros(k, dtype=bool)
    high = np.zeros(k, dtype=bool)
    d_in = np.zeros(k)
    o2i_db = np.zeros(k)
    h_ut_m = np.broadcast_to(np.asarray(h_ut_m, dtype=float), (k,)).copy()
    if frac > 0:
        u = _per_worker(seed, _O2I, k, 6)
        z = np.array([np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_O2I, i, 1))).standard_normal()
                      for i in range(k)])
        indoor = u[0] < frac
        high = indoor & (u[1] < high_frac)
        d_in = np.where(indoor, np.minimum(draw_indoor_distance(u[2], u[3], cfg.o2i.max_indoor_distance_m), d2d_m), 0.0)
        o2i_db = np.where(indoor, penetration_loss_db(high, fc_ghz, d_in, z), 0.0)
        if cfg.o2i.indoor_height == "floors":
            h_ut_m = np.where(indoor, floor_height_m(u[4], u[5]), h_ut_m)
    errors = [i for i in check_heights(cfg, h_bs_m, h_ut_m) if i.error]
    if errors:  # a scenario reports these at load time with its fields (edgefl.scenario.geometry)
        e = errors[0]
        who = "h_BS" if e.end == "bs" else f"h_UT of worker {e.workers[0]}"
        raise ValueError(f"{who} = {e.value:g} m: {e.message}")
    h_e = draw_h_e(cfg, d2d_m, h_ut_m, seed)

    los_cfg = cfg.los_state
    pl_top = pathloss_db(cfg.pathloss, d2d_m, cfg.carrier_hz, h_bs_m, h_ut_m, h_e) + o2i_db
    if los_cfg is None:
        is_los_model = cfg.pathloss.model.endswith("_los") or cfg.pathloss.model == "free_space"
        pr = np.full(k, 1.0 if is_los_model else 0.0)
        los = np.full(k, is_los_model)
        pl_by_state = np.vstack([pl_top, pl_top])
        sig = np.full((2, k), cfg.shadowing_sigma_db)
        fad = [(cfg.fading, cfg.fading)] * k
    else:
        nlos = los_cfg.nlos
        nlos_pl_cfg = nlos.pathloss.model_copy(
            update={f: getattr(cfg.pathloss, f) for f in NLOS_INHERITED}
        )
        pl_nlos = pathloss_db(nlos_pl_cfg, d2d_m, cfg.carrier_hz, h_bs_m, h_ut_m, h_e) + o2i_db
        pl_by_state = np.vstack([pl_nlos, pl_top])
        sig = np.vstack([np.full(k, nlos.shadowing_sigma_db), np.full(k, cfg.shadowing_sigma_db)])
        fad = [(nlos.fading, cfg.fading)] * k
        # Table 7.4.2-1: outdoor scenarios use d_2D-out (the indoor part of an O2I link excluded).
        d_pr = np.maximum(d2d_m - d_in, 0.0)
        clutter = None
        if los_cfg.clutter_size_m is not None:
            clutter = (los_cfg.clutter_size_m, los_cfg.clutter_density, los_cfg.clutter_height_m)
        pr = los_probability(los_cfg.probability, d_pr, h_ut_m, h_bs_m=h_bs_m, clutter=clutter)
        pr = np.broadcast_to(pr, (k,)).astype(float)
        los = _per_worker(seed, _LOS0, k, 1)[0] < pr
    if cfg.o2i is not None and np.any(indoor):
        if cfg.o2i.shadowing_sigma_db is not None:
            sig[:, indoor] = cfg.o2i.shadowing_sigma_db
        if cfg.o2i.fading is not None:
            fad = [(cfg.o2i.fading, cfg.o2i.fading) if indoor[i] else fad[i] for i in range(k)]
    shadow_z = shadow_normals(seed, k)
    return WorkerLinks(
        mixed=los_cfg is not None, indoor_any=bool(np.any(indoor)), h_ut_m=h_ut_m, pr_los=pr,
        los=np.asarray(los, dtype=bool),
        indoor=indoor, high_loss=high, d2d_in_m=d_in, o2i_loss_db=o2i_db,
        h_e_m=np.broadcast_to(h_e if h_e is not None else _fixed_h_e(cfg), (k,)).astype(float),
        pathloss_by_state_db=pl_by_state, sigma_by_state_db=sig, shadow_z=shadow_z, fading_by_state=tuple(fad),
    )


def _fixed_h_e(cfg: ChannelConfig) -> float:
    h = cfg.pathloss.h_e_m
    if cfg.pathloss.model[:3] not in ("uma", "umi"):
        return float("nan")  # no breakpoint, no h_E
    return 1.0 if h == "standard" else float(h)


class StateSwitchingStream:
    """Fading gain of one link whose large-scale state (LOS / NLOS) may change.

    ``gain`` = fading gain of the active state's stream x 10^(offset_db[state] / 10), the
    offset being that state's received power relative to the placement state's (which the
    environment's mean SNR uses), so SNR = mean SNR x gain holds in every state.
    """

    returns_state = False

    def __init__(self, streams: tuple[FadingStream, FadingStream], offset_db: np.ndarray,
                 state: Callable[[float, int], int]) -> None:
        self._streams = streams
        self._scale = tuple(1.0 if o == 0.0 else float(10.0 ** (o / 10.0)) for o in offset_db)
        self._state = state
        self.last_state: int | None = None

    def raw(self, t: float, round: int) -> float:
        s = self._state(t, round)
        self.last_state = s
        g = self._streams[s].gain(t, round)
        return g if self._scale[s] == 1.0 else g * self._scale[s]

    gain = raw


class _FixedState:
    """The state drawn at placement, for the whole run."""

    def __init__(self, state: int) -> None:
        self._state = state

    def __call__(self, t: float, round: int) -> int:  # noqa: ARG002 - the state does not change
        return self._state


class _RoundState:
    """LOS state of worker k redrawn once per round: u(seed, k, round) < Pr_LOS (shared by both links)."""

    def __init__(self, seed: int, k: int, pr: float) -> None:
        self._seed, self._k, self._pr = seed, k, pr
        self._cache: tuple[int, int] | None = None

    def __call__(self, t: float, round: int) -> int:  # noqa: ARG002 - block_round ignores t
        if self._cache is None or self._cache[0] != round:
            u = _uniforms(self._seed, _LOS_ROUND, self._k, 1, int(round))[0]
            self._cache = (round, LOS if u < self._pr else NLOS)
        return self._cache[1]


class _CallState:
    """LOS state redrawn for every transmission, from the link's own sequential generator."""

    def __init__(self, seed: int, stream: int, k: int, pr: float) -> None:
        self._rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, k)))
        self._pr = pr

    def __call__(self, t: float, round: int) -> int:  # noqa: ARG002 - one draw per call
        return LOS if self._rng.random() < self._pr else NLOS


@lru_cache(maxsize=4)
def shadow_normals(seed: int, k: int) -> np.ndarray:
    """Each worker's standard normal shadowing draw, ``default_rng(SeedSequence(seed, spawn_key=(0, i)))
    .standard_normal()`` for i < k (read-only; remembered, as scenario variants share their seed)."""
    z = np.array([np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SHADOW, i))).standard_normal()
                  for i in range(k)])
    z.setflags(write=False)
    return z


def fading_streams(cfg: ChannelConfig, links: WorkerLinks, seed: int, downlink: bool) -> list[StateSwitchingStream]:
    """One :class:`StateSwitchingStream` per worker for the uplink or the downlink."""
    nlos_key, los_key = (_DOWNLINK, _DOWNLINK_LOS) if downlink else (_UPLINK, _UPLINK_LOS)
    redraw = cfg.los_state is not None and cfg.los_state.redraw == "correlation"
    base_rx = -(links.pathloss_db + links.shadowing_db)
    out = []
    for k in range(links.los.size):
        f_nlos, f_los = links.fading_by_state[k]
        streams = (
            FadingStream(f_nlos, cfg.correlation, np.random.SeedSequence(seed, spawn_key=(nlos_key, k))),
            FadingStream(f_los, cfg.correlation, np.random.SeedSequence(seed, spawn_key=(los_key, k))),
        )
        rx = -(links.pathloss_by_state_db[:, k] + links.sigma_by_state_db[:, k] * links.shadow_z[k])
        offset = rx - base_rx[k]
        offset[int(links.los[k])] = 0.0
        pr = float(links.pr_los[k])
        state: Callable[[float, int], int]
        if not redraw:
            state = _FixedState(int(links.los[k]))
        elif cfg.correlation.kind == "block_round":
            state = _RoundState(seed, k, pr)
        else:
            state = _CallState(seed, _LOS_DL if downlink else _LOS_UL, k, pr)
        out.append(StateSwitchingStream(streams, offset, state))
    return out
