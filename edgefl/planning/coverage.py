"""Workers out of coverage: those that cannot upload (or receive the broadcast) at their mean SNR.

A worker is out of coverage when the channel's link model gives it a spectral efficiency of 0
at its mean SNR (path loss, shadowing, LOS, O2I; no fading) over the full band, uplink or
downlink: for NR, an SNR so far below the lowest MCS (TS 38.214 Sec. 5.2.2.1, CQI 0 "out of
range") that no transport block gets through (:mod:`edgefl.radio.nr`); for Shannon, never. This
is the rule of the build's reachability check (``edgefl.sim.build``), which refuses such runs.

When the simulation build exposes its own answer (``edgefl.sim.build.out_of_coverage``: a
``CoverageReport`` of the workers a run excludes, ``channel.out_of_coverage``) that one is used,
so ``plan`` and ``run`` name the same workers; the rule above is the fallback of a build that
refuses such workers instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgefl.scenario import ResolvedScenario


@dataclass(frozen=True)
class OutOfCoverage:
    """The workers of one placement out of coverage."""

    workers: np.ndarray  # ids
    distances_m: np.ndarray  # their horizontal distance from the server
    placed: int  # workers placed

    @property
    def fraction(self) -> float:
        return self.workers.size / self.placed if self.placed else 0.0


def unserved(link, snr_db: np.ndarray) -> np.ndarray:
    """Mask of the mean SNRs (dB) at which ``link`` gives no spectral efficiency (module docstring)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        se = np.asarray(link.spectral_efficiency(10.0 ** (np.asarray(snr_db, dtype=float) / 10.0)), dtype=float)
    return ~(se > 0)


def out_of_coverage(rs: ResolvedScenario) -> OutOfCoverage:
    """The workers of ``rs``'s placement (at its seed) out of coverage, up or down."""
    from edgefl.sim import build

    lay = build.layout(rs)
    dist = np.hypot(*(lay.workers[:, :2] - lay.server[:2]).T)
    own = getattr(build, "out_of_coverage", None)
    if callable(own):  # the run's own rule: the workers a run excludes (channel.out_of_coverage)
        rep = own(rs)
        ids = np.asarray(rep.out_ids, dtype=np.int64)
        return OutOfCoverage(ids, dist[ids], lay.workers.shape[0])
    from edgefl.radio.link_registry import make_link

    ch = rs.scenario.channel
    radio = build.radio_environment(rs, lay)
    link = make_link(ch)
    dead = unserved(link, radio.mean_uplink_snr_db(ch.uplink_bandwidth_hz)) | unserved(
        link, radio.mean_downlink_snr_db(ch.downlink_bandwidth_hz))
    ids = np.flatnonzero(dead)
    return OutOfCoverage(ids, dist[ids], lay.workers.shape[0])


def from_build(sim, rs: ResolvedScenario) -> OutOfCoverage | None:
    """The coverage a built simulation of ``rs`` already computed (``sim.coverage``, a
    ``CoverageReport``), without a second radio environment; None when the build has none."""
    rep = getattr(sim, "coverage", None)
    if rep is None or not hasattr(rep, "out_ids"):
        return None
    from edgefl.sim import build

    lay = build.layout(rs)
    ids = np.asarray(rep.out_ids, dtype=np.int64)
    dist = np.hypot(*(lay.workers[ids, :2] - lay.server[:2]).T) if ids.size else np.zeros(0)
    return OutOfCoverage(ids, dist, int(rep.in_coverage.size))
