"""Schemes that need every upload are refused where uploads can be dropped (a round deadline, a
link that gives up), at build time and naming the field; under a deadline the workers' compute
energy is charged for exactly the local work the timeline shows before the deadline."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sim.build import build_simulation

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("overrides, field", [
    (["round_deadline_s=0.1"], "round_deadline_s"),
    (["channel.link.model=nr"], "channel.link.model"),
])
def test_scheme_needing_every_upload_is_refused_where_uploads_drop(overrides: list[str], field: str) -> None:
    rs = load_scenario(ROOT / "scenarios" / "convex_iade.yaml", ["rounds=2", *overrides])
    with pytest.raises(ScenarioError, match=f"{field}.*needs every worker's upload"):
        build_simulation(rs)


def test_compute_energy_under_a_deadline_equals_the_timeline() -> None:
    rs = load_scenario(ROOT / "scenarios" / "partial_participation.yaml",
                       ["rounds=6", "round_deadline_s=0.012", "workers.compute_jitter=1.0"])
    sim = build_simulation(rs)
    sim.run()
    power = rs.worker_devices[0].compute_power_w  # one device class for every worker
    cut = 0
    for row in sim.rounds:
        local = sum(e.end - e.start for e in sim.events
                    if e.round == row["round"] and e.phase in ("compute", "encode"))
        assert row["energy_compute_j"] == pytest.approx(power * local, rel=1e-9)
        cut += row["dropped"]
    assert cut > 0  # the deadline did cut local work or uploads


@pytest.mark.slow  # 10^7 rate-controller samples make the rate control outlast the broadcast (~10 s)
def test_encode_waiting_for_rates_is_not_charged_as_busy_before_the_deadline() -> None:
    """Encoding starts when the rates arrive (t_rc = 10.65 ms here), long after the compute ends
    (0.26 ms); a deadline in the middle of the encoding charges compute + half the encode, not the
    whole time from the broadcast to the deadline."""
    rs = load_scenario(ROOT / "scenarios" / "quickstart.yaml", [
        "rounds=1", "compression.scheme=dsc", "compression.mc_samples=10000000", "gradients.params=2400",
        "gradients.flops_per_gradient=1000", "workers.compute_jitter=0", "server.profile=edge_server_cpu",
        "channel.downlink_bandwidth_hz=1e10", "round_deadline_s=0.0106516"])
    sim = build_simulation(rs)
    sim.run()
    row = sim.rounds[0]
    ev = [e for e in sim.events if e.phase in ("compute", "encode")]
    enc = [e for e in ev if e.phase == "encode"]
    assert enc and all(e.end == pytest.approx(0.0106516) for e in enc)  # cut at the deadline
    power = rs.worker_devices[0].compute_power_w
    assert row["energy_compute_j"] == pytest.approx(power * sum(e.end - e.start for e in ev), rel=1e-9)


@pytest.mark.parametrize("scheme", ["ef-signsgd", "topk"])
def test_error_feedback_keeps_what_a_dropped_upload_never_delivered(scheme: str) -> None:
    """Karimireddy et al. 2019, Alg. 2: e_w <- p - C(p) only for what the server applied; a dropped
    upload applied nothing, so the worker's next corrected vector is g + p (p = its last one)."""
    import numpy as np

    from edgefl.compress.base import RoundContext
    from edgefl.compress.registry import SCHEMES, make_compressor

    cfg_cls, _ = SCHEMES[scheme]
    comp = make_compressor(cfg_cls(scheme=scheme))
    rng = np.random.default_rng(0)
    g0, g1 = rng.standard_normal((3, 50)), rng.standard_normal((3, 50))
    workers = np.array([4, 7, 9])
    ctx = RoundContext(round=0, rng=np.random.default_rng(1), workers=workers)
    comp.compress(g0, np.arange(3), ctx)
    p0 = {w: comp.feedback.memory[w] + 0.0 for w in workers.tolist()}  # e_w = p - C(p), p = g0 (round 0)
    comp.uploads_dropped(np.array([0, 2]))  # worker 7 (row 1) missed the deadline
    assert np.array_equal(comp.feedback.memory[7], g0[1])
    for w, row in ((4, 0), (9, 2)):
        assert np.array_equal(comp.feedback.memory[w], p0[w])
    np.testing.assert_array_equal(comp.feedback.corrected(7, g1[1]), g1[1] + g0[1])
