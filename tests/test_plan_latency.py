"""`edgefl plan --percentiles/--deadline/--coverage` against brute force with `edgefl run`.

With fading off and no straggler jitter every round of a run has the same latency, so the
planner's percentiles are that latency and its searches must agree with a brute-force scan of
`edgefl run` over the searched variable, to the search's resolution. With fading on, the
planner's percentiles agree with the empirical percentiles of a long run (same distribution,
different draws) within the sampling error.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.planning.coverage import edge_positions, max_radius
from edgefl.planning.deadline import max_workers, min_bandwidth
from edgefl.planning.latency import draw, round_latency, round_model
from edgefl.planning.percentiles import latency_percentiles
from edgefl.planning.search import boundary, largest_int
from edgefl.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "quickstart.yaml"
# uncoded gradients make the uplink a large part of the round, so K, B and R all matter
STEADY = ["gradients.params=20000", "compression.scheme=none", "channel.fading.model=none",
          "workers.compute_jitter=0", "output.plots=false", "output.timeline=false"]
RUNNER = CliRunner()


def _run_latencies(tmp_path: Path, overrides: list[str], scenario: Path = QUICK) -> np.ndarray:
    """Round latencies of `edgefl run` (the CLI command)."""
    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    args = ["run", str(scenario), "-o", str(out), "--no-progress"]
    for o in overrides:
        args += ["--set", o]
    res = RUNNER.invoke(app, args)
    assert res.exit_code == 0, res.output
    with open(out / "rounds.csv") as f:
        return np.array([float(r["latency_s"]) for r in csv.DictReader(f)])


def _steady_latency(tmp_path: Path, overrides: list[str], scenario: Path = QUICK) -> float:
    lat = _run_latencies(tmp_path, [*STEADY, "rounds=2", *overrides], scenario)
    assert np.ptp(lat) < 1e-12 * lat[0]
    return float(lat[0])


@pytest.mark.parametrize("access", ["tdma", "fdma"])
def test_percentiles_without_fading_equal_the_run(tmp_path: Path, access: str) -> None:
    ov = [*STEADY, f"channel.access={access}"]
    rep = latency_percentiles(load_scenario(QUICK, ov), draws=50)
    run = _steady_latency(tmp_path, [f"channel.access={access}"])
    for q in ("p50", "p95", "p99", "mean"):
        assert rep["round_latency_s"][q] == pytest.approx(run, rel=1e-12)
    assert rep["scheme"] == "none" and rep["allocation"] == "equal" and rep["access"] == access


def test_percentiles_with_fading_match_a_long_run(tmp_path: Path) -> None:
    ov = ["gradients.params=3000", "compression.scheme=none", "workers.compute_jitter=0.2"]
    rep = latency_percentiles(load_scenario(QUICK, ov), draws=4000)["round_latency_s"]
    lat = _run_latencies(tmp_path, [*ov, "rounds=400", "output.plots=false", "output.timeline=false"])
    emp = {f"p{q}": float(np.percentile(lat, q)) for q in (50, 95)}
    # 400 rounds: the empirical p50/p95 carry a few per cent of sampling error
    assert rep["p50"] == pytest.approx(emp["p50"], rel=0.03)
    assert rep["p95"] == pytest.approx(emp["p95"], rel=0.05)
    assert rep["p50"] < rep["p95"] < rep["p99"]


@pytest.mark.parametrize("access", ["tdma", "fdma"])
def test_max_workers_equals_brute_force_over_runs(tmp_path: Path, access: str) -> None:
    ks = range(1, 9)
    run = {k: _steady_latency(tmp_path, [f"workers.count={k}", f"channel.access={access}"]) for k in ks}
    assert all(run[k] <= run[k + 1] for k in range(1, 8))
    ov = [*STEADY, f"channel.access={access}"]
    for lo_k in (2, 5, 7):  # deadlines half-way between two brute-force latencies
        t = 0.5 * (run[lo_k] + run[lo_k + 1])
        brute = max(k for k in ks if run[k] <= t)
        rep = max_workers(lambda k: load_scenario(QUICK, [*ov, f"workers.count={k}"]), t, draws=20, k_limit=8)
        assert rep["max_workers"] == brute == lo_k
        assert rep["p95_at_max_s"] == pytest.approx(run[lo_k], rel=1e-12)
    below = max_workers(lambda k: load_scenario(QUICK, [*ov, f"workers.count={k}"]), 0.5 * run[1], draws=5)
    assert below["max_workers"] == 0


@pytest.mark.parametrize("access", ["tdma", "fdma"])
def test_min_bandwidth_agrees_with_runs_to_the_resolution(tmp_path: Path, access: str) -> None:
    ov = [*STEADY, f"channel.access={access}"]
    base = _steady_latency(tmp_path, [f"channel.access={access}"])
    t = base * 1.3  # the scenario's 20 MHz meets it; how low can B go?
    rep = min_bandwidth(load_scenario(QUICK, ov), t, draws=10, rel_resolution=1e-3)
    lo, hi = rep["bracket_hz"]
    assert rep["min_uplink_bandwidth_hz"] == hi and hi / lo <= 1.001 + 1e-12 and hi < 20e6
    assert _steady_latency(tmp_path, [f"channel.access={access}", f"channel.uplink_bandwidth_hz={hi!r}"]) <= t
    assert _steady_latency(tmp_path, [f"channel.access={access}", f"channel.uplink_bandwidth_hz={lo!r}"]) > t
    for b in np.geomspace(hi / 4, hi * 4, 6):  # brute-force grid: monotone with the cut at B*
        meets = _steady_latency(tmp_path, [f"channel.access={access}",
                                           f"channel.uplink_bandwidth_hz={float(b)!r}"]) <= t
        assert meets == (b >= hi)


def test_min_bandwidth_says_when_no_bandwidth_is_enough() -> None:
    rep = min_bandwidth(load_scenario(QUICK, STEADY), 1e-3, draws=5)
    assert rep["min_uplink_bandwidth_hz"] is None and "not met" in rep["reason"]


def _edge_scenario(tmp_path: Path, radius_m: float) -> Path:
    """quickstart with its workers on the circle of ``radius_m`` (explicit placement)."""
    rs = load_scenario(QUICK, STEADY)
    data = yaml.safe_load(QUICK.read_text())
    pos = edge_positions(rs, radius_m)
    data["workers"]["placement"] = {"layout": "explicit", "positions_m": pos.tolist()}
    path = tmp_path / f"edge_{radius_m!r}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_coverage_agrees_with_runs_at_the_edge(tmp_path: Path) -> None:
    base = _steady_latency(tmp_path, [])
    t = base * 1.5
    rep = max_radius(load_scenario(QUICK, STEADY), t, draws=10, rel_resolution=1e-3)
    lo, hi = rep["bracket_m"]
    assert rep["max_radius_m"] == lo and hi / lo <= 1.001 + 1e-12
    assert _steady_latency(tmp_path, [], _edge_scenario(tmp_path, lo)) <= t
    assert _steady_latency(tmp_path, [], _edge_scenario(tmp_path, hi)) > t
    for r in np.geomspace(lo / 3, lo * 3, 6):
        assert (_steady_latency(tmp_path, [], _edge_scenario(tmp_path, float(r))) <= t) == (r <= lo)
    # the scenario's own random disc placement sits inside the radius, so it meets the deadline too
    assert base <= t and rep["worst_worker"].startswith("every worker at the cell edge")


def test_searches_on_known_functions() -> None:
    assert largest_int(lambda n: n <= 37) == 37
    assert largest_int(lambda n: n <= 0) == 0
    assert largest_int(lambda n: True, limit=100) == 100
    lo, hi = boundary(lambda x: x < 3.7, 1.0, 1e-3, 1e6, 1e-6)
    assert lo < 3.7 <= hi and hi / lo <= 1 + 1e-6
    lo, hi = boundary(lambda x: x >= 123.0, 1e4, 1.0, 1e9, 1e-4)
    assert lo < 123.0 <= hi
    assert boundary(lambda x: True, 1.0, 1.0, 10.0, 1e-3) is None


def test_draws_are_seeded_and_nested_in_k() -> None:
    m5 = round_model(load_scenario(QUICK, ["gradients.params=100", "workers.count=5"]))
    m3 = round_model(load_scenario(QUICK, ["gradients.params=100", "workers.count=3"]))
    d5, d3 = draw(m5, 30), draw(m3, 30)
    np.testing.assert_array_equal(d5.ul_gain[:, :3], d3.ul_gain)
    np.testing.assert_array_equal(round_latency(m5, d5), round_latency(m5, draw(m5, 30)))
    assert d5.ul_gain.mean() == pytest.approx(1.0, abs=0.3)  # unit-mean Rayleigh power


def test_unsupported_scheme_is_named() -> None:
    rs = load_scenario(QUICK, ["compression.scheme=dsc", "gradients.params=100"])
    with pytest.raises(ScenarioError, match="compression.scheme"):
        round_model(rs)


def test_cli_plan_answers_json(tmp_path: Path) -> None:
    res = RUNNER.invoke(app, ["plan", str(QUICK), "--set", "gradients.params=500", "--percentiles", "--method",
                              "draws", "--deadline", "0.19", "--coverage", "--draws", "20", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert set(rep) == {"scenario", "method", "percentiles", "max_workers", "min_bandwidth", "coverage"}
    for key in ("percentiles", "max_workers", "min_bandwidth", "coverage"):
        assert rep[key]["scheme"] == "signsgd" and rep[key]["allocation"] == "equal"
    bad = RUNNER.invoke(app, ["plan", str(QUICK), "--coverage", "--method", "draws"])
    assert bad.exit_code == 2 and "--deadline" in bad.output
