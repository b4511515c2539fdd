"""Rate allocation in the simulator: equal vs P1 (RD paper eq. 20) with the ideal CEO coder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sim.build import build_simulation
from edgefl.theory import r_sum

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
STATIC = ["fading.model=none", "correlation.kind=block_round"]


def simulate(*sets: str):
    rs = load_scenario(QUICKSTART, ["gradients.params=20000", "rounds=3", "compression.scheme=rd-ideal",
                                    "rate_allocation.target_distortion=0.2", "workers.compute_jitter=0", *sets])
    sim = build_simulation(rs)
    sim.run()
    return sim, rs


@pytest.mark.parametrize("scheme", ["equal", "p1"])
def test_ideal_coder_meets_target_distortion(scheme: str) -> None:
    sim, _ = simulate(f"rate_allocation.scheme={scheme}", "rounds=6")
    d = np.mean([r["distortion_x"] for r in sim.rounds])
    # estimator (29): unbiased with variance 1/sum z = D; 6 x 20000 samples -> ~0.3% std error
    assert d == pytest.approx(0.2, rel=0.02)


def test_equal_allocation_sends_r_sum_over_k() -> None:
    sim, rs = simulate("rate_allocation.scheme=equal")
    expected = r_sum(10, 10.0, 1.0, 0.2) / 10 * 20000
    assert sim.rounds[0]["bits_per_worker_min"] == pytest.approx(expected, rel=1e-12)
    assert sim.rounds[0]["bits_per_worker_max"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_p1_airtime_not_above_equal_on_heterogeneous_snr(seed: int) -> None:
    """Static channels: TDMA airtime = sum_k alpha_k b_k / B exactly, which P1 minimises."""
    sets = [f"seed={seed}", *(f"channel.{s}" for s in STATIC), "workers.placement.radius_m=400"]
    p1, rs = simulate("rate_allocation.scheme=p1", *sets)
    eq, _ = simulate("rate_allocation.scheme=equal", *sets)
    for a, b in zip(p1.rounds, eq.rounds):
        assert a["upload_airtime_s"] <= b["upload_airtime_s"] * (1 + 1e-9)
    # and the airtime is the P1 objective: sum alpha_k R_k P / B
    alloc = p1.allocator.allocate(0, 0.0, 10.0, 1.0)
    bw = rs.scenario.channel.uplink_bandwidth_hz
    assert p1.rounds[0]["upload_airtime_s"] == pytest.approx(
        float(np.sum(alloc.alpha * alloc.rates_bits)) * 20000 / bw, rel=1e-9)


def test_p1_decodes_cheapest_worker_first_and_alpha_matches_snr() -> None:
    sim, rs = simulate("rate_allocation.scheme=p1", *(f"channel.{s}" for s in STATIC))
    alloc = sim.allocator.allocate(0, 0.0, 10.0, 1.0)
    bw = rs.scenario.channel.uplink_bandwidth_hz
    snr = 10 ** (sim_radio_snr_db(rs, bw) / 10)
    np.testing.assert_allclose(alloc.alpha, 1 / np.minimum(np.log2(1 + snr), 7.4063), rtol=1e-12)  # link SE, cap incl.
    ups = sorted((e for e in sim.events if e.phase == "upload" and e.round == 0), key=lambda e: e.start)
    # cheapest first; workers 1 and 6 hit the 7.4063 bit/s/Hz cap and tie on alpha
    assert np.all(np.diff(alloc.alpha[[int(e.actor[6:]) for e in ups]]) >= 0)


def sim_radio_snr_db(rs, bw: float) -> np.ndarray:
    from edgefl.sim.build import radio_environment

    return radio_environment(rs).mean_uplink_snr_db(bw)


def test_fdma_p1_shares_end_uploads_together() -> None:
    sim, _ = simulate("rate_allocation.scheme=p1", "channel.access=fdma", *(f"channel.{s}" for s in STATIC))
    ends = [e.end for e in sim.events if e.phase == "upload" and e.round == 0 and e.bits > 0]
    assert max(ends) - min(ends) < 1e-9 * max(ends)


def test_unachievable_distortion_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="sigma_n2 / K"):
        load_scenario(QUICKSTART, ["rate_allocation.target_distortion=0.05"])  # sigma_n2/K = 0.1
    with pytest.raises(ScenarioError, match="needs rate_allocation.target_distortion"):
        load_scenario(QUICKSTART, ["compression.scheme=rd-ideal"])
