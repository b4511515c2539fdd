"""Training the shipped MLP on digits with averaged uncompressed gradients (no simulator)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgefl.learning import ModelConfig, build_source

ROOT = Path(__file__).resolve().parents[1]


def train(cfg: ModelConfig, rounds: int, workers: int, seed: int):
    src = build_source(cfg, workers, seed, ROOT)
    history = []
    for r in range(rounds):
        grads = src.local_gradients(r)
        assert grads.shape == (workers, src.num_params) and grads.dtype == np.float64
        history.append(src.apply_aggregate(r, grads.mean(axis=0)))
    return src, history


def test_mlp_on_digits_reaches_90_percent_in_300_rounds_deterministically():
    cfg = ModelConfig(model="mlp", data="digits", partition="iid")  # paper setup: B 128, lr 0.01, momentum 0.5
    src, hist = train(cfg, 300, 10, seed=3)
    acc = [h["test_accuracy"] for h in hist if h["evaluated"]]
    assert acc[0] < 0.5  # it really learned
    assert max(acc) >= 0.90, f"best test accuracy {max(acc):.3f}"
    assert hist[-1]["train_loss"] < 0.5 * hist[0]["train_loss"]
    src2, hist2 = train(cfg, 300, 10, seed=3)
    np.testing.assert_array_equal(src.params, src2.params)
    assert [h["train_loss"] for h in hist] == [h["train_loss"] for h in hist2]


def test_different_seeds_give_different_runs():
    cfg = ModelConfig(model="logreg")
    a, _ = train(cfg, 3, 4, seed=1)
    b, _ = train(cfg, 3, 4, seed=2)
    assert not np.array_equal(a.params, b.params)


def test_cnn_and_non_iid_partitions_train():
    for part in ({"kind": "dirichlet", "alpha": 0.3}, {"kind": "shards", "shards_per_worker": 2}):
        cfg = ModelConfig(model="cnn", partition=part, batch_size=32, lr=0.05, eval_every=5)
        _, hist = train(cfg, 30, 5, seed=0)
        assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_linear_regression_on_synthetic_data():
    cfg = ModelConfig(model="linreg", loss="mse", optimizer="sgd", lr=0.1,
                      data={"kind": "synthetic", "task": "regression", "noise": 0.05})
    src, hist = train(cfg, 150, 4, seed=0)
    assert "test_accuracy" not in src.metric_names()
    assert set(hist[-1]) == set(src.metric_names())
    # noise variance 0.05^2: the test MSE must approach it
    assert hist[-1]["test_loss"] < 0.01


def test_logreg_learns_synthetic_classification():
    cfg = ModelConfig(model="logreg", data={"kind": "synthetic", "noise": 0.0}, lr=0.5, eval_every=50)
    _, hist = train(cfg, 100, 4, seed=0)
    # labels are the argmax of a linear map: a linear classifier separates them well
    assert hist[-1]["test_accuracy"] > 0.8
