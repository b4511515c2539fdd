"""The mnist_mlp scenarios (paper set-up) and the Fig. 1 gradient-correlation study."""

from __future__ import annotations

import csv
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ["mnist_mlp", "mnist_mlp_signsgd", "mnist_mlp_dsc"]


def load_study(name: str):
    spec = importlib.util.spec_from_file_location(f"studies_{name}", ROOT / "studies" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def run(out: Path, name: str, *sets: str) -> list[dict]:
    args = ["run", str(ROOT / "scenarios" / f"{name}.yaml"), "--output", str(out), "--no-progress"]
    for s in sets:
        args += ["--set", s]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return list(csv.DictReader((out / "rounds.csv").read_text().splitlines()))


@pytest.mark.parametrize("name", SCENARIOS)
def test_mnist_scenarios_use_the_paper_setup(name):
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml").scenario
    m = sc.model
    assert (m.model, m.data.kind, m.batch_size, m.lr, m.momentum, m.optimizer) == (
        "mlp784", "mnist-5k", 128, 0.01, 0.5, "momentum")
    assert sc.workers.count == 10 and sc.seed == 7


def test_mnist_mlp_is_deterministic_by_seed(tmp_path):
    a = run(tmp_path / "a", "mnist_mlp", "rounds=3")
    b = run(tmp_path / "b", "mnist_mlp", "rounds=3")
    assert (tmp_path / "a" / "rounds.csv").read_bytes() == (tmp_path / "b" / "rounds.csv").read_bytes()
    assert (tmp_path / "a" / "timeline.csv").read_bytes() == (tmp_path / "b" / "timeline.csv").read_bytes()
    assert len(a) == len(b) == 3


@pytest.mark.slow
def test_mnist_mlp_reaches_90_percent_within_5_minutes(tmp_path):
    """Issue 14: uncoded paper set-up >= 90 % on mnist-5k's held-out split, < 5 min
    (measured 75 s on the shared 2-core machine: 91.5 % after 500 rounds)."""
    start = time.perf_counter()
    rows = run(tmp_path / "r", "mnist_mlp")
    assert time.perf_counter() - start < 300
    assert float(rows[-1]["test_accuracy"]) >= 0.90


# --- Fig. 1 study -----------------------------------------------------------------------


def test_pearson_matches_numpy():
    study = load_study("gradient_correlation")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(size=500)
    b += 0.5 * a
    assert study.pearson(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1], rel=1e-12)
    runs = rng.normal(size=(5, 3))
    mean, lo, hi = study.confidence_band(runs)
    assert np.all(lo < mean) and np.all(mean < hi)
    # 95 % t interval with 4 degrees of freedom: t = 2.776
    np.testing.assert_allclose(hi - mean, 2.776 * runs.std(axis=0, ddof=1) / np.sqrt(5), rtol=1e-3)


def test_iid_gradients_correlate_more_than_non_iid_early_in_training():
    """DSC paper Fig. 1: two local gradients correlate more under IID than non-IID shards."""
    study = load_study("gradient_correlation")
    iid = np.mean([study.correlation_run("digits", "iid", 10, s) for s in range(2)])
    non = np.mean([study.correlation_run("digits", "non-iid", 10, s) for s in range(2)])
    assert iid > 0.1 and iid > non + 0.08


@pytest.mark.slow
def test_gradient_correlation_study_writes_csv_and_png(tmp_path):
    study = load_study("gradient_correlation")
    summary = study.main([str(tmp_path), "--quick"])
    rows = list(csv.DictReader((tmp_path / "gradient_correlation.csv").read_text().splitlines()))
    assert len(rows) == 4 * 40 and (tmp_path / "gradient_correlation.png").stat().st_size > 0
    for dataset in ("mnist-5k", "digits"):
        assert summary[(dataset, "iid")][0] > summary[(dataset, "non-iid")][0]
