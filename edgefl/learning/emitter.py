"""Emit ONNX nodes and constants while building a gradient graph.

The emitter hands out unique tensor names, keeps the new nodes and initializers, and
knows the static shapes that ONNX shape inference found for the forward graph, so the
vector-Jacobian rules in :mod:`edgefl.learning.grad_rules` can decide things like
broadcast axes and transposed-convolution output padding when the graph is built.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import TensorProto, helper, numpy_helper

#: a static shape: a tuple of ints (known), strings (symbolic) or None (unknown) per axis
Shape = tuple[int | str | None, ...]


class GradientGraphError(ValueError):
    """The forward graph cannot be differentiated (unsupported op or attribute)."""


class Emitter:
    """Collects nodes and constants for the backward part of a graph."""

    def __init__(self, elem_type: int, shapes: dict[str, Shape | None]):
        self.elem_type = elem_type
        self.np_dtype = helper.tensor_dtype_to_np_dtype(elem_type)
        self.shapes = shapes
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"grad::{hint}::{self._count}"

    def op(self, op_type: str, inputs: list[str], hint: str = "", n_out: int = 1, **attrs: Any):
        """Append one node; return its output name (or list of names if n_out > 1)."""
        outs = [self.fresh(f"{hint or op_type}") for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=outs[0], **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value: np.ndarray, hint: str = "c") -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def scalar(self, value: float) -> str:
        """A 0-d constant of the model's float type."""
        return self.const(np.array(value, dtype=self.np_dtype), "scalar")

    def ints(self, values: list[int] | tuple[int, ...]) -> str:
        return self.const(np.asarray(values, dtype=np.int64), "ints")

    def rank_of(self, name: str, node_name: str = "") -> int:
        shape = self.shapes.get(name)
        if shape is None:
            raise GradientGraphError(
                f"tensor {name!r} (node {node_name!r}) has no static rank after ONNX shape "
                "inference; give the model's inputs a fixed rank"
            )
        return len(shape)

    def static_shape(self, name: str, node_name: str = "", skip_batch: bool = False) -> tuple[int, ...]:
        """Known integer shape of ``name`` (axis 0 may be symbolic if ``skip_batch``)."""
        shape = self.shapes.get(name)
        dims = None if shape is None else (shape[1:] if skip_batch else shape)
        if dims is None or any(not isinstance(d, int) for d in dims):
            raise GradientGraphError(
                f"tensor {name!r} (node {node_name!r}) needs static dimensions for its gradient "
                f"rule, shape inference gave {shape}"
            )
        return tuple(dims)

    def zeros_like(self, name: str) -> str:
        """A zero tensor with the runtime shape of ``name``."""
        value = helper.make_tensor("value", self.elem_type, [1], [0.0])
        return self.op("ConstantOfShape", [self.op("Shape", [name])], "zeros", value=value)

    def reshape_like(self, grad: str, like: str) -> str:
        return self.op("Reshape", [grad, self.op("Shape", [like])], "reshape_like")

    def unbroadcast(self, grad: str, target: str, out: str, node_name: str = "") -> str:
        """Sum ``grad`` (shaped like ``out``) over the axes ``target`` was broadcast along.

        Axes where ``target`` has extent 1 are summed with keepdims; summing an axis that
        was not broadcast (runtime extent 1) is the identity, so this is safe when the
        output extent is symbolic.
        """
        t_shape = self.shapes.get(target)
        o_shape = self.shapes.get(out)
        if t_shape is not None and o_shape is not None and tuple(t_shape) == tuple(o_shape) and all(
            d is not None for d in t_shape
        ):
            return grad
        rank_t = self.rank_of(target, node_name)
        rank_o = self.rank_of(out, node_name)
        lead = rank_o - rank_t
        axes = list(range(lead)) + [i + lead for i, d in enumerate(t_shape) if d == 1]
        if axes:
            grad = self.op("ReduceSum", [grad, self.ints(axes)], "unbroadcast", keepdims=1)
        return self.reshape_like(grad, target)


FLOAT_TYPES = (TensorProto.FLOAT, TensorProto.DOUBLE)
