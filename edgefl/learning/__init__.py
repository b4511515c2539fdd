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

# Imported on first use (PEP 562): the scenario schema imports the config submodules, and
# pulling in the numerical ones with them would slow `edgefl --help` and `validate`.
from __future__ import annotations

from edgefl.lazy import lazy_attributes

_LAZY = {
    "DifferentiableModel": "edgefl.learning.autodiff",
    "build_gradient_graph": "edgefl.learning.autodiff",
    "ModelConfig": "edgefl.learning.config",
    "GradientGraphError": "edgefl.learning.emitter",
    "count_flops": "edgefl.learning.flops",
    "ceo_moments": "edgefl.learning.moments",
    "OnnxGradientSource": "edgefl.learning.source",
    "build_source": "edgefl.learning.source",
}

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


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
