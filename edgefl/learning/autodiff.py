"""Gradients of a user's inference ONNX model with plain onnxruntime (CPU).

Why a reverse-mode gradient-graph builder (measured 2026-11, issue 6):

* ``onnxruntime-training`` 1.19.2 (last release) replaces the ``onnxruntime`` package
  under the same import name, ``onnxruntime.training`` needs torch (a 2.6 GB CUDA
  install) or an import hack, its artifact generator needs onnx <= 1.17, and plain
  onnxruntime cannot run the graphs it produces (``com.microsoft:SoftmaxCrossEntropyLossGrad``
  is not registered). Not a fit for a light install.
* Appending the backward pass as *standard* ONNX ops (one vector-Jacobian rule per op in
  :mod:`edgefl.learning.grad_rules`) gives one graph ``(x, target, params) -> (loss,
  dL/dparam ...)`` that plain onnxruntime 1.32 runs: a 784-128-10 MLP matches float64
  finite differences to 1e-6; the digits MLP (64-128-10) at batch 128 costs about the
  same as a hand-written numpy forward+backward (see ``benchmarks/gradient_speed.py``).

How: the trainable initializers become graph inputs (so the current parameters are fed
each run from one flat float64 vector, see :mod:`edgefl.learning.params`), a loss head
(:mod:`edgefl.learning.losses`) seeds dL/d(logits), and the nodes are walked in reverse
topological order accumulating gradients (multiple consumers -> Sum). Any op on the
gradient path without a rule raises :class:`GradientGraphError` at load time, naming the
op type and node. Models with opset < 16 are converted to opset 17 first (the rules use
ReduceSum with an axes input and ScatterElements with reduction="add").

onnxruntime's CPU build has no float64 Conv/ConvTranspose/pooling kernels, so float32
models are the norm; gradients come out of the session in the model's float type and are
returned as float64.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import ModelProto, TensorProto, helper, numpy_helper

from edgefl.learning.emitter import FLOAT_TYPES, Emitter, GradientGraphError, Shape
from edgefl.learning.grad_rules import (
    NON_DIFFERENTIABLE,
    RULES,
    attrs_of,
    differentiable_inputs,
)
from edgefl.learning.losses import LOSSES, cross_entropy_head, mse_head
from edgefl.learning.params import ParamLayout

MIN_OPSET = 16
MIN_IR_VERSION = 8
TARGET_OPSET = 17
TARGET_NAME = "target"
LOSS_NAME = "loss"


@dataclass(frozen=True)
class GradientGraph:
    """The built graphs and what is needed to feed them."""

    training: ModelProto  # inputs: data, target, params; outputs: loss, grads
    inference: ModelProto  # inputs: data, params; outputs: the model's output
    layout: ParamLayout
    initial: np.ndarray  # (P,) float64 initial parameters from the file
    input_name: str
    input_shape: Shape  # as declared/inferred (axis 0 usually symbolic batch)
    output_name: str
    output_shape: Shape
    elem_type: int


def load_model(model: str | Path | ModelProto, loss: str | None = None) -> ModelProto:
    """Load a model file (or copy a ModelProto), cut off an exported loss node when
    ``loss`` is given (:func:`strip_exported_loss`), and bring it to opset >= 16."""
    if isinstance(model, ModelProto):
        proto = copy.deepcopy(model)
    else:
        path = Path(model)
        if not path.is_file():
            raise ValueError(f"model: file {str(path)!r} does not exist")
        proto = onnx.load(str(path))
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None:
        raise ValueError("model: no default-domain opset import")
    if loss is not None:  # before converting: the converter lacks some loss-op adapters
        strip_exported_loss(proto.graph, loss)
    if opset < MIN_OPSET:
        try:
            proto = onnx.version_converter.convert_version(proto, TARGET_OPSET)
        except Exception as exc:  # the converter raises assorted types
            raise GradientGraphError(f"model: could not convert opset {opset} to {TARGET_OPSET}: {exc}") from exc
    # IR < 4 demands every initializer be a graph input; the built graphs feed only the
    # trainable ones, and opset 17 needs IR 8 anyway
    proto.ir_version = max(proto.ir_version, MIN_IR_VERSION)
    check_structure(proto)
    return proto


def check_structure(proto: ModelProto) -> None:
    """Initializers whose data matches their dims and type, and default-domain nodes with as many
    inputs and outputs as their ONNX schema allows; an error names the tensor or node."""
    for t in proto.graph.initializer:
        where = f"model: initializer {t.name!r}"
        dims = [int(d) for d in t.dims]
        if any(d < 0 for d in dims):
            raise GradientGraphError(f"{where} has negative dimensions {dims}")
        try:
            itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
            field = helper.tensor_dtype_to_field(t.data_type)
        except Exception:  # noqa: BLE001 - onnx raises KeyError/ValueError for unknown type codes
            raise GradientGraphError(f"{where} has unknown data type {t.data_type}") from None
        n = int(np.prod(dims, dtype=np.float64)) if dims else 1
        if t.data_location == TensorProto.EXTERNAL or t.data_type in (TensorProto.STRING, TensorProto.COMPLEX64,
                                                                      TensorProto.COMPLEX128):
            continue
        have = len(t.raw_data) / itemsize if t.HasField("raw_data") else len(getattr(t, field))
        if have != n:
            raise GradientGraphError(
                f"{where}: dims {dims} need {n} values of {helper.tensor_dtype_to_np_dtype(t.data_type)} but it "
                f"holds {have:g}")
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), TARGET_OPSET)
    for node in proto.graph.node:
        if node.domain not in ("", "ai.onnx"):
            continue
        try:
            schema = onnx.defs.get_schema(node.op_type, opset, "")
        except Exception:  # noqa: BLE001 - unknown ops are reported on the gradient path
            continue
        n_in = len(node.input)
        n_out = len(node.output)
        if not (schema.min_input <= n_in <= schema.max_input and schema.min_output <= n_out <= schema.max_output):
            raise GradientGraphError(
                f"model: node {node.name!r} ({node.op_type}) has {n_in} inputs and {n_out} outputs; "
                f"{node.op_type}-{schema.since_version} takes {schema.min_input}..{schema.max_input} inputs and "
                f"{schema.min_output}..{schema.max_output} outputs")


def shape_table(model: ModelProto) -> dict[str, Shape | None]:
    """Static shape of every tensor ONNX shape inference (with data propagation) can
    tell: ints for known extents, strings for symbolic ones, None for unknown."""
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    table: dict[str, Shape | None] = {}
    g = inferred.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            table[vi.name] = None
            continue
        dims = []
        for d in t.shape.dim:
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            elif d.HasField("dim_param"):
                dims.append(d.dim_param)
            else:
                dims.append(None)
        table[vi.name] = tuple(dims)
    for init in g.initializer:
        table[init.name] = tuple(int(d) for d in init.dims)
    return table


def _value_info(name: str, elem_type: int, shape: Shape | None):
    dims = None if shape is None else [d if d is not None else "?" for d in shape]
    return helper.make_tensor_value_info(name, elem_type, dims)


#: non-differentiable ops whose float inputs are thresholds or shape sources, never weights
STRUCTURAL = NON_DIFFERENTIABLE - {"Sign", "Floor", "Ceil", "Round"}
#: ops whose attributes hold subgraphs; their gradient is not built (see build_gradient_graph)
CONTROL_FLOW = ("If", "Loop", "Scan")


def outer_names(node) -> set[str]:
    """Tensors of the enclosing graph(s) that ``node``'s subgraphs (If branches, Loop and Scan
    bodies, nested ones included) read: their inputs and outputs not defined inside."""
    out: set[str] = set()
    for a in node.attribute:
        graphs = [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)
        for g in graphs:
            defined = {i.name for i in g.input} | {i.name for i in g.initializer}
            defined |= {o for n in g.node for o in n.output}
            used = {o.name for o in g.output}
            for n in g.node:
                used.update(x for x in n.input if x)
                used |= outer_names(n)
            out |= used - defined
    return out


def node_inputs(node) -> list[str]:
    """Everything ``node`` reads: its inputs, then (for control flow) the outer tensors its subgraphs read."""
    return list(node.input) + sorted(outer_names(node) - set(node.input))


def trainable_initializers(graph, frozen: set[str]) -> list[str]:
    """Float initializers of rank >= 1 that feed a differentiable input slot of some node
    (so not BatchNorm running statistics), in initializer order, minus ``frozen``.

    Rank-0 initializers are constants: exporters constant-fold the scalars of GELU
    (0.5, sqrt 2), LayerNorm (eps) and the like into 0-d tensors, while layer weights
    and biases always have rank >= 1. So are initializers read only by comparisons and
    shape ops (:data:`STRUCTURAL`); one read by Round/Floor/Ceil/Sign stays trainable, so that
    its zero gradient is reported (build_gradient_graph) rather than silently frozen."""
    floats = {i.name for i in graph.initializer if i.data_type in FLOAT_TYPES and len(i.dims) > 0} - frozen
    used = set()
    for node in graph.node:
        if node.op_type in STRUCTURAL:  # a threshold or shape source, not a weight
            continue
        diff = differentiable_inputs(node) if node.op_type in RULES else range(len(node.input))
        used.update(name for i, name in enumerate(node.input) if name in floats and i in diff)
        used.update(name for name in outer_names(node) if name in floats)  # read inside a subgraph
    return [i.name for i in graph.initializer if i.name in used]


def producer_of(graph, name: str):
    """The node computing ``name``, looking through Identity nodes (tf2onnx and PyTorch
    put one before a graph output); None for a graph input or initializer."""
    by_output = {o: n for n in graph.node for o in n.output}
    node = by_output.get(name)
    while node is not None and node.op_type == "Identity":
        node = by_output.get(node.input[0])
    return node


#: loss ops an exporter writes when the exported module returns its loss
EXPORTED_LOSSES = ("NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss")


def strip_exported_loss(graph, loss: str) -> None:
    """Cut an exported loss node off the graph (in place), keeping the scores it reads as
    the model output, so edgefl's own cross-entropy head (the same mean NLL over the
    batch) is appended instead.

    ``LogSoftmax -> NegativeLogLikelihoodLoss`` (PyTorch ``F.nll_loss(F.log_softmax(z))``)
    and ``SoftmaxCrossEntropyLoss`` (``F.cross_entropy(z, t)``) with ``reduction="mean"``,
    no class weights and no ignore_index equal -(1/N) sum_n log p[n, t_n], ONNX operator
    specification; the label input (int64, (N,)) is dropped and labels come from the data."""
    ends = [producer_of(graph, o.name) for o in graph.output]
    nodes = [n for n in graph.node if n.op_type in EXPORTED_LOSSES and any(n is e for e in ends)]
    if not nodes:
        return
    node = nodes[0]
    where = f"{node.op_type} (node {node.name!r})"
    if len(nodes) > 1:
        raise GradientGraphError(f"model: more than one exported loss node; edgefl adds one loss ({where})")
    if loss != "cross_entropy":
        raise GradientGraphError(f"model: ends in {where}, a classification loss; use loss: cross_entropy")
    attrs = attrs_of(node)
    reduction = attrs.get("reduction", b"mean")
    reduction = reduction.decode() if isinstance(reduction, bytes) else reduction
    if reduction != "mean" or "ignore_index" in attrs or (len(node.input) > 2 and node.input[2]):
        raise GradientGraphError(
            f"model: {where} must have reduction='mean', no weights and no ignore_index to be "
            f"replaced by edgefl's cross-entropy; got reduction={reduction!r}"
        )
    scores, label = node.input[0], node.input[1]
    producer = next((n for n in graph.node if scores in n.output), None)
    if node.op_type == "NegativeLogLikelihoodLoss" and (producer is None or producer.op_type != "LogSoftmax"):
        raise GradientGraphError(f"model: {where} must read the output of a LogSoftmax node")
    if any(label in n.input for n in graph.node if n is not node):
        raise GradientGraphError(f"model: the label input {label!r} of {where} is used by other nodes")
    # the loss node and the Identity nodes between it and the graph output go
    dead = {node.output[0]}
    for n in list(graph.node):
        if n is node or (n.op_type == "Identity" and n.input[0] in dead):
            dead.update(n.output)
            graph.node.remove(n)
    for o in [o for o in graph.output if o.name in dead or o.name == scores]:
        graph.output.remove(o)
    for i in [i for i in graph.input if i.name == label]:
        graph.input.remove(i)
    inits = {i.name for i in graph.initializer}
    data = [i for i in graph.input if i.name not in inits]
    elem_type = data[0].type.tensor_type.elem_type if data else TensorProto.FLOAT
    graph.output.append(helper.make_tensor_value_info(scores, elem_type, None))


def _casts_to_non_float(node) -> bool:
    """A Cast to an integer or bool type ends the gradient path (shape arithmetic)."""
    return node.op_type == "Cast" and attrs_of(node).get("to") not in FLOAT_TYPES


def _check_dropout_inference(graph) -> None:
    """Dropout is differentiated as the identity (inference mode); a training_mode input
    that is not a constant False would make the forward pass random."""
    consts = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    for n in graph.node:
        if n.op_type == "Dropout" and len(n.input) > 2 and n.input[2]:
            mode = consts.get(n.input[2])
            if mode is None or bool(np.any(mode)):
                raise GradientGraphError(
                    f"model: Dropout (node {n.name!r}) runs in training mode ({n.input[2]!r} is not a "
                    "constant False); export the model in eval/inference mode"
                )


def build_gradient_graph(
    model: str | Path | ModelProto, loss: str = "cross_entropy", frozen: tuple[str, ...] = ()
) -> GradientGraph:
    """Append ``loss`` and the reverse-mode gradient of every trainable initializer."""
    if loss not in LOSSES:
        raise ValueError(f"loss: {loss!r} is not supported; allowed: {LOSSES}")
    proto = load_model(model, loss)
    graph = proto.graph
    _check_dropout_inference(graph)
    init_names = {i.name for i in graph.initializer}
    data_inputs = [i for i in graph.input if i.name not in init_names]
    if len(data_inputs) != 1 or len(graph.output) != 1:
        raise GradientGraphError(
            f"model: need exactly one data input and one output, got inputs "
            f"{[i.name for i in data_inputs]} and outputs {[o.name for o in graph.output]}"
        )
    x_info, y_info = data_inputs[0], graph.output[0]
    elem_type = x_info.type.tensor_type.elem_type
    if elem_type not in FLOAT_TYPES:
        raise GradientGraphError(f"model: data input {x_info.name!r} must be float or double")

    # MaxPool's backward needs the arg-max indices: expose them as a second output
    for node in graph.node:
        if node.op_type == "MaxPool" and (len(node.output) < 2 or not node.output[1]):
            if len(node.output) < 2:
                node.output.append("")
            node.output[1] = f"{node.output[0]}::argmax"

    shapes = shape_table(proto)
    inits = {i.name: i for i in graph.initializer}
    unknown = sorted(set(frozen) - set(inits))
    if unknown:
        raise ValueError(f"frozen: {unknown} are not initializers of the model; it has {sorted(inits)}")
    params = trainable_initializers(graph, set(frozen))
    if not params:
        raise GradientGraphError("model: no trainable float initializers (nothing to learn)")
    param_set = set(params)
    for p in params:
        if inits[p].data_type != elem_type:
            raise GradientGraphError(f"model: parameter {p!r} has a different float type than the input")

    # forward sweep: which tensors depend on parameters, and is every such op supported?
    requires = set(param_set)
    errors = []
    for node in graph.node:
        reads = node_inputs(node)
        if not any(n in requires for n in reads):
            continue
        if node.op_type in CONTROL_FLOW or any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                                               for a in node.attribute):
            via = sorted(n for n in reads if n in requires and n not in node.input)
            errors.append(f"{node.op_type} (node {node.name!r}, control flow"
                          + (f" whose subgraphs read {via[:5]}" if via else "") + ")")
            continue
        if node.op_type in NON_DIFFERENTIABLE or _casts_to_non_float(node):
            continue
        if node.op_type not in RULES or node.domain not in ("", "ai.onnx"):
            errors.append(f"{node.op_type} (node {node.name!r})")
            continue
        slots = differentiable_inputs(node)
        if any(node.input[i] in requires for i in slots if i < len(node.input)):
            requires.add(node.output[0])
    if errors:
        flow = any("control flow" in e for e in errors)
        raise GradientGraphError(
            "model: unsupported op(s) on the gradient path: " + ", ".join(errors)
            + (f"; edgefl does not differentiate through {'/'.join(CONTROL_FLOW)}: export the model with the "
               "branch or loop resolved (e.g. trace it with fixed shapes, constant-fold the condition)" if flow
               else "") + f"; supported: {sorted(RULES)}"
        )

    em = Emitter(elem_type, shapes)
    out_name = y_info.name
    producer = producer_of(graph, out_name)
    if loss == "cross_entropy":
        loss_name, seed_at, seed = cross_entropy_head(em, out_name, producer, TARGET_NAME)
    else:
        loss_name, seed_at, seed = mse_head(em, out_name, TARGET_NAME)

    contributions: dict[str, list[str]] = {seed_at: [seed]}

    def total(name: str) -> str | None:
        parts = contributions.get(name)
        if not parts:
            return None
        if len(parts) > 1:
            contributions[name] = [em.op("Sum", parts, "acc")]
        return contributions[name][0]

    for node in reversed(list(graph.node)):
        if node.op_type in NON_DIFFERENTIABLE or node.output[0] not in requires:
            continue
        gy = [total(o) if o else None for o in node.output]
        if gy[0] is None:
            continue
        slots = differentiable_inputs(node)
        needs = [bool(name) and i in slots and name in requires for i, name in enumerate(node.input)]
        rule = RULES[node.op_type][0]
        for name, g in zip(node.input, rule(node, em, gy, needs)):
            if g is not None and name in requires:
                contributions.setdefault(name, []).append(g)

    detached = [p for p in params if not contributions.get(p)]
    if detached:
        raise GradientGraphError(
            f"model: trainable initializer(s) {detached[:20]} never reach the loss through differentiable ops, "
            "so their gradient is always 0 and they would never train; list them in model.frozen to keep "
            "them fixed, or fix the graph"
        )
    grad_outputs = []
    for p in params:
        g = total(p)
        name = f"grad/{p}"
        em.nodes.append(helper.make_node("Identity", [g], [name], name=name))
        grad_outputs.append(_value_info(name, elem_type, shapes[p]))
    em.nodes.append(helper.make_node("Identity", [loss_name], [LOSS_NAME], name=LOSS_NAME))

    frozen_inits = [i for i in graph.initializer if i.name not in param_set]
    param_inputs = [_value_info(p, elem_type, shapes[p]) for p in params]
    target_info = _value_info(TARGET_NAME, elem_type, shapes.get(out_name))

    training = copy.deepcopy(proto)
    del training.graph.input[:], training.graph.output[:], training.graph.initializer[:]
    del training.graph.value_info[:]
    training.graph.input.extend([x_info, target_info] + param_inputs)
    training.graph.output.extend([_value_info(LOSS_NAME, elem_type, ())] + grad_outputs)
    training.graph.initializer.extend(frozen_inits + em.initializers)
    training.graph.node.extend(em.nodes)
    training.graph.name = f"{graph.name}_training"

    inference = copy.deepcopy(proto)
    del inference.graph.input[:], inference.graph.initializer[:]
    inference.graph.input.extend([x_info] + param_inputs)
    inference.graph.initializer.extend(frozen_inits)

    layout = ParamLayout(tuple(params), tuple(tuple(int(d) for d in inits[p].dims) for p in params))
    initial = layout.flatten([numpy_helper.to_array(inits[p]) for p in params])
    return GradientGraph(
        training=training, inference=inference, layout=layout, initial=initial,
        input_name=x_info.name, input_shape=shapes.get(x_info.name), output_name=out_name,
        output_shape=shapes.get(out_name), elem_type=elem_type,
    )


def session_options(threads: int = 1) -> ort.SessionOptions:
    """Single-threaded by default: the models are small, the machine is shared, and one
    thread gives bit-identical results run to run."""
    if threads < 1:
        raise ValueError(f"threads: must be >= 1, got {threads}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.use_deterministic_compute = True
    so.log_severity_level = 3
    return so


class DifferentiableModel:
    """An ONNX model with a loss: ``loss_and_grad`` and ``predict`` at any flat parameter
    vector (float64, layout ``self.layout``)."""

    def __init__(
        self, model: str | Path | ModelProto, loss: str = "cross_entropy", threads: int = 1,
        frozen: tuple[str, ...] = (),
    ):
        self.graph = build_gradient_graph(model, loss, frozen)
        self.loss = loss
        self.layout = self.graph.layout
        self.num_params = self.layout.num_params
        self.np_dtype = helper.tensor_dtype_to_np_dtype(self.graph.elem_type)
        so = session_options(threads)
        providers = ["CPUExecutionProvider"]
        self._train = ort.InferenceSession(self.graph.training.SerializeToString(), so, providers=providers)
        self._infer = ort.InferenceSession(self.graph.inference.SerializeToString(), so, providers=providers)

    def _feeds(self, params: np.ndarray) -> dict[str, np.ndarray]:
        flat = np.ascontiguousarray(params, dtype=self.np_dtype)
        return dict(zip(self.layout.names, self.layout.views(flat)))

    def _input(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=self.np_dtype)

    def loss_and_grad(self, x: np.ndarray, target: np.ndarray, params: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and (P,) float64 gradient at ``params`` on the batch (x, target); the
        target is one-hot (cross-entropy) or the regression target (mse)."""
        feeds = self._feeds(params)
        feeds[self.graph.input_name] = self._input(x)
        feeds[TARGET_NAME] = self._input(target)
        outs = self._train.run(None, feeds)
        return float(outs[0]), np.concatenate([g.ravel() for g in outs[1:]]).astype(np.float64)

    def predict(self, x: np.ndarray, params: np.ndarray) -> np.ndarray:
        """The model's output at ``params`` (float64)."""
        feeds = self._feeds(params)
        feeds[self.graph.input_name] = self._input(x)
        return self._infer.run(None, feeds)[0].astype(np.float64)
