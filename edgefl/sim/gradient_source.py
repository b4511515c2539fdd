"""The interface of a per-round source of local gradients.

The synthetic Gaussian CEO source (RD paper, Y_k = X + N_k) and the ONNX learning
source both implement it, so the simulator does not care where gradients come from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np


class GradientSource(ABC):
    """Produces the K local gradients of each round and consumes the aggregate."""

    num_workers: int
    num_params: int
    #: floating point operations one worker spends on one local gradient
    flops_per_gradient: float
    #: shapes of the model's tensors, in parameter order (per-layer compression schemes); None: one vector
    param_shapes: list[tuple[int, ...]] | None = None
    #: constants of the training problem a compression scheme's step-size conditions need
    #: (:class:`edgefl.compress.iade.ProblemConstants` for the convex test bed); None: none known
    problem_constants: Any = None
    #: the run's final round, which a source that evaluates every few rounds evaluates too (set by the build)
    last_round: int | None = None

    @abstractmethod
    def local_gradients(self, round: int, workers: np.ndarray | None = None) -> np.ndarray:
        """Return the (K, P) float64 local gradients at the current model: of every worker
        (``workers`` None), or of the workers listed in ``workers`` (real worker ids), one row
        per id in the order of ``workers`` (partial participation: only the selected compute)."""

    @abstractmethod
    def apply_aggregate(self, round: int, aggregate: np.ndarray) -> dict[str, float]:
        """Update the model with the server's aggregate; return per-round metrics
        (e.g. ``train_loss``, ``test_accuracy``, ``distortion_x``) to add to rounds.csv."""

    def metric_names(self) -> list[str]:
        """Names of the metrics ``apply_aggregate`` returns (columns of rounds.csv)."""
        return []

    def statistics(self) -> tuple[float, float] | None:
        """(sigma_X^2, sigma_N^2) of the CEO model if the source knows them exactly, else None
        (the engine then uses the previous round's ``sigma_x2_est`` / ``sigma_n2_est`` metrics)."""
        return None
