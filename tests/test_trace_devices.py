"""workers.trace in a scenario: compute runs at the trace's speed factor, a worker outside its
availability window starts its local work when the window opens (hand-checked times)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sim.build import build_simulation

QUICK = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
TRACE = "devices/traces/example_availability.csv"
SETS = [f"workers.trace={TRACE}", "workers.count=4", "rounds=2", "gradients.params=2000",
        "workers.compute_jitter=0", "channel.fading.model=none"]


def test_speed_factor_and_availability_window_on_the_timeline():
    rs = load_scenario(QUICK, SETS)
    sim = build_simulation(rs)
    sim.run()
    flops = sim.source.flops_per_gradient / rs.worker_devices[0].flops_per_s  # seconds at speed 1
    comp = {(e.round, e.actor): e for e in sim.events if e.phase == "compute"}
    t_bc = next(e for e in sim.events if e.phase == "broadcast" and e.round == 0).end
    # trace at t ~ 0: worker0 speed 1.0, worker1 1.0, worker2 unavailable until 10 s (then 0.7), worker3 1.2
    for w, speed in ((0, 1.0), (1, 1.0), (3, 1.2)):
        e = comp[(0, f"worker{w}")]
        assert e.start == pytest.approx(t_bc, abs=1e-12)
        assert e.end - e.start == pytest.approx(flops / speed, rel=1e-12)
    e2 = comp[(0, "worker2")]
    assert e2.start == 10.0 and e2.end - e2.start == pytest.approx(flops / 0.7, rel=1e-12)
    assert sim.rounds[0]["latency_s"] > 10.0
    # the wait is idle time: energy is charged at the idle draw, not the compute draw
    assert sim.rounds[0]["energy_idle_j"] > 2.7 * 9.9


def test_device_trace_errors_name_the_field():
    with pytest.raises(ScenarioError, match=r"workers\.trace.*no rows for worker\(s\) \[4, 5\]"):
        build_simulation(load_scenario(QUICK, [*SETS[:1], "workers.count=6"]))
    rs = load_scenario(QUICK, [*SETS, f"workers.trace={{file: {TRACE}, wrap: true}}"])
    assert (rs.scenario.workers.trace.file, rs.scenario.workers.trace.wrap) == (TRACE, True)
    with pytest.raises(ScenarioError, match=r"workers\.trace"):
        load_scenario(QUICK, [*SETS, f"workers.trace={{file: {TRACE}, loop: true}}"])
