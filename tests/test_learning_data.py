"""Datasets, partitions, sampler, optimiser, CEO moments, FLOPs, config and source API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from edgefl.learning import ModelConfig, build_source, ceo_moments, count_flops
from edgefl.learning.data import load_digits_xy
from edgefl.learning.optim import Optimizer
from edgefl.learning.partition import MinibatchSampler, partition_dirichlet, partition_iid, partition_shards

ROOT = Path(__file__).resolve().parents[1]
LABELS = np.random.default_rng(0).integers(0, 10, 1000)


def assert_partition(parts, n):
    allidx = np.concatenate(parts)
    assert len(allidx) == n and len(np.unique(allidx)) == n
    assert all(len(p) > 0 for p in parts)


def test_iid_partition_is_balanced_cover():
    parts = partition_iid(1000, 7, np.random.default_rng(1))
    assert_partition(parts, 1000)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def label_entropy(parts):
    ent = []
    for p in parts:
        q = np.bincount(LABELS[p], minlength=10) / len(p)
        q = q[q > 0]
        ent.append(-(q * np.log(q)).sum())
    return np.mean(ent)


def test_dirichlet_skew_grows_as_alpha_shrinks():
    rng = np.random.default_rng(2)
    skewed = partition_dirichlet(LABELS, 10, 0.1, rng)
    mild = partition_dirichlet(LABELS, 10, 100.0, rng)
    assert_partition(skewed, 1000)
    assert_partition(mild, 1000)
    assert label_entropy(skewed) < 0.6 * label_entropy(mild)
    assert label_entropy(mild) > 0.9 * np.log(10)


def test_shards_give_few_labels_per_worker():
    parts = partition_shards(LABELS, 10, 2, np.random.default_rng(3))
    assert_partition(parts, 1000)
    assert max(len(np.unique(LABELS[p])) for p in parts) <= 4


def test_partition_errors_name_argument():
    with pytest.raises(ValueError, match="alpha"):
        partition_dirichlet(LABELS, 3, 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="num_workers"):
        partition_iid(5, 6, np.random.default_rng(0))


def test_sampler_is_seeded_and_stays_in_shard():
    shard = np.arange(100, 300)
    a = MinibatchSampler(shard, 128, np.random.default_rng(4))
    b = MinibatchSampler(shard, 128, np.random.default_rng(4))
    x, y = a.next(), b.next()
    np.testing.assert_array_equal(x, y)
    assert len(np.unique(x)) == 128 and np.isin(x, shard).all()
    small = MinibatchSampler(np.arange(10), 32, np.random.default_rng(4)).next()
    assert len(small) == 32 and small.max() < 10


def test_momentum_matches_hand_iteration():
    opt = Optimizer("momentum", lr=0.1, momentum=0.5)
    w = np.array([1.0, -2.0])
    g1, g2 = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    opt.step(w, g1)
    opt.step(w, g2)
    # v1 = g1, w1 = w0 - 0.1 g1; v2 = 0.5 g1 + g2, w2 = w1 - 0.1 v2
    np.testing.assert_allclose(w, [1.0 - 0.1 - 0.05, -2.0 - 0.2])
    with pytest.raises(ValueError, match="NaN"):
        opt.step(w, np.array([np.nan, 0.0]))


def test_ceo_moments_recover_known_variances():
    rng = np.random.default_rng(5)
    k, p, sx2, sn2 = 10, 200_000, 4.0, 1.5
    x = rng.normal(0, np.sqrt(sx2), p)
    y = x + rng.normal(0, np.sqrt(sn2), (k, p))
    ex, en = ceo_moments(y)
    assert ex[0] == pytest.approx(sx2, rel=0.02) and en[0] == pytest.approx(sn2, rel=0.02)
    ex2, en2 = ceo_moments(y, blocks=np.repeat([0, 1], p // 2))
    assert len(ex2) == 2 and np.allclose(en2, sn2, rtol=0.03)
    zx, zn = ceo_moments(np.tile(x, (k, 1)))
    assert zn[0] < 1e-25 and zx[0] == pytest.approx(np.mean(x**2))
    with pytest.raises(ValueError, match="K >= 2"):
        ceo_moments(y[:1])


def test_flops_of_mlp_by_hand():
    # fc1: 2*64*128 forward + 2*64*128 dW (no dX: the data needs none) + bias 2*128
    # relu: 3*128; fc2: 2*128*10 * 3 (forward, dX, dW) + bias 2*10
    hand = 2 * 2 * 64 * 128 + 2 * 128 + 3 * 128 + 3 * 2 * 128 * 10 + 2 * 10
    assert count_flops(ROOT / "models" / "mlp.onnx") == hand
    assert count_flops(ROOT / "models" / "cnn.onnx") > count_flops(ROOT / "models" / "logreg.onnx")


def test_config_validation_messages():
    with pytest.raises(ValidationError, match="extra"):
        ModelConfig(modle="mlp")
    with pytest.raises(ValidationError, match="shipped model"):
        ModelConfig(model="resnet")
    with pytest.raises(ValidationError, match="mse"):
        ModelConfig(model="linreg", data={"kind": "synthetic", "task": "regression"})
    with pytest.raises(ValidationError, match="partition"):
        ModelConfig(partition="random")
    cfg = ModelConfig(data="mine.npz", partition="dirichlet")
    assert cfg.data.kind == "npz" and cfg.partition.alpha == 0.5


def test_source_with_user_npz_and_model_path(tmp_path):
    x, y = load_digits_xy()
    np.savez(tmp_path / "d.npz", X=x[:400], y=y[:400])
    cfg = ModelConfig(model=str(ROOT / "models" / "logreg.onnx"), data="d.npz", batch_size=16)
    src = build_source(cfg, 3, 0, tmp_path)
    g = src.local_gradients(0)
    assert g.shape == (3, 650) and src.flops_per_gradient == 16 * count_flops(ROOT / "models" / "logreg.onnx")
    with pytest.raises(ValueError, match="round"):
        src.apply_aggregate(1, g.mean(0))
    with pytest.raises(ValueError, match="aggregate"):
        src.apply_aggregate(0, g.mean(0)[:-1])
    m = src.apply_aggregate(0, g.mean(0))
    assert set(m) == set(src.metric_names()) and m["evaluated"] == 1.0 and m["sigma_n2_est"] > 0
    sx2_layers, sn2_layers = src.layer_moments
    sizes = np.array(src.model.layout.sizes)
    assert len(sn2_layers) == 2  # logreg: weight, bias
    assert np.sum(sn2_layers * sizes) / sizes.sum() == pytest.approx(m["sigma_n2_est"], rel=1e-12)


def test_source_rejects_mismatched_data(tmp_path):
    np.savez(tmp_path / "bad.npz", X=np.zeros((50, 10)), y=np.zeros(50, int))
    with pytest.raises(ValueError, match="features"):
        build_source(ModelConfig(model="mlp", data="bad.npz"), 2, 0, tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        build_source(ModelConfig(model="nothere.onnx"), 2, 0, tmp_path)
