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
SCENARIOS = ["mnist_mlp", "mnist_mlp_signsgd", "mnist_mlp_dsc", "mnist_mlp_dsc_history"]


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


def test_dsc_signsgd_saves_8_percent_over_signsgd_in_the_first_20_rounds(tmp_path):
    """Issue 23: mnist_mlp_dsc.yaml (history model, entropy-sorted frames, no margin; analytic with the
    LDPCA failure model, which tracks bit-true within 0.2 % of the bits on this set-up) uploads >= 8 %
    fewer bits than mnist_mlp_signsgd.yaml over the first 20 rounds (measured 20.1 % with the completed ladder
    fallback; 10.1 % before),
    with the same aggregates (test accuracy) and the retries it costs reported."""
    sgd = run(tmp_path / "sgd", "mnist_mlp_signsgd", "rounds=20", "output.plots=false")
    dsc = run(tmp_path / "dsc", "mnist_mlp_dsc", "rounds=20", "output.plots=false")
    bits = [sum(float(r["bits_total"]) for r in rows) for rows in (sgd, dsc)]
    assert 1.0 - bits[1] / bits[0] >= 0.08
    assert sum(float(r["retries"]) for r in dsc) > 0 and sum(float(r["retry_time_s"]) for r in dsc) > 0
    acc = [[r["test_accuracy"] for r in rows if r.get("test_accuracy")] for rows in (sgd, dsc)]
    assert acc[0] and acc[0] == acc[1]


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


# --- Figs. 11-12 study (learning_curves --paper) ------------------------------------------


def test_sign_entropies_against_closed_forms():
    lc = load_study("learning_curves")
    rng = np.random.default_rng(0)
    independent = rng.normal(size=(4, 200_000))
    assert lc.joint_sign_entropy(independent) == pytest.approx(4.0, abs=1e-3)
    assert lc.marginal_sign_entropy(independent) == pytest.approx(4.0, abs=1e-3)
    same = np.tile(rng.normal(size=200_000), (4, 1))
    assert lc.joint_sign_entropy(same) == pytest.approx(1.0, abs=1e-3)
    # two workers agreeing with probability 0.9: H = 1 + h(0.1)
    a = rng.normal(size=400_000)
    b = np.where(rng.random(400_000) < 0.9, a, -a)
    h = -(0.1 * np.log2(0.1) + 0.9 * np.log2(0.9))
    assert lc.joint_sign_entropy(np.stack([a, b])) == pytest.approx(1 + h, abs=3e-3)
    biased = np.where(rng.random((1, 400_000)) < 0.25, -1.0, 1.0)
    assert lc.marginal_sign_entropy(biased) == pytest.approx(-(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75)), abs=3e-3)


def test_saving_breakdown_by_hand():
    lc = load_study("learning_curves")
    rows = [{"scheme": "signsgd", "epoch": e, "bits": 10 * 100 + 320, "num_params": 100, "dsc_bits": b,
             "sign_marginal_entropy": 10.0, "sign_joint_entropy": 6.0, "ideal_rate_sum_offline": 7.0,
             "ideal_rate_sum_layerwise": 6.5,
             "ideal_rate_sum_used": 7.5, "announced_rate_sum": 9.0} for e, b in ((10.0, 660.0), (30.0, 1320.0))]
    first = lc.saving_breakdown(rows, upto_epoch=20.0)
    assert first["rounds"] == 1 and first["actual_analytic"] == pytest.approx(0.5)
    assert first["empirical_ideal"] == pytest.approx(1 - 600 / 1320)
    whole = lc.saving_breakdown(rows)
    assert whole["actual_analytic"] == pytest.approx(0.25)
    assert whole["announced"] == pytest.approx(1 - 1800 / 2640)
    assert whole["empirical_entropy_coding"] == pytest.approx(1 - 2000 / 2640)
    assert whole["model_ideal_true_stats"] > whole["model_ideal_estimated_stats"] > whole["announced"]
    assert whole["model_ideal_layerwise_true_stats"] == pytest.approx(1 - 1300 / 2640)


def test_variant_stats_and_history_saving_by_hand():
    lc = load_study("learning_curves")
    v = "history:none"
    rows = [{"scheme": "signsgd", "epoch": e, "bits": 1000.0, "num_params": 100, "dsc_bits": 900.0,
             "sign_marginal_entropy": 10.0, "sign_joint_entropy": 6.0, "ideal_rate_sum_offline": 7.0,
             "ideal_rate_sum_layerwise": 6.5, "ideal_rate_sum_used": 7.5, "announced_rate_sum": 9.0,
             "ideal_rate_sum_history": h, f"bits_{v}": b, f"retries_{v}": rt, f"retry_bits_{v}": 48.0 * rt,
             f"exchanges_{v}": 2, f"undetected_{v}": 0, f"air_s_{v}": 0.03, "air_s_signsgd": 0.02,
             f"retry_s_{v}": 0.004}
            for e, h, b, rt in ((1.0, 6.0, 700.0, 10), (2.0, 5.0, 800.0, 30), (30.0, 1.0, 100.0, 0))]
    assert lc.saving_breakdown(rows, 20.0)["model_ideal_history"] == pytest.approx(1 - 1100 / 2000)
    stats = lc.variant_stats(rows, 20.0)
    assert list(stats) == [v]
    e = stats[v]
    assert e["saving"] == pytest.approx(1 - 1500 / 2000) and e["retries_per_round"] == 20
    assert e["retry_bits_per_round"] == 960 and e["retry_exchanges_per_round"] == 2
    assert e["air_s_per_round"] == pytest.approx(0.03) and e["retry_s_per_round"] == pytest.approx(0.004)
    assert lc.variant_stats([{**r, "epoch": 1.0} for r in rows[:1]] + [{"scheme": "signsgd", "epoch": 2.0,
                                                                       "bits": 1.0}], 20.0) == {}


def test_layerwise_rates_of_one_tensor_equal_the_whole_vector_rates():
    """One tensor: layer-wise = whole-vector; two tensors with different statistics: the
    size-weighted mean of their own rates."""
    lc = load_study("learning_curves")
    from edgefl.coding.statistics import offline_estimate
    from edgefl.compress.dsc import DSCCompressor

    rc = DSCCompressor().rate_controller
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 3000))
    g = x + 0.5 * rng.normal(size=(10, 3000))
    whole = float(rc.ideal_rates(offline_estimate(g), 10).sum())
    assert lc.layerwise_ideal_rate_sum(g, np.array([0, 3000]), rc) == pytest.approx(whole)
    h = np.concatenate([g, 3.0 * rng.normal(size=(10, 1000))], axis=1)  # a second, uncorrelated tensor
    own = (3000 * whole + 1000 * float(rc.ideal_rates(offline_estimate(h[:, 3000:]), 10).sum())) / 4000
    assert lc.layerwise_ideal_rate_sum(h, np.array([0, 3000, 4000]), rc) == pytest.approx(own)
    assert own < float(rc.ideal_rates(offline_estimate(h), 10).sum())


@pytest.mark.slow
def test_paper_study_writes_outputs(tmp_path):
    lc = load_study("learning_curves")
    summary = lc.paper_study(tmp_path, rounds=4, seeds=1, model="mlp784", bit_true=0)
    for name in ("paper_curves.csv", "paper_breakdown.csv", "paper_summary.json", "paper_curves.png"):
        assert (tmp_path / name).stat().st_size > 0
    iid = summary["iid"]["whole_run"]
    assert iid["empirical_ideal"] > iid["announced"] > iid["actual_analytic"] > 0


def test_paper_variants_run_analytic_with_the_failure_model():
    """--variant-fidelity analytic: the variant's frames are charged the retries the failure model predicts
    (history in force from the fourth round) and it sends fewer bits than signSGD from then on."""
    lc = load_study("learning_curves")
    v = "history:none:entropy"
    rows = lc.paper_run("iid", 6, 0, variants=(v,), variant_fidelity="analytic")
    sgd = [r for r in rows if r["scheme"] == "signsgd"]
    assert len(sgd) == 6 and all(f"bits_{v}" in r and r[f"undetected_{v}"] == 0 for r in sgd)
    assert sum(r[f"retries_{v}"] for r in sgd[3:]) > 0
    assert sum(r[f"bits_{v}"] for r in sgd[3:]) < sum(r["bits"] for r in sgd[3:])


def test_rho_for_saving_inverts_the_rate_controller():
    """Monotone: more saving needs more correlation; margins need more; the ideal 38 %
    lies between rho 0.75 (32.8 %) and 0.833 (41.3 %) of the rate-controller table."""
    lc = load_study("learning_curves")
    ideal, margins = lc.rho_for_saving(0.38, False), lc.rho_for_saving(0.38, True)
    assert 0.75 < ideal < 0.833 < margins < 0.952
    assert lc.rho_for_saving(0.2, False) < ideal


def test_joint_sign_entropy_ignores_repeated_coordinates():
    """A coordinate block repeated inside every gradient is no agreement between workers."""
    lc = load_study("learning_curves")
    g = np.random.default_rng(1).normal(size=(3, 50_000))
    repeated = np.concatenate([g, np.repeat(g[:, :40], 1000, axis=1)], axis=1)
    assert lc.joint_sign_entropy(repeated) == pytest.approx(lc.joint_sign_entropy(g), abs=1e-3)


def test_variant_config_and_air_clock():
    """``<si>:<policy>[:<frame order>]`` variants, and the air clock plays a round of uploads
    (its round time grows with the bits)."""
    lc = load_study("learning_curves")
    from edgefl.compress.base import bits_only_result

    cfg = lc.variant_config("history:none:entropy")
    assert (cfg.side_information, cfg.rate_policy, cfg.frame_order, cfg.uncoded_above) == (
        "history", "none", "entropy", lc.UNCODED_ABOVE)
    assert lc.variant_config("gaussian:fixed").frame_order == "contiguous"
    assert lc.variant_config("history:none:entropy").ladder_fallback == "raw"
    cfg = lc.variant_config("history:none:entropy:complete")
    assert (cfg.ladder_fallback, cfg.uncoded_above) == ("complete", lc.UNCODED_ABOVE_COMPLETE)
    cfg = lc.variant_config("history:none:entropy:complete+zone+realised")
    assert (cfg.ladder_zone, cfg.uncoded_rule) == ("calibrated", "realised")
    with pytest.raises(ValueError, match="unknown options"):
        lc.variant_config("history:none:entropy:fast")
    clock = lc.AirClock()
    short, retry = clock.play(0, bits_only_result(np.full(10, 1e4), np.zeros(10)), successive=False)
    long, _ = clock.play(1, bits_only_result(np.full(10, 1e5), np.zeros(10)), successive=False)
    assert 0 < short < long and retry == 0.0
