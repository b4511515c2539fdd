"""A worker that the link cannot serve at its mean SNR (below NR's lowest MCS) is, with
``channel.out_of_coverage: error``, a scenario error at build/validate time naming the workers; with
every worker out of coverage it is an error in any mode (see tests/test_coverage.py for ``exclude``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sim.build import build_simulation

QUICK = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"


def test_unreachable_workers_are_named() -> None:
    sets = ["channel.link.model=nr", "workers.placement.radius_m=400", "channel.out_of_coverage=error"]
    rs = load_scenario(QUICK, sets)
    with pytest.raises(ScenarioError, match=r"channel\.out_of_coverage.*no uplink/downlink rate.*workers 0 \(\d"):
        build_simulation(rs)
    res = CliRunner().invoke(app, ["validate", str(QUICK), *[a for x in sets for a in ("--set", x)]])
    assert res.exit_code == 2 and "no uplink/downlink rate" in res.output


def test_no_worker_in_coverage_is_an_error_in_any_mode() -> None:
    rs = load_scenario(QUICK, ["channel.link.model=nr", "workers.placement.radius_m=3000"])
    with pytest.raises(ScenarioError, match=r"every worker is out of coverage"):
        build_simulation(rs)


def test_reachable_nr_cell_builds() -> None:
    build_simulation(load_scenario(QUICK, ["channel.link.model=nr", "rounds=1"]))


def test_unknown_group_device_names_the_group_index() -> None:
    sets = ["workers.device=null", "workers.groups=[{count: 4, device: raspberry_pi_4}, {count: 6, device: nope}]"]
    with pytest.raises(ScenarioError, match=r"workers\.groups\[1\]\.device"):
        load_scenario(QUICK, sets)
