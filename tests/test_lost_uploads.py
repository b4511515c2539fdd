"""Uploads the link gives up on (UploadOutcome.delivered = False, e.g. NR after max_harq and the RLC
retries) are charged but never decoded or aggregated; for successive decoding the uploads after
the first lost one lose their side information and are dropped too (issue 13)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from edgefl.radio.link_registry import make_link
from edgefl.scenario import load_scenario
from edgefl.sim.build import build_simulation, seeds
from edgefl.sim.engine import Simulation

QUICK = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
STATIC = ["channel.fading.model=none", "workers.compute_jitter=0", "gradients.params=500", "rounds=3"]


class DropsEveryOther:
    """Shannon air time; the 2nd, 4th, ... upload of the run is lost after its air time."""

    may_lose_uploads = True

    def __init__(self, inner) -> None:
        self.inner, self.n = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def upload(self, env, channel, bits, bandwidth_hz, snr_at, rng):
        out = yield from self.inner.upload(env, channel, bits, bandwidth_hz, snr_at, rng)
        self.n += 1
        return dataclasses.replace(out, delivered=self.n % 2 == 1)


def _run(sets: list[str]):
    rs = load_scenario(QUICK, [*STATIC, *sets])
    base = build_simulation(rs, engine="simpy")
    net = dataclasses.replace(base.net, link=DropsEveryOther(make_link(rs.scenario.channel)))
    sim = Simulation(net, base.source, base.compressor, base.opt, seeds(rs.scenario.seed)["engine"],
                     allocator=base.allocator)
    seen = []
    real = sim.source.apply_aggregate

    def spy(r, aggregate):
        seen.append(aggregate.copy())
        return real(r, aggregate)

    sim.source.apply_aggregate = spy
    sim.run()
    return sim, seen


def test_lost_uploads_are_not_aggregated_by_a_plain_scheme() -> None:
    sim, seen = _run(["compression.scheme=none"])
    k = sim.net.num_workers
    for row, agg in zip(sim.rounds, seen):
        assert row["uploads_lost"] == k // 2
        assert row["aggregated"] == k - k // 2
        assert np.all(np.isfinite(agg))
    # charged all the same: every upload has its interval on the timeline
    assert sum(e.phase == "upload" for e in sim.events if e.round == 0) == k


@pytest.mark.parametrize("scheme", ["rd-ideal"])
def test_successive_decoding_keeps_the_prefix_before_the_first_lost_upload(scheme: str) -> None:
    sim, _ = _run([f"compression.scheme={scheme}", "rate_allocation.scheme=p1",
                   "rate_allocation.target_distortion=0.5"])
    for row in sim.rounds:
        assert row["uploads_lost"] > 0
        # the order's first upload is delivered (odd count), the second is lost: only one is decoded
        assert row["aggregated"] == 1
