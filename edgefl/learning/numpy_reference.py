"""A float64 numpy interpreter of the forward ops the gradient builder supports.

An independent reference for tests: onnxruntime's CPU build has no float64 Conv or
pooling, so the finite-difference checks of the gradient rules evaluate the forward
graph here, in float64, following the ONNX operator specification.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from onnx import ModelProto, numpy_helper
from scipy.special import erf

from edgefl.learning.grad_rules import attrs_of, explicit_pads


def _windows(x: np.ndarray, kernel, strides, pads, fill: float) -> np.ndarray:
    """(N, C, Ho, Wo, kh, kw) windows of the padded NCHW input."""
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=fill)
    win = sliding_window_view(xp, tuple(kernel), axis=(2, 3))
    return win[:, :, :: strides[0], :: strides[1]]


def _pool_args(attrs: dict, hw, kernel=None):
    kernel = list(attrs.get("kernel_shape", kernel))
    strides = list(attrs.get("strides", [1, 1]))
    return kernel, strides, explicit_pads(attrs, hw, kernel, strides)


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _gemm(v, a):
    A = v[0].T if a.get("transA", 0) else v[0]
    B = v[1].T if a.get("transB", 0) else v[1]
    y = a.get("alpha", 1.0) * (A @ B)
    return y + a.get("beta", 1.0) * v[2] if len(v) > 2 and v[2] is not None else y


def _conv(v, a):
    x, w = v[0], v[1]
    kernel, strides, pads = _pool_args(a, x.shape[2:], w.shape[2:])
    y = np.einsum("nchwij,ocij->nohw", _windows(x, kernel, strides, pads, 0.0), w)
    return y + v[2].reshape(1, -1, 1, 1) if len(v) > 2 and v[2] is not None else y


def _avg_pool(v, a):
    kernel, strides, pads = _pool_args(a, v[0].shape[2:])
    total = _windows(v[0], kernel, strides, pads, 0.0).sum(axis=(-2, -1))
    if a.get("count_include_pad", 0):
        return total / (kernel[0] * kernel[1])
    ones = np.ones((1, 1) + v[0].shape[2:])
    return total / _windows(ones, kernel, strides, pads, 0.0).sum(axis=(-2, -1))


def _max_pool(v, a):
    kernel, strides, pads = _pool_args(a, v[0].shape[2:])
    return _windows(v[0], kernel, strides, pads, -np.inf).max(axis=(-2, -1))


def _batch_norm(v, a):
    x, scale, bias, mean, var = v
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = 1.0 / np.sqrt(var + a.get("epsilon", 1e-5))
    return (x - mean.reshape(shape)) * (scale * inv).reshape(shape) + bias.reshape(shape)


def _reshape(v, a):
    shape = [int(s) for s in v[1]]
    if not a.get("allowzero", 0):
        shape = [v[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return v[0].reshape(shape)


def _flatten(v, a):
    axis = a.get("axis", 1) % max(v[0].ndim, 1)
    return v[0].reshape(int(np.prod(v[0].shape[:axis])), -1)


def _reduce(fn):
    """ReduceSum / ReduceMean with axes as attribute (older opsets) or input (newer)."""

    def run(v, a):
        axes = a.get("axes", v[1] if len(v) > 1 and v[1] is not None else None)
        if axes is None or len(axes) == 0:
            if a.get("noop_with_empty_axes", 0):
                return v[0]
            axes = range(v[0].ndim)
        return fn(v[0], axis=tuple(int(i) for i in axes), keepdims=bool(a.get("keepdims", 1)))

    return run


def _layer_norm(v, a):
    x = v[0]
    axes = tuple(range(a.get("axis", -1) % x.ndim, x.ndim))
    xc = x - x.mean(axis=axes, keepdims=True)
    xhat = xc / np.sqrt((xc**2).mean(axis=axes, keepdims=True) + a.get("epsilon", 1e-5))
    y = xhat * v[1]
    return y + v[2] if len(v) > 2 and v[2] is not None else y


def _clip(v, a):
    lo = v[1] if len(v) > 1 and v[1] is not None else a.get("min", -np.inf)
    hi = v[2] if len(v) > 2 and v[2] is not None else a.get("max", np.inf)
    return np.minimum(np.maximum(v[0], lo), hi)


def _hard_sigmoid(x, alpha, beta):
    return np.clip(alpha * x + beta, 0.0, 1.0)


def _selu(v, a):
    alpha, gamma = a.get("alpha", 1.67326319217681884765625), a.get("gamma", 1.05070102214813232421875)
    return gamma * np.where(v[0] > 0, v[0], alpha * (np.exp(v[0]) - 1.0))


def _unsqueeze(v, a):
    axes = a.get("axes", v[1] if len(v) > 1 else None)
    return np.expand_dims(v[0], axis=tuple(int(i) % (v[0].ndim + len(axes)) for i in axes))


def _squeeze(v, a):
    axes = a.get("axes", v[1] if len(v) > 1 else None)
    return np.squeeze(v[0], axis=None if axes is None else tuple(int(i) for i in axes))


def _nll(v, a):  # noqa: ARG001 (the OPS signature)
    """NegativeLogLikelihoodLoss, reduction mean, no weights: -(1/N) sum_n X[n, t_n]."""
    t = v[1].astype(np.int64)
    return -np.mean(v[0][np.arange(len(t)), t])


def _leaky_relu(v, a):
    return np.where(v[0] > 0, v[0], a.get("alpha", 0.01) * v[0])


OPS = {
    "Gemm": _gemm,
    "MatMul": lambda v, a: v[0] @ v[1],
    "Add": lambda v, a: v[0] + v[1],
    "Sub": lambda v, a: v[0] - v[1],
    "Mul": lambda v, a: v[0] * v[1],
    "Div": lambda v, a: v[0] / v[1],
    "Relu": lambda v, a: np.maximum(v[0], 0.0),
    "LeakyRelu": _leaky_relu,
    "Sigmoid": lambda v, a: 1.0 / (1.0 + np.exp(-v[0])),
    "Tanh": lambda v, a: np.tanh(v[0]),
    "Softmax": lambda v, a: _softmax(v[0], a.get("axis", -1)),
    "LogSoftmax": lambda v, a: _log_softmax(v[0], a.get("axis", -1)),
    "Conv": _conv,
    "MaxPool": _max_pool,
    "AveragePool": _avg_pool,
    "GlobalAveragePool": lambda v, a: v[0].mean(axis=(2, 3), keepdims=True),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": lambda v, a: np.transpose(v[0], a.get("perm")),
    "Concat": lambda v, a: np.concatenate(v, axis=a["axis"]),
    "BatchNormalization": _batch_norm,
    "Dropout": lambda v, a: v[0],
    "Identity": lambda v, a: v[0],
    "Shape": lambda v, a: np.array(v[0].shape, dtype=np.int64),
    "Gather": lambda v, a: np.take(v[0], v[1], axis=a.get("axis", 0)),
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Constant": lambda v, a: np.asarray(a["value"]),
    "Neg": lambda v, a: -v[0],
    "Exp": lambda v, a: np.exp(v[0]),
    "Log": lambda v, a: np.log(v[0]),
    "Sqrt": lambda v, a: np.sqrt(v[0]),
    "Reciprocal": lambda v, a: 1.0 / v[0],
    "Abs": lambda v, a: np.abs(v[0]),
    "Erf": lambda v, a: erf(v[0]),
    "Pow": lambda v, a: np.power(v[0], v[1].astype(np.float64)),
    "Softplus": lambda v, a: np.logaddexp(0.0, v[0]),
    "Elu": lambda v, a: np.where(v[0] > 0, v[0], a.get("alpha", 1.0) * (np.exp(v[0]) - 1.0)),
    "Selu": _selu,
    "HardSigmoid": lambda v, a: _hard_sigmoid(v[0], a.get("alpha", 0.2), a.get("beta", 0.5)),
    "HardSwish": lambda v, a: v[0] * _hard_sigmoid(v[0], 1.0 / 6.0, 0.5),
    "Clip": _clip,
    "PRelu": lambda v, a: np.where(v[0] > 0, v[0], v[1] * v[0]),
    "Cast": lambda v, a: v[0].astype(np.float64) if a["to"] in (1, 11) else v[0].astype(np.int64),
    "Where": lambda v, a: np.where(v[0], v[1], v[2]),
    "Sum": lambda v, a: sum(v[1:], v[0]),
    "Expand": lambda v, a: v[0] * np.ones([int(s) for s in v[1]]),
    "ReduceSum": _reduce(np.sum),
    "ReduceMean": _reduce(np.mean),
    "LayerNormalization": _layer_norm,
    "Greater": lambda v, a: v[0] > v[1],
    "NegativeLogLikelihoodLoss": _nll,
}


def run_reference(
    model: ModelProto, x: np.ndarray, params: dict[str, np.ndarray] | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Evaluate the model's first output in float64 on data ``x``; ``params`` override
    initializers by name; ``extra`` feeds further inputs (e.g. labels of a loss node)."""
    env: dict[str, np.ndarray] = {}
    for init in model.graph.initializer:
        arr = numpy_helper.to_array(init)
        env[init.name] = arr.astype(np.float64) if arr.dtype.kind == "f" else arr
    env.update({k: np.asarray(v, dtype=np.float64) for k, v in (params or {}).items()})
    env.update(extra or {})
    data = [i.name for i in model.graph.input if i.name not in env]
    env[data[0]] = np.asarray(x, dtype=np.float64)
    for node in model.graph.node:
        if node.op_type not in OPS:
            raise ValueError(f"numpy reference: op {node.op_type!r} is not implemented")
        vals = [env[n] if n else None for n in node.input]
        attrs = attrs_of(node)
        if node.op_type == "Constant":
            attrs["value"] = numpy_helper.to_array(attrs["value"])
        env[node.output[0]] = OPS[node.op_type](vals, attrs)
    return env[model.graph.output[0].name]
