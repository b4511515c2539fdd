"""Datasets for local training: scikit-learn's digits (offline), a user's ``.npz``, or
synthetic classification / regression data; seeded train/test split.

Features are float64 rows; classification labels are int64 in 0..C-1, regression
targets are float64 (N, T). Standardisation (per feature, statistics of the training
part only) is optional and on by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str  # "classification" or "regression"
    num_classes: int  # 0 for regression

    def targets(self, y: np.ndarray) -> np.ndarray:
        """What the loss head expects: one-hot rows (classification) or y itself."""
        if self.task == "classification":
            return np.eye(self.num_classes)[y]
        return y


def load_digits_xy() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1797 samples, 64 features 0..16, 10 classes)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data.astype(np.float64), d.target.astype(np.int64)


def load_npz_xy(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A user's ``.npz`` holding arrays ``X`` (N, ...) and ``y`` (N,) or (N, T)."""
    if not path.is_file():
        raise ValueError(f"data.path: file {str(path)!r} does not exist")
    with np.load(path, allow_pickle=False) as npz:
        missing = {"X", "y"} - set(npz.files)
        if missing:
            raise ValueError(f"data.path: {str(path)!r} lacks array(s) {sorted(missing)}; it has {npz.files}")
        x, y = np.asarray(npz["X"], dtype=np.float64), np.asarray(npz["y"])
    if x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise ValueError(f"data.path: X has {x.shape[0]} rows and y {y.shape[0]}; need equal and >= 2")
    return x.reshape(x.shape[0], -1), y


def synthetic_xy(
    task: str, num_samples: int, num_features: int, num_classes: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features; classification labels = argmax of random linear scores plus
    Gaussian noise of std ``noise``; regression y = X w + noise (one target)."""
    x = rng.normal(size=(num_samples, num_features))
    if task == "classification":
        w = rng.normal(size=(num_features, num_classes)) / np.sqrt(num_features)
        scores = x @ w + noise * rng.normal(size=(num_samples, num_classes))
        return x, scores.argmax(axis=1).astype(np.int64)
    w = rng.normal(size=(num_features, 1)) / np.sqrt(num_features)
    return x, x @ w + noise * rng.normal(size=(num_samples, 1))


def make_dataset(
    x: np.ndarray, y: np.ndarray, task: str, test_fraction: float, rng: np.random.Generator, standardize: bool = True
) -> Dataset:
    """Shuffle, split off ``test_fraction`` for testing, optionally standardise features."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction: must be in (0, 1), got {test_fraction}")
    if task not in ("classification", "regression"):
        raise ValueError(f"task: {task!r}; allowed: classification, regression")
    n = x.shape[0]
    n_test = round(test_fraction * n)
    if n_test < 1 or n - n_test < 1:
        raise ValueError(f"test_fraction: {test_fraction} of {n} samples leaves an empty train or test set")
    perm = rng.permutation(n)
    test, train = perm[:n_test], perm[n_test:]
    x_train, x_test = x[train], x[test]
    if standardize:
        mu, sd = x_train.mean(axis=0), x_train.std(axis=0)
        sd[sd == 0] = 1.0  # constant pixels stay 0 after centring
        x_train, x_test = (x_train - mu) / sd, (x_test - mu) / sd
    if task == "classification":
        y = np.asarray(y)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise ValueError("y: classification labels must be non-negative integers of shape (N,)")
        num_classes = int(y.max()) + 1
        y_train, y_test = y[train].astype(np.int64), y[test].astype(np.int64)
    else:
        y = np.asarray(y, dtype=np.float64).reshape(n, -1)
        num_classes = 0
        y_train, y_test = y[train], y[test]
    return Dataset(x_train, y_train, x_test, y_test, task, num_classes)
