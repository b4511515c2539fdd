"""Floating-point operations of one training sample (forward + backward), from the graph.

The device-time model needs an operation count per local gradient: FLOPs per sample
times the batch size. Counts follow the usual conventions (a multiply-add is 2 FLOPs):

* Gemm / MatMul: 2 M K N forward; backward 2 M K N for each of dX, dW that is needed
  (dX of the first layer is not, the data needs no gradient), + M N for the bias.
* Conv: 2 (C_in kh kw) numel(Y) forward; backward likewise per needed dX, dW.
* Pooling: kh kw numel(Y) forward, the same backward; GlobalAveragePool numel(X).
* Elementwise and activation ops: a per-element cost (1 for Add/Relu, 4 for
  Sigmoid/Tanh/Exp, 5 for Softmax, 8 for Erf/LayerNormalization) forward, twice that
  backward (local derivative, product); ReduceSum/ReduceMean per input element.
* Shape ops cost nothing.

Shapes come from ONNX shape inference with the batch axis fixed to 1.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from onnx import ModelProto

from edgefl.learning.autodiff import load_model, shape_table, trainable_initializers
from edgefl.learning.grad_rules import attrs_of

ELEMENTWISE_COST = {
    "Add": 1, "Sub": 1, "Mul": 1, "Div": 1, "Relu": 1, "LeakyRelu": 2, "Sigmoid": 4, "Tanh": 4,
    "Softmax": 5, "LogSoftmax": 5, "BatchNormalization": 2, "Sum": 1, "Neg": 1, "Abs": 1,
    "Reciprocal": 1, "Clip": 1, "Where": 1, "PRelu": 2, "HardSigmoid": 2, "HardSwish": 3,
    "Exp": 4, "Log": 4, "Sqrt": 4, "Pow": 4, "Elu": 4, "Selu": 4, "Softplus": 8, "Erf": 8,
    "LayerNormalization": 8,
}
#: reductions cost per element of their input
REDUCTION_COST = {"ReduceSum": 1, "ReduceMean": 1}


def _numel(shape) -> float:
    if shape is None or any(not isinstance(d, int) for d in shape):
        raise ValueError(f"count_flops: a tensor has no static shape ({shape}); fix the model's input shape")
    return float(np.prod(shape, dtype=np.float64))


def count_flops(model: str | Path | ModelProto, frozen: tuple[str, ...] = (), loss: str | None = None) -> float:
    """FLOPs of forward + backward for ONE sample of ``model`` (see module docstring);
    ``loss`` as for the gradient graph (an exported loss node is cut off first)."""
    proto = copy.deepcopy(load_model(model, loss))
    init_names = {i.name for i in proto.graph.initializer}
    for inp in proto.graph.input:
        if inp.name not in init_names and inp.type.tensor_type.shape.dim:
            dim0 = inp.type.tensor_type.shape.dim[0]
            dim0.Clear()
            dim0.dim_value = 1
    proto.graph.ClearField("value_info")
    for out in proto.graph.output:
        out.type.tensor_type.ClearField("shape")
    shapes = shape_table(proto)
    requires = set(trainable_initializers(proto.graph, set(frozen)))
    total = 0.0
    for node in proto.graph.node:
        needs = [n in requires for n in node.input]
        if any(needs):
            requires.update(o for o in node.output if o)
        op = node.op_type
        if op in ("Gemm", "MatMul", "Conv"):
            y = _numel(shapes.get(node.output[0]))
            if op == "Conv":
                w = shapes.get(node.input[1])
                inner = _numel(w[1:])
            else:
                a = shapes.get(node.input[0])
                trans = op == "Gemm" and attrs_of(node).get("transA", 0)
                inner = float(a[0] if trans else a[-1])
            fwd = 2.0 * inner * y
            total += fwd * (1 + sum(needs[:2]))
            if len(node.input) > 2 and node.input[2]:
                total += y * (1 + needs[2])
        elif op in ("MaxPool", "AveragePool"):
            k = attrs_of(node)["kernel_shape"]
            total += 2.0 * float(np.prod(k)) * _numel(shapes.get(node.output[0]))
        elif op == "GlobalAveragePool":
            total += 2.0 * _numel(shapes.get(node.input[0]))
        elif op in REDUCTION_COST:
            total += 3.0 * REDUCTION_COST[op] * _numel(shapes.get(node.input[0]))
        elif op in ELEMENTWISE_COST:
            total += 3.0 * ELEMENTWISE_COST[op] * _numel(shapes.get(node.output[0]))
    return total
