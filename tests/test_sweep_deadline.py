"""`edgefl plan --deadline / --coverage`: the searched answers against brute-force searches
over runs of the scenario."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario
from edgefl.sweep.deadline import plan_deadline
from edgefl.sweep.tables import read_rounds_columns

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
# uploads dominate: cheap gradients, no stragglers, 10 rounds of block fading per probe
FIXED = ["workers.count=4", "gradients.flops_per_gradient=1.0e+6", "workers.compute_jitter=0.0"]
DRAWS = 10


def p95_by_run(overrides: list[str]) -> float:
    rs = load_scenario(QUICKSTART, [*FIXED, f"rounds={DRAWS}", "output.timeline=false", "output.plots=false",
                                    *overrides])
    with tempfile.TemporaryDirectory() as tmp:
        out = run_scenario(rs, Path(tmp) / "r", overwrite=True, progress=False)
        return float(np.percentile(read_rounds_columns(out.out_dir / "rounds.csv")["latency_s"], 95))


def plan(**kw):
    data = yaml.safe_load(QUICKSTART.read_text())
    from edgefl.scenario import apply_overrides

    return plan_deadline(apply_overrides(data, FIXED), str(QUICKSTART), QUICKSTART.parent, draws=DRAWS, **kw)


def test_percentiles_are_those_of_a_run() -> None:
    rep = plan()
    assert rep["latency"]["p95_s"] == p95_by_run([])
    assert rep["latency"]["p50_s"] <= rep["latency"]["p95_s"] <= rep["latency"]["p99_s"]
    assert rep["assumes"]["scheme"] == "signsgd" and rep["assumes"]["allocation"] == "equal"


@pytest.mark.slow
def test_max_workers_matches_brute_force() -> None:
    p95 = {k: p95_by_run([f"workers.count={k}"]) for k in range(1, 13)}
    deadline = (p95[7] + p95[8]) / 2
    # brute force: the first worker count that misses the deadline, minus one
    brute = next(k for k in range(1, 13) if p95[k] > deadline) - 1
    rep = plan(deadline_s=deadline, max_workers=64, rel_tol=0.05)
    assert rep["max_workers"]["value"] == brute
    assert rep["min_uplink_bandwidth_hz"]["workers"] == 4


@pytest.mark.slow
def test_bandwidth_and_radius_are_boundaries_to_the_resolution() -> None:
    base = p95_by_run([])
    deadline = 1.5 * base
    rep = plan(deadline_s=deadline, coverage=True, max_workers=8, rel_tol=0.05)
    b = rep["min_uplink_bandwidth_hz"]
    assert b["value"] < 20e6 and b["fails_at"] < b["value"] <= 1.05 * b["fails_at"]
    assert p95_by_run([f"channel.uplink_bandwidth_hz={b['value']!r}"]) <= deadline
    assert p95_by_run([f"channel.uplink_bandwidth_hz={b['fails_at']!r}"]) > deadline
    r = rep["max_radius_m"]
    assert r["value"] > 150 and r["value"] < r["fails_at"] <= 1.05 * r["value"]
    assert p95_by_run([f"workers.placement.radius_m={r['value']!r}"]) <= deadline
    assert p95_by_run([f"workers.placement.radius_m={r['fails_at']!r}"]) > deadline


def test_plan_cli_rejects_model_scenarios_and_bad_deadline() -> None:
    from typer.testing import CliRunner

    from edgefl.cli import app

    res = CliRunner().invoke(app, ["plan", str(ROOT / "scenarios" / "digits_mlp.yaml"), "--deadline", "1"])
    assert res.exit_code == 2 and "fidelity: analytic" in res.output
    res = CliRunner().invoke(app, ["plan", str(QUICKSTART), "--deadline", "-1"])
    assert res.exit_code == 2 and "positive number of seconds" in res.output
    res = CliRunner().invoke(app, ["plan", str(QUICKSTART), "--coverage"])
    assert res.exit_code == 2 and "--coverage needs --deadline" in res.output


@pytest.mark.slow
def test_unreachable_deadline() -> None:
    rep = plan(deadline_s=1e-6, max_workers=4, rel_tol=0.05)
    assert rep["max_workers"]["value"] is None and rep["min_uplink_bandwidth_hz"]["value"] is None
