"""Real local gradients for the simulator: ``OnnxGradientSource`` (a ``GradientSource``).

Per round t (RD paper Sec. II-A): every worker k draws a minibatch of B samples from
its shard and computes g_k(t), eq. (2), at the current global model w(t) with
onnxruntime; the simulator compresses and aggregates them; ``apply_aggregate`` applies
the optimiser step, eq. (3) (with momentum when configured), and reports metrics.

All K gradients reuse one onnxruntime session, one run per worker (at 0.1 ms per
digits-MLP gradient at batch 128 a round of 10 workers costs about 1 ms, so batching
the K workers into one run is not worth a per-op per-worker rule set).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from edgefl.learning.autodiff import DifferentiableModel, producer_of
from edgefl.learning.config import SHIPPED_MODELS, ModelConfig
from edgefl.learning.data import (
    Dataset,
    load_digits_xy,
    load_mnist5k_xy,
    load_npz,
    make_dataset,
    mnist5k_split,
    split_dataset,
    synthetic_xy,
)
from edgefl.learning.flops import count_flops
from edgefl.learning.moments import ceo_moments
from edgefl.learning.optim import Optimizer
from edgefl.learning.probe import check_gradients_reach
from edgefl.learning.partition import (
    MinibatchSampler,
    partition_dirichlet,
    partition_iid,
    partition_shards,
)
from edgefl.sim.gradient_source import GradientSource


def _models_dir() -> Path:
    # repository checkout (editable install) first, then the copy packed into a wheel
    for cand in (Path(__file__).resolve().parents[2] / "models",
                 Path(__file__).resolve().parents[1] / "_catalog" / "models"):
        if cand.is_dir():
            return cand
    return Path(__file__).resolve().parents[2] / "models"


MODELS_DIR = _models_dir()
#: keeps the minibatch streams apart from the data/partition streams of the same seed
SAMPLER_STREAM = 0x5A3E


class OnnxGradientSource(GradientSource):
    """K workers training one ONNX model on their shards of a dataset."""

    def __init__(
        self,
        model: DifferentiableModel,
        dataset: Dataset,
        shards: list[np.ndarray],
        optimizer: Optimizer,
        batch_size: int,
        eval_every: int,
        seed: int,
        flops_per_sample: float,
    ):
        if eval_every < 1:
            raise ValueError(f"eval_every: must be >= 1, got {eval_every}")
        self.model = model
        self.dataset = dataset
        self.shards = shards
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.eval_every = eval_every
        #: the run's final round, always evaluated so the final accuracy is fresh (set by the simulator)
        self.last_round: int | None = None
        self.param_shapes = list(model.layout.shapes)
        self.num_workers = len(shards)
        self.num_params = model.num_params
        self.flops_per_sample = float(flops_per_sample)
        self.flops_per_gradient = self.flops_per_sample * batch_size
        #: the global model w(t), float64; ``model.layout.views(params)`` gives per-tensor views
        self.params = model.graph.initial.copy()
        streams = np.random.SeedSequence([seed, SAMPLER_STREAM]).spawn(self.num_workers)
        rngs = [np.random.default_rng(s) for s in streams]
        self.samplers = [MinibatchSampler(s, batch_size, r) for s, r in zip(shards, rngs)]
        shape = _input_shape(model, dataset.x_train.shape[1])
        self._x_train = dataset.x_train.reshape(shape)
        self._t_train = dataset.targets(dataset.y_train)
        self._x_test = dataset.x_test.reshape(shape)
        self._classify = dataset.task == "classification"
        self._ends_in_softmax = _ends_in_softmax(model)
        self._pending: dict[str, float] | None = None
        self._pending_round: int | None = None
        self._blocks = model.layout.block_ids()
        #: per-tensor (sigma_X^2, sigma_N^2) estimates of the last round (RD paper's per-layer
        #: model, Corollary 1), tensors in ``model.layout.names`` order; None before round 0
        self.layer_moments: tuple[np.ndarray, np.ndarray] | None = None
        self._test = {"test_loss": math.nan, "test_accuracy": math.nan}

    # --- GradientSource ---------------------------------------------------------------
    def local_gradients(self, round: int, workers: np.ndarray | list[int] | None = None) -> np.ndarray:
        """(K', P) local gradients of round ``round`` for the worker ids ``workers`` (all K
        in id order when None), row i for ``workers[i]``.

        Partial participation (DSC paper Sec. V-A: K of a population take part in each
        iteration): only the selected workers draw a minibatch and run the model, so the
        cost is that of K' gradients; each worker's minibatch stream is its own, so a
        worker's batches do not depend on who else was selected, and ``workers=None``
        gives exactly the full-participation result."""
        ids = self._worker_ids(workers)
        grads = np.empty((len(ids), self.num_params))
        losses = np.empty(len(ids))
        start = time.perf_counter()
        for row, k in enumerate(ids):
            idx = self.samplers[k].next()
            losses[row], grads[row] = self.model.loss_and_grad(self._x_train[idx], self._t_train[idx], self.params)
        wall = time.perf_counter() - start
        if len(ids) >= 2:
            sx2, sn2 = (float(v[0]) for v in ceo_moments(grads))
            self.layer_moments = ceo_moments(grads, self._blocks)
        else:  # the across-worker spread is undefined for one worker
            sx2, sn2 = math.nan, math.nan
        self._pending = {
            "train_loss": float(losses.mean()),
            "sigma_x2_est": sx2,
            "sigma_n2_est": sn2,
            "grad_wall_s": wall,
        }
        self._pending_round = round
        return grads

    def _worker_ids(self, workers) -> np.ndarray:
        if workers is None:
            return np.arange(self.num_workers)
        ids = np.asarray(workers)
        if ids.ndim != 1 or len(ids) == 0 or ids.dtype.kind not in "iu":
            raise ValueError(f"workers: need a non-empty 1-D list of worker ids, got {workers!r}")
        if ids.min() < 0 or ids.max() >= self.num_workers or len(np.unique(ids)) != len(ids):
            raise ValueError(f"workers: ids must be distinct and in 0..{self.num_workers - 1}, got {ids.tolist()}")
        return ids

    def apply_aggregate(self, round: int, aggregate: np.ndarray) -> dict[str, float]:
        if self._pending is None or self._pending_round != round:
            raise ValueError(f"round: apply_aggregate({round}) without local_gradients({round}) before it")
        self.optimizer.step(self.params, np.asarray(aggregate, dtype=np.float64))
        evaluated = round == 0 or (round + 1) % self.eval_every == 0 or round == self.last_round
        if evaluated:
            self.evaluate()
        metrics = dict(self._pending)
        metrics.update(self._test if self._classify else {"test_loss": self._test["test_loss"]})
        metrics["evaluated"] = float(evaluated)
        self._pending = None
        return metrics

    def metric_names(self) -> list[str]:
        names = ["train_loss", "test_loss"] + (["test_accuracy"] if self._classify else [])
        return names + ["evaluated", "sigma_x2_est", "sigma_n2_est", "grad_wall_s"]

    # --- evaluation -------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        """Test loss (and accuracy) of the current model; the values are carried into the
        metrics of the rounds that do not evaluate."""
        out = self.model.predict(self._x_test, self.params)
        y = self.dataset.y_test
        if self._classify:
            z = out - out.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            if self._ends_in_softmax:  # the output already holds probabilities
                logp = np.log(np.clip(out, 1e-300, None))
            self._test = {
                "test_loss": float(-logp[np.arange(len(y)), y].mean()),
                "test_accuracy": float((out.argmax(axis=1) == y).mean()),
            }
        else:
            self._test = {"test_loss": float(np.mean((out - y) ** 2)), "test_accuracy": math.nan}
        return dict(self._test)


def _ends_in_softmax(model: DifferentiableModel) -> bool:
    producer = producer_of(model.graph.inference.graph, model.graph.output_name)
    return producer is not None and producer.op_type == "Softmax"


def _input_shape(model: DifferentiableModel, num_features: int) -> tuple[int, ...]:
    """(-1, *model input shape without batch), checked against the data's feature count."""
    shape = model.graph.input_shape
    dims = () if shape is None else shape[1:]
    if shape is None or any(not isinstance(d, int) for d in dims):
        raise ValueError(f"model: input {model.graph.input_name!r} needs static non-batch dims, has {shape}")
    if int(np.prod(dims, dtype=np.int64)) != num_features:
        raise ValueError(
            f"model: input {model.graph.input_name!r} takes {tuple(dims)} per sample "
            f"({int(np.prod(dims))} values) but the data has {num_features} features"
        )
    return (-1, *dims)


def resolve_model_path(name: str, base_dir: Path) -> Path:
    """A shipped model name -> models/<name>.onnx; a relative path is taken from base_dir."""
    if name in SHIPPED_MODELS:
        path = MODELS_DIR / f"{name}.onnx"
        if not path.is_file():
            raise ValueError(f"model: shipped model {name!r} not found at {path}; run python models/make_models.py")
        return path
    path = Path(name)
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise ValueError(f"model: file {str(path)!r} does not exist")
    return path


def load_dataset(cfg: ModelConfig, rng: np.random.Generator, base_dir: Path) -> Dataset:
    data = cfg.data
    if data.kind == "digits":
        x, y = load_digits_xy()
        task = "classification"
    elif data.kind == "mnist-5k":
        x, y = load_mnist5k_xy()
        train, test = mnist5k_split(y, cfg.test_fraction)
        return split_dataset(x[train], y[train], x[test], y[test], "classification", data.standardize)
    elif data.kind == "npz":
        path = data.path if data.path.is_absolute() else base_dir / data.path
        arrays = load_npz(path, data.task)
        try:  # what splitting finds wrong is the file's: name it
            if arrays.x_test is not None:  # the file's own held-out set
                return split_dataset(arrays.x, arrays.y, arrays.x_test, arrays.y_test, data.task, data.standardize)
            return make_dataset(arrays.x, arrays.y, data.task, cfg.test_fraction, rng, standardize=data.standardize)
        except ValueError as exc:
            raise ValueError(f"data file {str(path)!r}: {exc}") from None
    else:
        x, y = synthetic_xy(data.task, data.num_samples, data.num_features, data.num_classes, data.noise, rng)
        task = data.task
    return make_dataset(x, y, task, cfg.test_fraction, rng, standardize=data.standardize)


def build_source(cfg: ModelConfig, num_workers: int, seed: int, base_dir: Path) -> OnnxGradientSource:
    """Everything a scenario's ``model:`` section describes, seeded by ``seed``."""
    if num_workers < 1:
        raise ValueError(f"num_workers: must be >= 1, got {num_workers}")
    path = resolve_model_path(cfg.model, Path(base_dir))
    model = DifferentiableModel(path, loss=cfg.loss, threads=cfg.threads, frozen=cfg.frozen)
    data_rng, part_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    dataset = load_dataset(cfg, data_rng, Path(base_dir))
    out_shape = model.graph.output_shape
    n_out = out_shape[-1] if out_shape else None
    if dataset.task == "classification" and isinstance(n_out, int) and n_out < dataset.num_classes:
        where = f"data file {str(cfg.data.path)!r}, key 'y'" if cfg.data.kind == "npz" else f"data {cfg.data.kind}"
        raise ValueError(
            f"{where}: label {dataset.num_classes - 1} is out of range for the model's {n_out} classes (0..{n_out - 1})"
        )
    if dataset.task == "regression" and isinstance(n_out, int) and n_out != dataset.y_train.shape[1]:
        raise ValueError(f"model: output has {n_out} values but the data has {dataset.y_train.shape[1]} targets")
    if dataset.task == "classification" and isinstance(n_out, int):
        dataset = Dataset(dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test, dataset.task, n_out)
    n = dataset.x_train.shape[0]
    part = cfg.partition
    if part.kind == "iid":
        shards = partition_iid(n, num_workers, part_rng)
    elif part.kind == "dirichlet":
        shards = partition_dirichlet(dataset.y_train, num_workers, part.alpha, part_rng)
    else:
        shards = partition_shards(dataset.y_train, num_workers, part.shards_per_worker, part_rng)
    optimizer = Optimizer(cfg.optimizer, cfg.lr, cfg.momentum if cfg.optimizer == "momentum" else 0.0)
    source = OnnxGradientSource(
        model, dataset, shards, optimizer, cfg.batch_size, cfg.eval_every, seed,
        flops_per_sample=count_flops(path, cfg.frozen, cfg.loss),
    )
    check_gradients_reach(model, source._x_train, source._t_train, source.params)
    return source
