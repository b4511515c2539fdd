"""Scenario block ``gradients: {source: convex, ...}``: the convex test bed's settings.

Kept apart from :mod:`edgefl.learning.convex_source` so that validating a scenario does not
import scipy (the problems and their optima are built only when a run starts).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from edgefl.config_model import StrictModel


class ConvexConfig(StrictModel):
    """A strongly convex problem with a known optimum, split over the workers."""

    source: Literal["convex"] = "convex"
    problem: Literal["ridge", "logistic"] = "ridge"
    data: Literal["synthetic", "digits"] = "synthetic"
    kappa: float = Field(100.0, gt=1.0, description="condition number L/mu of synthetic data")
    num_samples: PositiveInt = Field(2000, description="synthetic rows")
    num_features: PositiveInt = Field(50, description="synthetic features d")
    noise: float = Field(0.1, ge=0.0, description="ridge target noise (synthetic)")
    interpolation: bool = Field(False, description="synthetic ridge without noise or regulariser: weak growth holds")
    lam: float | None = Field(None, ge=0.0, description="L2 weight; default 1e-2 on digits, from kappa on synthetic")
    batch_size: PositiveInt | None = Field(None, description="minibatch rows per worker (None: full batch)")
    optimizer: Literal["gd", "nesterov"] = "gd"
    lr: PositiveFloat | None = Field(None, description="step eta; default 1/L (1/(rho L) with minibatches)")
    momentum: float | None = Field(None, ge=0.0, lt=1.0,
                                   description="Nesterov tau; default (sqrt L - sqrt mu)/(sqrt L + sqrt mu)")
    flops_per_gradient: PositiveFloat | None = Field(None, description="default 4 n_i d (two mat-vec products)")

    @model_validator(mode="after")
    def _consistent(self) -> ConvexConfig:
        if self.interpolation and (self.problem != "ridge" or self.data != "synthetic"):
            raise ValueError("interpolation: only for problem ridge on synthetic data")
        if self.data == "synthetic" and self.num_samples < self.num_features:
            raise ValueError(f"num_samples = {self.num_samples} must be >= num_features = {self.num_features}")
        if self.momentum is not None and self.optimizer != "nesterov":
            raise ValueError("momentum: only with optimizer nesterov")
        return self
