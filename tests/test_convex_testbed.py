"""The convex test bed: gradients against finite differences, the optimum against an
independent solver, the condition number, and the source inside `edgefl run` / `validate`."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
import yaml
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.learning.convex import digits_problem, synthetic_problem
from edgefl.learning.convex_source import ConvexConfig, build_convex_source

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@functools.cache
def _problems():
    rng = np.random.default_rng(0)
    return {
        "ridge": synthetic_problem("ridge", 300, 8, 50.0, 3, rng),
        "logistic": synthetic_problem("logistic", 300, 8, 50.0, 3, rng),
        "interp": synthetic_problem("ridge", 300, 8, 20.0, 3, rng, interpolation=True),
        "digits-logistic": digits_problem("logistic", 1e-2, 4, rng),
    }


@pytest.mark.parametrize("name", ["ridge", "logistic", "interp", "digits-logistic"])
def test_gradient_matches_central_differences_and_optimum_is_stationary(name):
    pb = _problems()[name]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(pb.dim) * 0.3
    h = 1e-6
    for i in rng.choice(pb.dim, size=min(pb.dim, 6), replace=False):
        e = np.zeros(pb.dim)
        e[i] = h
        fd = (pb.local_loss(1, x + e) - pb.local_loss(1, x - e)) / (2 * h)
        assert abs(fd - pb.local_grad(1, x)[i]) < 1e-6 * max(1.0, abs(fd))
    np.testing.assert_allclose(pb.grad(x), np.mean([pb.local_grad(i, x) for i in range(len(pb.shards))], axis=0))
    assert np.linalg.norm(pb.grad(pb.x_star)) < 1e-10
    # an independent solver from another start agrees on f*
    res = scipy.optimize.minimize(pb.loss, x, jac=pb.grad, method="BFGS", options={"gtol": 1e-10})
    assert pb.f_star <= res.fun + 1e-12
    assert res.fun - pb.f_star < 1e-9


def test_condition_number_is_the_requested_one():
    rng = np.random.default_rng(2)
    ridge = synthetic_problem("ridge", 500, 10, 123.0, 4, rng)
    assert ridge.kappa == pytest.approx(123.0, rel=1e-9)
    eig = np.linalg.eigvalsh(ridge.hessian(np.zeros(10)))
    assert eig[0] == pytest.approx(ridge.mu) and eig[-1] == pytest.approx(ridge.L)
    interp = synthetic_problem("ridge", 500, 10, 40.0, 4, rng, interpolation=True)
    assert interp.kappa == pytest.approx(40.0, rel=1e-9) and interp.lam == 0
    # every sample is fitted at x*: the local gradients vanish there (interpolation)
    for i in range(4):
        assert np.linalg.norm(interp.local_grad(i, interp.x_star)) < 1e-10
    logi = synthetic_problem("logistic", 500, 10, 30.0, 4, rng)
    assert logi.kappa <= 30.0 * (1 + 1e-9)


def test_minibatch_gradients_are_unbiased():
    src = build_convex_source(ConvexConfig(kappa=10, num_features=5, num_samples=200, batch_size=10), 2,
                              np.random.SeedSequence(1))
    src.y = np.ones(5)
    full = np.array([src.pb.local_grad(i, src.y) for i in range(2)])
    draws = np.array([src.local_gradients(r) for r in range(3000)])
    se = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - full) < 4.5 * se)


def test_nesterov_beats_gradient_descent_uncompressed():
    def iterations(optimizer):
        src = build_convex_source(ConvexConfig(kappa=400, num_features=10, num_samples=200, optimizer=optimizer),
                                  2, np.random.SeedSequence(4))
        for k in range(20_000):
            m = src.apply_aggregate(k, src.local_gradients(k).mean(axis=0))
            if m["suboptimality"] < 1e-10:
                return k
        return None

    gd, nes = iterations("gd"), iterations("nesterov")
    assert nes is not None and gd is not None and gd > 5 * nes


def _scenario(tmp_path, compression, gradients=None, rounds=30):
    data = yaml.safe_load((ROOT / "scenarios" / "convex_iade.yaml").read_text())
    data["rounds"] = rounds
    data["compression"] = compression
    if gradients:
        data["gradients"].update(gradients)
    data["output"] = {"dir": str(tmp_path / "out"), "timeline": False, "plots": False}
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.mark.parametrize("compression", [
    {"scheme": "iade"}, {"scheme": "qsgd", "s": 4}, {"scheme": "topk", "fraction": 0.1},
    {"scheme": "powersgd", "rank": 1, "flat_as_matrix": True}, {"scheme": "terngrad", "packing": "base3"},
    {"scheme": "ef-signsgd"}, {"scheme": "randk", "k": 5}, {"scheme": "signsgd", "majority_vote": True},
])
def test_schemes_run_on_the_convex_scenario(tmp_path, compression):
    res = runner.invoke(app, ["run", str(_scenario(tmp_path, compression))])
    assert res.exit_code == 0, res.output
    rounds = pd.read_csv(tmp_path / "out" / "rounds.csv")
    assert {"suboptimality", "dist_to_opt"} <= set(rounds.columns)
    assert rounds["suboptimality"].iloc[-1] < rounds["suboptimality"].iloc[0]
    assert (rounds["bits_total"] > 0).all()
    # round 0 broadcasts the model; later rounds what the scheme announced (double encoding,
    # the majority vote, PowerSGD's P_hat on top of the model)
    p = 50
    assert rounds["downlink_bits"].iloc[0] == 32 * p
    later = rounds["downlink_bits"].iloc[1:]
    scheme = compression["scheme"]
    if scheme == "iade":
        assert (later < 32 * p).all()
    elif scheme == "signsgd":
        assert (later == p + 32).all()
    elif scheme == "powersgd":
        assert (later == 32 * p + 32 * 1 * 5).all()  # 50 = 5 x 10, rank 1: P_hat is 5 x 1
    else:
        assert (later == 32 * p).all()


def test_aiade_scenario_with_nesterov_converges(tmp_path):
    p = _scenario(tmp_path, {"scheme": "aiade"}, {"optimizer": "nesterov"}, rounds=200)
    res = runner.invoke(app, ["run", str(p)])
    assert res.exit_code == 0, res.output
    rounds = pd.read_csv(tmp_path / "out" / "rounds.csv")
    assert rounds["suboptimality"].iloc[-1] < 1e-8


@pytest.mark.parametrize("compression, field", [
    ({"scheme": "qsgd", "s": 0}, "compression.s"),
    ({"scheme": "topk", "k": 51}, "compression.k"),
    ({"scheme": "powersgd", "rank": 0}, "compression.rank"),
    ({"scheme": "aiade", "eps": 1.5}, "compression.eps"),
    ({"scheme": "iade", "c_prime": 0.0}, "compression.c_prime"),
])
def test_validate_rejects_bad_parameters_naming_the_field(tmp_path, compression, field):
    res = runner.invoke(app, ["validate", str(_scenario(tmp_path, compression))])
    assert res.exit_code != 0
    assert field in res.output, res.output
    assert str(list(compression.values())[1]) in res.output
