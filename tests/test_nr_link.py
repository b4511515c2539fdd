"""NRLink behind the LinkModel interface: alpha = 1/SE of the chosen MCS with the HARQ factor,
the same alpha in plan and simulator, HARQ passes on the SimPy timeline with hand-checked times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import simpy

from edgefl.planning import plan_scenario
from edgefl.radio.link_registry import make_link
from edgefl.radio.nr import failure_probabilities, select_mcs, snr_thresholds_db
from edgefl.radio.nr_config import NRLinkConfig
from edgefl.radio.nr_link import NRLink
from edgefl.scenario import load_scenario
from edgefl.sim.build import build_simulation, radio_environment

QUICK = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
STATIC = ["channel.fading.model=none", "workers.compute_jitter=0", "gradients.params=2000", "rounds=1",
          "output.plots=false", "channel.link.model=nr"]


def test_alpha_is_one_over_the_chosen_mcs_se_without_retransmissions():
    cfg = NRLinkConfig(table="mcs2", overhead=0.08)
    link = NRLink(cfg)
    th = snr_thresholds_db(cfg)
    snr = 10 ** ((th[20] + 0.05) / 10)  # just above MCS 20's threshold, below MCS 21's
    assert th[21] > th[20] + 0.05
    # BLER at the chosen MCS <= 10 %: E[N] = 1 + q_1 + ... is close to but above 1
    q = failure_probabilities(cfg, 20, np.full(cfg.max_harq, snr))
    n_tx = (1 + q[:-1].sum()) / (1 - q[-1])
    assert 1.05 < n_tx < 1.11
    assert float(link.alpha(np.array([snr]))[0]) == pytest.approx(n_tx / (5.3320 * 0.92), rel=1e-12)
    assert float(link.alpha(np.array([1e6]))[0]) == pytest.approx(1 / (7.4063 * 0.92), rel=1e-9)


def test_alpha_includes_the_harq_factor_below_mcs0():
    cfg = NRLinkConfig(harq="chase", bler_slope_per_db=2.0)
    snr = 10 ** ((snr_thresholds_db(cfg)[0] - 3.0) / 10)
    q = failure_probabilities(cfg, 0, np.full(cfg.max_harq, snr))
    n_tx = (1 + q[0] + q[1] + q[2]) / (1 - q[3])
    assert n_tx > 1.5
    assert float(NRLink(cfg).alpha(np.array([snr]))[0]) == pytest.approx(n_tx / (0.2344 * 0.92), rel=1e-12)


def test_plan_and_simulator_use_the_nr_alpha():
    rs = load_scenario(QUICK, [*STATIC, "rate_allocation.scheme=p1", "compression.scheme=rd-ideal",
                               "rate_allocation.target_distortion=0.2"])
    link = make_link(rs.scenario.channel)
    assert isinstance(link, NRLink)
    bw = rs.scenario.channel.uplink_bandwidth_hz
    snr = 10 ** (radio_environment(rs).mean_uplink_snr_db(bw) / 10)
    cfg = rs.scenario.channel.link
    rows = select_mcs(cfg, snr)
    assert len(set(rows.tolist())) >= 3  # workers at different MCSs
    expected = np.array([(1 + (q := failure_probabilities(cfg, int(m), np.full(4, s)))[:-1].sum()) / (1 - q[-1])
                         / (cfg.mcs_table.spectral_efficiency[m] * 0.92) for m, s in zip(rows, snr)])
    sim = build_simulation(rs)
    sim.run()
    np.testing.assert_allclose(sim.allocator.allocate(0, 0.0, 10.0, 1.0).alpha, expected, rtol=1e-12)
    np.testing.assert_allclose(plan_scenario(rs)["alpha_hz_per_bps"], expected, rtol=1e-12)


def _play(link, uploads, tdma=True):
    """uploads: list of (bits, snr); all ask for the band at t=0 in list order. Returns outcomes."""
    env = simpy.Environment()
    channel = simpy.Resource(env, capacity=1) if tdma else None
    procs = [env.process(link.upload(env, channel, bits, 1e6, lambda t, s=snr: s, np.random.default_rng(i)))
             for i, (bits, snr) in enumerate(uploads)]
    env.run()
    return [p.value for p in procs]


def test_harq_passes_on_the_timeline_match_the_hand_formula():
    cfg = NRLinkConfig(harq="chase", bler_slope_per_db=30.0, harq_rtt_s=2e-3, overhead=0.1,
                       transport_block_bits=1000)
    snr_bad = 10 ** ((snr_thresholds_db(cfg)[0] - 4.0) / 10)  # decoded on the 3rd chase copy
    (out,) = _play(NRLink(cfg), [(5000.0, snr_bad)], tdma=False)
    t1 = 5000.0 / (1e6 * 0.2344 * 0.9)
    assert out.attempts == 3 and out.delivered
    assert out.airtime_s == pytest.approx(3 * t1, rel=1e-12)
    assert out.end == pytest.approx(3 * t1 + 2 * 2e-3, rel=1e-12)
    assert [iv[0] for iv in out.intervals] == pytest.approx([0.0, t1 + 2e-3, 2 * t1 + 4e-3], rel=1e-12)
    assert out.bits_on_air == 15000.0


def test_tdma_retransmission_queues_behind_an_upload_that_took_the_band_during_the_rtt():
    cfg = NRLinkConfig(harq="chase", bler_slope_per_db=30.0, harq_rtt_s=1e-3, overhead=0.0,
                       transport_block_bits=1000)
    snr_bad = 10 ** ((snr_thresholds_db(cfg)[0] - 4.0) / 10)
    a, b = _play(NRLink(cfg), [(2000.0, snr_bad), (50_000.0, 1e3)])
    ta = 2000.0 / (1e6 * 0.2344)
    tb = 50_000.0 / (1e6 * cfg.mcs_table.spectral_efficiency[int(select_mcs(cfg, 1e3))])
    assert tb > 1e-3 and b.attempts == 1
    assert b.intervals[0][:2] == pytest.approx((ta, ta + tb), rel=1e-12)  # B used the band during A's RTT
    starts = [iv[0] for iv in a.intervals]
    assert starts == pytest.approx([0.0, ta + tb, 2 * ta + tb + 1e-3], rel=1e-12)


def test_a_deep_fade_loses_the_upload_after_the_rlc_limit():
    cfg = NRLinkConfig(harq="chase", max_harq=2, max_rlc_retx=1, bler_slope_per_db=30.0)
    (out,) = _play(NRLink(cfg), [(100.0, 10 ** ((snr_thresholds_db(cfg)[0] - 10.0) / 10))], tdma=False)
    assert not out.delivered and out.attempts == 4
