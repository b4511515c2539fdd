"""No work nobody asked for (issue 20 item 3): bit counts of value-free schemes without gradients,
timing-only runs that never draw a gradient, participants-only draws, the estimate by per_round."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from edgefl.compress.base import RoundContext
from edgefl.compress.registry import SCHEMES, make_compressor
from edgefl.estimate import VALUE_FREE_SCHEMES, estimate_scenario
from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario
from edgefl.sim.allocation import Allocation
from edgefl.sim.ceo_source import GaussianCEOSource
from edgefl.tagged_registry import implementation

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "quickstart.yaml"
NR_CELL = ROOT / "scenarios" / "nr_cell.yaml"
SHAPES = [(30, 4), (30,), (10, 7)]  # P = 220
P = 220

CONFIGS = [
    {"scheme": "none"},
    {"scheme": "signsgd"},
    {"scheme": "signsgd", "scaled": False},
    {"scheme": "signsgd", "per_layer": True},
    {"scheme": "signsgd", "per_layer": True, "majority_vote": True},
    {"scheme": "ef-signsgd"},
    {"scheme": "ef-signsgd", "per_layer": False},
    {"scheme": "rd-ideal"},
]


def _compressor(cfg: dict):
    model = SCHEMES[cfg["scheme"]][0].model_validate(cfg)
    return make_compressor(model, param_shapes=SHAPES, num_params=P)


def test_the_estimate_knows_the_value_free_schemes() -> None:
    assert VALUE_FREE_SCHEMES == {n for n, (_, cls) in SCHEMES.items() if implementation(cls).value_free_bits}


@pytest.mark.parametrize("fidelity", ["analytic", "bit-true"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_bits_only_counts_what_compress_sends(cfg: dict, fidelity: str) -> None:
    k = 5
    grads = np.random.default_rng(3).standard_normal((k, P)) * np.linspace(0.1, 3, P)
    alloc = Allocation(alpha=np.ones(k), snr=np.ones(k), order=None,
                       rates_bits=np.array([0.5, 1.0, 2.0, 0.0, 3.25]), z=np.array([1.0, 2.0, 4.0, 0.0, 8.0]))
    ctx = RoundContext(round=0, rng=np.random.default_rng(1), workers=np.arange(k), fidelity=fidelity,
                       allocation=alloc, sigma_x2=1.0, sigma_n2=0.5)
    full = _compressor(cfg).compress(grads, np.arange(k), ctx)
    only = _compressor(cfg).bits_only(k, P, ctx)
    np.testing.assert_array_equal(only.upload_bits, full.upload_bits)
    np.testing.assert_array_equal(only.decode_bits, full.decode_bits)
    assert only.downlink_bits == full.downlink_bits
    assert only.aggregate.size == 0 and only.aggregate_of(np.array([0, 2])).size == 0


@pytest.mark.parametrize("sets", [
    ["rounds=4"],
    ["rounds=3", "channel.access=fdma", "compression.scheme=rd-ideal", "rate_allocation.scheme=p1",
     "rate_allocation.target_distortion=0.2"],
], ids=["signsgd-tdma", "rd-ideal-p1-fdma"])
def test_a_timing_only_run_draws_no_gradient_and_keeps_every_timing_column(
        sets: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sets = [*sets, "output.plots=false", "gradients.params=2000"]
    full = run_scenario(load_scenario(QUICK, sets), tmp_path / "full", progress=False)

    def no_draw(self, round, workers=None):  # noqa: ANN001, ARG001
        raise AssertionError("a timing-only run drew gradients")

    monkeypatch.setattr(GaussianCEOSource, "local_gradients", no_draw)
    timing = run_scenario(load_scenario(QUICK, [*sets, "output.timing_only=true"]), tmp_path / "t", progress=False)
    assert timing.complete, timing.error
    assert (full.out_dir / "timeline.csv").read_text() == (timing.out_dir / "timeline.csv").read_text()
    with open(full.out_dir / "rounds.csv") as a, open(timing.out_dir / "rounds.csv") as b:
        ra, rb = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert len(ra) == len(rb)
    for x, y in zip(ra, rb):
        assert y["distortion"] == "" and "distortion_x" not in y
        assert {c: v for c, v in x.items() if c not in ("distortion", "distortion_x")} == \
            {c: v for c, v in y.items() if c != "distortion"}
    assert timing.summary["totals"]["mean_distortion"] is None and timing.summary["gradients_drawn"] is False
    assert full.summary["gradients_drawn"] is True


def test_partial_participation_draws_the_participants_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []
    inner = GaussianCEOSource.local_gradients

    def counting(self, round, workers=None):  # noqa: ANN001
        g = inner(self, round, workers)
        drawn.append(g.shape[0])
        return g

    monkeypatch.setattr(GaussianCEOSource, "local_gradients", counting)
    out = run_scenario(load_scenario(NR_CELL, ["rounds=3", "output.plots=false", "gradients.params=500"]),
                       tmp_path / "nr", progress=False)
    assert out.complete and drawn == [10, 10, 10]  # 10 of the 100 phones per round


def test_the_estimate_counts_the_round_not_the_population() -> None:
    big = ["workers.count=10000", "workers.per_round=1000", "channel.trace=null", "workers.trace=null"]
    est = estimate_scenario(load_scenario(NR_CELL, big).scenario, NR_CELL.parent)
    grad = next(t for t in est.memory if t.what.startswith("gradient vectors"))
    assert grad.amount == pytest.approx(4.5 * 1000 * 100_000 * 8) and grad.fields.startswith("workers.per_round")
    population = 4.5 * 10_000 * 100_000 * 8  # what the estimate counted before: ~34 GiB
    assert est.memory_bytes < population / 8
    t_only = estimate_scenario(load_scenario(NR_CELL, [*big, "output.timing_only=true"]).scenario, NR_CELL.parent)
    assert not any(t.what.startswith("gradient vectors") for t in t_only.memory)
    assert t_only.memory_bytes < 2**30
    # a scheme with per-worker memory still pays for the whole population's state
    ef = estimate_scenario(load_scenario(NR_CELL, [*big, "compression.scheme=ef-signsgd"]).scenario, NR_CELL.parent)
    assert any(t.what.startswith("per-worker compressor memory") and t.amount == 10_000 * 100_000 * 8
               for t in ef.memory)


def test_studies_of_timing_metrics_run_timing_only() -> None:
    from edgefl.sweep.study import parse_metric, timing_only_metrics

    timing = [parse_metric("lat", "latency_s:p95"), parse_metric("e", "total:worker_energy_j"),
              parse_metric("w", "critical.decode_wait:p95"), parse_metric("b", "bits_total:sum")]
    assert timing_only_metrics(timing)
    for values in ("distortion:mean", "distortion_x:mean", "total:mean_distortion", "total:final_test_accuracy"):
        assert not timing_only_metrics([*timing, parse_metric("v", values)])


def test_the_cli_reports_a_timing_only_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from edgefl.cli import app

    args = ["run", str(QUICK), "--output", str(tmp_path / "r"), "--set", "rounds=2", "--set", "output.plots=false",
            "--set", "gradients.params=500", "--set", "output.timing_only=true"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0 and "timing only (no gradients drawn)" in res.output, res.output
