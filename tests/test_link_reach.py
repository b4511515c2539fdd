"""A worker that the link cannot serve at its mean SNR (below NR's lowest MCS) is a scenario error at
build/validate time naming the link and the workers, not a run that ends in an infinite broadcast."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sim.build import build_simulation

QUICK = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"


def test_unreachable_workers_are_named() -> None:
    rs = load_scenario(QUICK, ["channel.link.model=nr", "workers.placement.radius_m=3000"])
    with pytest.raises(ScenarioError, match=r"channel\.link.*no uplink rate.*workers 0 \(-?\d"):
        build_simulation(rs)
    res = CliRunner().invoke(app, ["validate", str(QUICK), "--set", "channel.link.model=nr",
                                   "--set", "workers.placement.radius_m=3000"])
    assert res.exit_code == 2 and "no uplink rate" in res.output


def test_reachable_nr_cell_builds() -> None:
    build_simulation(load_scenario(QUICK, ["channel.link.model=nr", "rounds=1"]))


def test_unknown_group_device_names_the_group_index() -> None:
    sets = ["workers.device=null", "workers.groups=[{count: 4, device: raspberry_pi_4}, {count: 6, device: nope}]"]
    with pytest.raises(ScenarioError, match=r"workers\.groups\[1\]\.device"):
        load_scenario(QUICK, sets)
