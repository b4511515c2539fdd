"""Real learning: gradients of ONNX models through plain onnxruntime, datasets, worker
partitions, optimisers and the ``OnnxGradientSource`` the simulator drives.

Public API:
    build_source(cfg: ModelConfig, num_workers, seed, base_dir) -> OnnxGradientSource
    ModelConfig                      the scenario's ``model:`` section
    DifferentiableModel(model, loss) loss_and_grad(x, target, params), predict(x, params)
    build_gradient_graph(model, loss) the ONNX training graph (loss + dL/dparam)
    count_flops(model) -> float      forward + backward FLOPs per sample
    ceo_moments(grads)               (sigma_X^2, sigma_N^2) estimates, RD paper eq. (5)
"""

from edgefl.learning.autodiff import DifferentiableModel, build_gradient_graph
from edgefl.learning.config import ModelConfig
from edgefl.learning.emitter import GradientGraphError
from edgefl.learning.flops import count_flops
from edgefl.learning.moments import ceo_moments
from edgefl.learning.source import OnnxGradientSource, build_source

__all__ = [
    "DifferentiableModel",
    "GradientGraphError",
    "ModelConfig",
    "OnnxGradientSource",
    "build_gradient_graph",
    "build_source",
    "ceo_moments",
    "count_flops",
]
