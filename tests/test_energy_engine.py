"""Energy in the engine: rounds.csv components sum to the total and equal the hand formula built
from the timeline intervals and the device profiles; batteries report dropouts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from edgefl.scenario import load_scenario
from edgefl.sim.build import build_simulation
from edgefl.sim.engine import Simulation

QUICK = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
STATIC = ["channel.fading.model=none", "workers.compute_jitter=0", "gradients.params=2400", "rounds=2",
          "output.plots=false", "compression.scheme=dsc", "fidelity=bit-true"]


def test_energy_components_match_hand_formula_on_a_static_scenario():
    rs = load_scenario(QUICK, STATIC)
    sim = build_simulation(rs)
    sim.run()
    k = rs.scenario.workers.count
    # raspberry_pi_4 profile: compute 6.4 W, TX 5.2 W, RX 4.0 W, idle 2.7 W; 588 Gb/s ASIC 22.7 pJ/bit, 180 W CPU
    for row in sim.rounds:
        r = row["round"]
        ev = [e for e in sim.events if e.round == r]
        dur = {}
        for e in ev:
            dur[(e.actor, e.phase)] = dur.get((e.actor, e.phase), 0.0) + (e.end - e.start)
        t_bc = dur[("server", "broadcast")]
        comp = np.array([dur.get((f"worker{w}", "compute"), 0) + dur.get((f"worker{w}", "encode"), 0)
                         for w in range(k)])
        air = np.array([dur.get((f"worker{w}", "upload"), 0) for w in range(k)])
        idle = row["latency_s"] - comp - air - t_bc
        assert row["energy_compute_j"] == pytest.approx(6.4 * comp.sum(), rel=1e-9)
        assert row["energy_transmit_j"] == pytest.approx(5.2 * air.sum(), rel=1e-9)
        assert row["energy_receive_j"] == pytest.approx(4.0 * k * t_bc, rel=1e-9)
        assert row["energy_idle_j"] == pytest.approx(2.7 * idle.sum(), rel=1e-9)
        parts = ("energy_compute_j", "energy_transmit_j", "energy_receive_j", "energy_idle_j")
        assert row["worker_energy_j"] == pytest.approx(sum(row[p] for p in parts), rel=1e-12)
        server_s = dur[("server", "aggregate")] + dur.get(("server", "rate_control"), 0.0)
        assert row["server_compute_energy_j"] == pytest.approx(180.0 * server_s, rel=1e-9)
        assert row["decode_bits_total"] > 0
        assert row["server_decoder_energy_j"] == pytest.approx(22.7e-12 * row["decode_bits_total"], rel=1e-12)
        assert row["uploads_lost"] == 0 and row["battery_dropouts"] == 0


def test_battery_dropout_is_reported_in_the_round_that_empties_it():
    rs = load_scenario(QUICK, [*STATIC, "rounds=4"])
    base = build_simulation(rs)
    k = base.net.num_workers
    en = base.net.energy
    # worker 0 holds ~1.5 rounds of energy, worker 1 ~2.5, the rest are mains powered
    probe = Simulation(base.net, base.source, base.compressor, base.opt, 0)
    probe.run()
    per_round = probe.rounds[0]["worker_energy_j"] / k  # workers are alike on a static channel within ~10 %
    cap = np.full(k, np.nan)
    cap[0], cap[1] = 1.5 * per_round, 2.5 * per_round
    net = dataclasses.replace(base.net, energy=dataclasses.replace(en, battery_capacity_j=cap))
    rs2 = load_scenario(QUICK, [*STATIC, "rounds=4"])
    sim = Simulation(net, build_simulation(rs2).source, base.compressor, base.opt, 0)
    sim.run()
    assert [row["battery_dropouts"] for row in sim.rounds] == [0, 1, 1, 0]
    assert sim.batteries.alive().tolist() == [False, False] + [True] * (k - 2)


def test_exhausted_workers_take_no_further_part():
    """A worker whose battery ran out is not sampled again (issue 13 item 4), and a run whose
    workers are all exhausted stops with a clear error."""
    rs = load_scenario(QUICK, [*STATIC, "rounds=4"])
    base = build_simulation(rs)
    k = base.net.num_workers
    probe = Simulation(base.net, base.source, base.compressor, base.opt, 0)
    probe.run()
    per_round = probe.rounds[0]["worker_energy_j"] / k
    cap = np.full(k, np.nan)
    cap[0], cap[1] = 1.5 * per_round, 2.5 * per_round
    net = dataclasses.replace(base.net, energy=dataclasses.replace(base.net.energy, battery_capacity_j=cap))
    sim = Simulation(net, build_simulation(load_scenario(QUICK, [*STATIC, "rounds=4"])).source,
                     base.compressor, base.opt, 0)
    sim.run()
    assert [row["participants"] for row in sim.rounds] == [k, k, k - 1, k - 2]
    actors = {(e.round, e.actor) for e in sim.events}
    assert (2, "worker0") not in actors and (3, "worker0") not in actors and (3, "worker1") not in actors
    assert (2, "worker1") in actors

    net = dataclasses.replace(base.net, energy=dataclasses.replace(
        base.net.energy, battery_capacity_j=np.full(k, 0.5 * per_round)))
    sim = Simulation(net, build_simulation(load_scenario(QUICK, [*STATIC, "rounds=4"])).source,
                     base.compressor, base.opt, 0)
    with pytest.raises(RuntimeError, match="round 1: every worker's battery is exhausted"):
        sim.run()
    assert len(sim.rounds) == 1
