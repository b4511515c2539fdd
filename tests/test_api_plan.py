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


@pytest.mark.parametrize(("options", "kwargs"), [
    ((), {}),  # P1 rates
    (("--D", "0.3"), {"D": 0.3}),
    (("--percentiles", "--deadline", "0.5", "--coverage", "--method", "draws", "--draws", "300"),
     {"percentiles": True, "deadline": 0.5, "coverage": True, "method": "draws", "draws": 300}),
    (("--percentiles", "--draws", "5"), {"percentiles": True, "draws": 5}),  # over analytic runs
])
def test_plan_to_dict_is_the_cli_json(options: tuple[str, ...], kwargs: dict) -> None:
    p = edgefl.plan(QUICKSTART, set=BASE, **kwargs)
    assert json.dumps(p.to_dict(), indent=2) == cli_json(*options)


def test_plan_of_a_loaded_scenario_and_its_errors() -> None:
    s = edgefl.load(QUICKSTART, set=BASE)
    a = edgefl.plan(s, percentiles=True, method="draws", draws=300).to_dict()
    assert a == edgefl.plan(QUICKSTART, set=BASE, percentiles=True, method="draws", draws=300).to_dict()
    p95 = a["percentiles"]["round_latency_s"]["p95"]
    assert a["percentiles"]["round_latency_s"]["p50"] <= p95 <= a["percentiles"]["round_latency_s"]["p99"]
    with pytest.raises(edgefl.ScenarioError, match="workers.count"):
        edgefl.plan(QUICKSTART, set={"workers.count": -1}, percentiles=True)
    with pytest.raises(ValueError, match="--coverage needs --deadline"):
        edgefl.plan(QUICKSTART, coverage=True, method="draws")
