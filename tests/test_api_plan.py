"""``edgefl.plan`` (issue 22): the answers of ``edgefl plan``; ``to_dict()`` is ``edgefl plan --json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import edgefl
from edgefl.cli import app

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
BASE = ["rounds=3", "workers.count=4"]


def cli_json(*options: str) -> str:
    res = CliRunner().invoke(app, ["plan", str(QUICKSTART), *(a for s in BASE for a in ("--set", s)), *options,
                                   "--json"])
    assert res.exit_code == 0, res.output
    return res.output.strip()


LATENCY = ("--samples", "50", "--max-samples", "100")


@pytest.mark.parametrize(("options", "kwargs"), [
    ((), {}),  # P1 rates
    (("--D", "0.3"), {"D": 0.3}),
    (("--percentiles", *LATENCY), {"percentiles": True, "samples": 50, "max_samples": 100}),
    (("--percentiles", "--deadline", "0.5", *LATENCY, "--quantile", "90"),
     {"percentiles": True, "deadline": 0.5, "samples": 50, "max_samples": 100, "quantile": 0.9}),
    (("--percentiles", "--over", "placements", "--rounds-per-placement", "5", *LATENCY),
     {"percentiles": True, "over": "placements", "rounds_per_placement": 5, "samples": 50, "max_samples": 100}),
])
def test_plan_to_dict_is_the_cli_json(options: tuple[str, ...], kwargs: dict) -> None:
    p = edgefl.plan(QUICKSTART, set=BASE, **kwargs)
    assert json.dumps(p.to_dict(), indent=2) == cli_json(*options)


def test_plan_of_a_loaded_scenario_and_its_errors() -> None:
    s = edgefl.load(QUICKSTART, set=BASE)
    a = edgefl.plan(s, percentiles=True, samples=50, max_samples=100).to_dict()
    assert a == edgefl.plan(QUICKSTART, set=BASE, percentiles=True, samples=50, max_samples=100).to_dict()
    lat = a["percentiles"]["round_latency_s"]
    assert lat["p50"] <= lat["p95"] <= lat["p99"]
    assert lat["ci95"]["p95"][0] <= lat["p95"] <= lat["ci95"]["p95"][1]
    with pytest.raises(edgefl.ScenarioError, match="workers.count"):
        edgefl.plan(QUICKSTART, set={"workers.count": -1}, percentiles=True)
    with pytest.raises(ValueError, match="coverage"):
        edgefl.plan(QUICKSTART, coverage=True)
    with pytest.raises(ValueError, match="method"):
        edgefl.plan(QUICKSTART, percentiles=True, method="draws")
    with pytest.raises(TypeError, match="over"):
        edgefl.plan(QUICKSTART, over="placements")  # an option of a question nobody asked
