"""`edgefl bound` and `edgefl plan`, and plan's round latency against the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.planning import plan_scenario
from edgefl.scenario import load_scenario
from edgefl.sim.build import build_simulation
from edgefl.theory import r_in, r_sum

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
runner = CliRunner()


def test_bound_json_keys_and_values() -> None:
    res = runner.invoke(app, ["bound", "--K", "10", "--sigma-x2", "10", "--sigma-n2", "1", "--D", "0.2",
                              "--params", "1000", "--A", "1", "--beta", "0.5", "--eps", "0.1", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["R_sum_bits"] == pytest.approx(r_sum(10, 10, 1, 0.2))
    assert rep["R_in_bits"] == pytest.approx(r_in(10, 10, 1, 0.2))
    assert rep["gain_bits"] == pytest.approx(rep["R_in_bits"] - rep["R_sum_bits"])
    assert rep["R_sum_bits_total"] == pytest.approx(1000 * rep["R_sum_bits"])
    assert {"T_bound", "total_cost_bits"} <= rep.keys()


def test_bound_rejects_infeasible_distortion() -> None:
    res = runner.invoke(app, ["bound", "--K", "10", "--sigma-x2", "10", "--sigma-n2", "1", "--D", "0.05"])
    assert res.exit_code != 0 and "error" in res.output


def test_plan_prints_table_and_json() -> None:
    res = runner.invoke(app, ["plan", str(QUICKSTART), "--D", "0.2"])
    assert res.exit_code == 0, res.output
    assert "P1 vs equal" in res.output and "alpha" in res.output
    res = runner.invoke(app, ["plan", str(QUICKSTART), "--D", "0.2", "--json"])
    rep = json.loads(res.output)
    assert rep["schemes"]["p1"]["latency_s"] <= rep["schemes"]["equal"]["latency_s"]
    assert len(rep["alpha_hz_per_bps"]) == 10
    res = runner.invoke(app, ["plan", str(QUICKSTART), "--json"])  # D defaults to signSGD's distortion
    assert res.exit_code == 0, res.output
    from edgefl.theory import signsgd_distortion

    rep = json.loads(res.output)
    assert rep["D_source"] == "signsgd" and rep["D"] == pytest.approx(signsgd_distortion(10, 10.0, 1.0))


@pytest.mark.parametrize("link", ["shannon", "nr"])
@pytest.mark.parametrize("engine", ["simpy", "fast"])
@pytest.mark.parametrize("scheme,access", [("p1", "tdma"), ("equal", "tdma"), ("uncoded", "tdma"), ("p1", "fdma"),
                                           ("equal", "fdma"), ("uncoded", "fdma")])
def test_plan_round_latency_matches_simulator(scheme: str, access: str, engine: str, link: str) -> None:
    """Static channel, no stragglers: a run of the scenario with the row's coder and allocation (SimPy,
    the reference, and the vectorised path) plays out exactly the planned round, every phase
    included (rate control, encoding, decoding, aggregation; NR: its HARQ passes), with the plan's bits."""
    sets = ["channel.fading.model=none", f"channel.access={access}", f"channel.link.model={link}",
            "workers.compute_jitter=0", "rate_allocation.target_distortion=0.2", "rounds=1", "gradients.params=5000",
            "output.timeline=false"]
    rep = plan_scenario(load_scenario(QUICKSTART, sets))
    coder = ["compression.scheme=none"] if scheme == "uncoded" else [
        "compression.scheme=rd-ideal", f"rate_allocation.scheme={scheme}"]
    sim = build_simulation(load_scenario(QUICKSTART, [*sets, *coder]), engine)
    assert sim.engine_path == engine
    sim.run()
    row, planned = sim.rounds[0], rep["schemes"][scheme]
    assert row["bits_total"] == pytest.approx(planned["bits_per_round"], rel=1e-12)
    assert row["latency_s"] == planned["round_latency_s"]
    assert row["broadcast_s"] == pytest.approx(rep["broadcast_s"], rel=1e-12)


def test_plan_without_gradient_statistics_names_the_field() -> None:
    """The convex test bed (no sigma_x2 of its own) needs the statistics the server assumes: exit 2."""
    convex = QUICKSTART.parent / "convex_iade.yaml"
    res = runner.invoke(app, ["plan", str(convex)])
    assert res.exit_code == 2 and "rate_allocation.initial_sigma_x2" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["plan", str(convex), "--set", "rate_allocation.initial_sigma_x2=1", "--set",
                              "rate_allocation.initial_sigma_n2=0.1", "--D", "0.1", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["sigma_x2"] == 1.0
