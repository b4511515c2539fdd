"""Coverage is an answer (issue 20 item 5): workers below the link's lowest MCS at their mean SNR are
left out of every round and reported (workers.csv, summary.json, study tables); ``error`` refuses."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.radio.nr import snr_thresholds_db
from edgefl.radio.nr_config import NRLinkConfig
from edgefl.runner import run_scenario
from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sim.build import build_simulation, out_of_coverage, radio_environment
from edgefl.sim.coverage import CoverageWarning
from edgefl.sweep.tables import coverage_fraction

ROOT = Path(__file__).resolve().parents[1]
NR_CELL = ROOT / "scenarios" / "nr_cell.yaml"
CELL_1000 = ["workers.count=1000", "workers.per_round=50", "channel.trace=null", "workers.trace=null",
             "rounds=2", "gradients.params=1000", "output.plots=false"]


def test_a_1000_worker_nr_cell_runs_without_its_out_of_coverage_workers(tmp_path: Path) -> None:
    rs = load_scenario(NR_CELL, CELL_1000)
    # independent: the mean SNRs of the placement against x_0, MCS 0 at the 10 % BLER target
    radio = radio_environment(rs)
    ch = rs.scenario.channel
    x0 = snr_thresholds_db(NRLinkConfig())[0]
    below = (radio.mean_uplink_snr_db(ch.uplink_bandwidth_hz) < x0) | \
        (radio.mean_downlink_snr_db(ch.downlink_bandwidth_hz) < x0)
    expect = np.flatnonzero(below)
    assert 0 < expect.size < 100  # a few of 1000 at 200 m
    cov = out_of_coverage(rs)
    np.testing.assert_array_equal(cov.out_ids, expect)
    with pytest.warns(CoverageWarning, match=rf"{expect.size} of 1000 workers .*workers {expect[0]} \("):
        sim = build_simulation(rs)
    seen = np.unique(np.concatenate([sim._participants(r) for r in range(300)]))
    assert np.intersect1d(seen, expect).size == 0 and seen.size > 800  # sampled among the others only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)
        out = run_scenario(rs, tmp_path / "run", progress=False)
    assert out.complete, out.error
    summ = json.loads((out.out_dir / "summary.json").read_text())["coverage"]
    assert summ["out_of_coverage"] == expect.size and summ["workers"] == expect.tolist()
    assert summ["fraction"] == pytest.approx(expect.size / 1000)
    np.testing.assert_allclose(summ["distances_m"], radio.distance_3d_m[expect])
    with open(out.out_dir / "workers.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["worker"]) for r in rows if r["in_coverage"] == "0"] == expect.tolist()
    with open(out.out_dir / "timeline.csv") as fh:
        actors = {r["actor"] for r in csv.DictReader(fh)}
    assert not actors & {f"worker{w}" for w in expect}
    assert coverage_fraction(out.out_dir) == pytest.approx(expect.size / 1000)


def test_error_mode_refuses_and_strict_turns_the_warning_into_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"channel\.out_of_coverage.*of 1000 workers"):
        build_simulation(load_scenario(NR_CELL, [*CELL_1000, "channel.out_of_coverage=error"]))
    args = ["run", str(NR_CELL), "--strict", "--output", str(tmp_path / "strict")]
    res = CliRunner().invoke(app, [*args, *[a for x in CELL_1000 for a in ("--set", x)]])
    assert res.exit_code == 2 and "out of coverage" in res.output, res.output


def test_a_shannon_link_covers_every_worker() -> None:
    rs = load_scenario(ROOT / "scenarios" / "quickstart.yaml", ["workers.placement.radius_m=2000"])
    cov = out_of_coverage(rs)
    assert cov.count == 0 and cov.to_json()["workers"] == [] and cov.to_json()["threshold_snr_db"] is None


def test_full_participation_takes_every_covered_worker_each_round() -> None:
    rs = load_scenario(ROOT / "scenarios" / "quickstart.yaml", ["channel.link.model=nr",
                                                                "workers.placement.radius_m=400"])
    with pytest.warns(CoverageWarning):
        sim = build_simulation(rs)
    covered = np.flatnonzero(sim.coverage.in_coverage)
    assert 0 < covered.size < 10
    for r in range(5):
        np.testing.assert_array_equal(sim._participants(r), covered)
