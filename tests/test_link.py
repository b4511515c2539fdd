"""Link models (edgefl.radio.link): P1's alpha is 1/SE of the link the simulator uses, gap and cap
included; TDMA is a SimPy resource that retransmissions queue for; a new link model needs only
its own file (tests/toy_link.py) and one LINK_MODELS entry."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from pydantic import TypeAdapter
from toy_link import LossyLink, LossyLinkConfig

from edgefl.compress.base import CompressionResult, Compressor
from edgefl.planning import plan_scenario
from edgefl.radio import link_registry as link_mod
from edgefl.radio.link import ShannonLink
from edgefl.radio.link_registry import make_link
from edgefl.scenario import load_scenario
from edgefl.sim.build import build_simulation, radio_environment
from edgefl.sim.ceo_source import GaussianCEOSource
from edgefl.sim.engine import Network, SimOptions, Simulation

QUICK = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
STATIC = ["channel.fading.model=none", "workers.compute_jitter=0", "gradients.params=2000", "rounds=1",
          "output.plots=false"]


def test_shannon_link_gap_and_cap_closed_form() -> None:
    link = ShannonLink(gap_db=10 * np.log10(2.0), max_spectral_efficiency=3.0)  # Gamma = 2
    snr = np.array([2.0, 6.0, 14.0, 1e4])
    np.testing.assert_allclose(link.spectral_efficiency(snr), [1.0, 2.0, 3.0, 3.0], rtol=1e-14)
    np.testing.assert_allclose(link.alpha(snr), [1.0, 0.5, 1 / 3, 1 / 3], rtol=1e-14)
    assert float(link.rate_bps(1e6, 6.0)) == pytest.approx(2e6, rel=1e-14)
    # the scalar air-time path of the simulator agrees with the vectorised formula
    rng = np.random.default_rng(0)
    for snr_k in rng.exponential(1e3, 50):
        assert link.airtime_s(1e5, 2e6, snr_k) == pytest.approx(1e5 / float(link.rate_bps(2e6, snr_k)), rel=1e-13)
    with pytest.raises(ValueError, match="gap_db"):
        ShannonLink(-1.0)
    with pytest.raises(ValueError, match="max_spectral_efficiency"):
        ShannonLink(0.0, 0.0)


def test_alpha_is_one_over_link_se_in_plan_and_simulator_with_gap_and_cap() -> None:
    """3 dB gap and a 5 bit/s/Hz cap that binds for the near workers (log2(1 + SNR/2) up to 7.6)."""
    rs = load_scenario(QUICK, [*STATIC, "channel.snr_gap_db=3", "channel.max_spectral_efficiency=5",
                               "rate_allocation.scheme=p1", "compression.scheme=rd-ideal",
                               "rate_allocation.target_distortion=0.2"])
    bw = rs.scenario.channel.uplink_bandwidth_hz
    snr = 10 ** (radio_environment(rs).mean_uplink_snr_db(bw) / 10)
    se = np.log2(1 + snr / 10 ** 0.3)
    assert (se > 5).sum() >= 2 and (se < 5).sum() >= 2  # both branches exercised
    expected = 1 / np.minimum(se, 5.0)

    sim = build_simulation(rs)
    sim.run()
    alloc = sim.allocator.allocate(0, 0.0, 10.0, 1.0)
    np.testing.assert_allclose(alloc.alpha, expected, rtol=1e-13)
    # the simulator charges exactly that cost: TDMA air time of worker k = alpha_k b_k / B
    for e in (e for e in sim.events if e.phase == "upload"):
        w = int(e.actor[6:])
        assert e.end - e.start == pytest.approx(expected[w] * e.bits / bw, rel=1e-12, abs=1e-15)
    plan = plan_scenario(rs)
    np.testing.assert_allclose(plan["alpha_hz_per_bps"], expected, rtol=1e-13)


class FixedBits(Compressor):
    name = "fixed"

    def compress(self, grads, order, ctx) -> CompressionResult:
        k = grads.shape[0]
        return CompressionResult(np.full(k, 2e4), np.zeros(k), grads.mean(axis=0))


def test_tdma_retransmissions_queue_behind_other_workers() -> None:
    k = 4
    net = Network(num_workers=k, worker_flops=np.full(k, 1e9), worker_compute_power_w=np.ones(k),
                  worker_radio_power_w=np.ones(k), server_flops=1e12, decoder_bps=1e9, uplink_bandwidth_hz=1e6,
                  access="tdma", uplink_snr=lambda w, t, r, bw: 3.0, downlink_rate=lambda t, r: 1e7,
                  link=LossyLink(loss=0.5, feedback_s=1e-3))
    sim = Simulation(net, GaussianCEOSource(k, 10, 1.0, 1.0, 1e6, seed=0), FixedBits(), SimOptions(rounds=3), 2)
    sim.run()  # seed 2: losses in every round (the link's draws are keyed by round, worker and upload)
    for r in range(3):
        ups = sorted((e for e in sim.events if e.phase == "upload" and e.round == r), key=lambda e: e.start)
        assert len(ups) > k  # some attempts were lost and repeated
        for a, b in zip(ups, ups[1:]):
            assert b.start >= a.end - 1e-15  # one upload on the band at a time
        # all ready at the same time: first attempts in index order, back to back (0.01 s each at 2 bit/s/Hz)
        assert [int(e.actor[6:]) for e in ups[:k]] == list(range(k))
        t0 = ups[0].start
        np.testing.assert_allclose([e.start - t0 for e in ups[:k]], 0.01 * np.arange(k), atol=1e-12)
        # a retransmission asked 1 ms after its loss, while others held or waited: it went to the back
        assert ups[k].start == pytest.approx(t0 + 0.01 * k, abs=1e-12)
        row = sim.rounds[r]
        assert row["upload_airtime_s"] == pytest.approx(0.01 * len(ups), rel=1e-12)


def test_new_link_model_is_one_file_plus_one_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(link_mod.LINK_MODELS, "lossy", (LossyLinkConfig, LossyLink))  # the one entry
    cfg = TypeAdapter(link_mod.link_config_type()).validate_python({"model": "lossy", "loss": 0.25})
    assert isinstance(cfg, LossyLinkConfig)
    with pytest.raises(ValueError, match="lossy|shannon"):
        TypeAdapter(link_mod.link_config_type()).validate_python({"model": "nr-typo"})

    rs = load_scenario(QUICK, [*STATIC, "rounds=2", "rate_allocation.scheme=p1", "channel.access=fdma"])
    ch = rs.scenario.channel.model_copy(update={"link": cfg})
    rs = dataclasses.replace(rs, scenario=rs.scenario.model_copy(update={"channel": ch}))
    assert isinstance(make_link(rs.scenario.channel), LossyLink)
    sim = build_simulation(rs)
    sim.run()
    assert sum(e.phase == "upload" for e in sim.events) > 2 * 10  # retransmissions happened
    bw = rs.scenario.channel.uplink_bandwidth_hz
    snr = 10 ** (radio_environment(rs).mean_uplink_snr_db(bw) / 10)
    alpha = 1 / (0.75 * np.log2(1 + snr))
    np.testing.assert_allclose(sim.allocator.allocate(0, 0.0, 10.0, 1.0).alpha, alpha, rtol=1e-13)
    np.testing.assert_allclose(plan_scenario(rs, D=0.2)["alpha_hz_per_bps"], alpha, rtol=1e-13)
