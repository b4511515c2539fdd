"""Gradients of models as ``torch.onnx.export`` and ``tf2onnx`` write them (issue 14, item 6).

The graphs are built with ``onnx.helper`` node by node in the exporters' patterns (no torch
or tensorflow here): Constant nodes, Shape/Gather/Unsqueeze/Concat/Reshape flattening,
Flatten, Identity, Dropout in inference mode, BatchNormalization with frozen statistics,
MaxPool, GlobalAveragePool, LogSoftmax + NegativeLogLikelihoodLoss, NHWC transposes,
initializers listed as graph inputs, GELU (Erf and tanh forms) and LayerNorm (decomposed
and the opset-17 op). Each gradient is checked against central finite differences of the
independent float64 numpy forward pass (``edgefl.learning.numpy_reference``).

onnxruntime's CPU build has no float64 kernels for Conv, MaxPool, Erf, Softplus, Elu,
Selu, HardSigmoid and HardSwish, so graphs using them are checked in float32 only (the
forward pass of such a model cannot run in float64 at all); the others in both.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from test_learning_gradients import (
    assert_matches_central_differences,
    fd_check,
    node,
    op_model,
)

from edgefl.learning.autodiff import DifferentiableModel, build_gradient_graph
from edgefl.learning.emitter import GradientGraphError
from edgefl.learning.numpy_reference import run_reference

F32, F64 = TensorProto.FLOAT, TensorProto.DOUBLE
#: relative L2 error bound vs finite differences: 1e-5 in float64 (issue 14); float32
#: gradients measured 5e-8..1.1e-7 against the float64 reference, so the same bound holds
TOL = {F64: 1e-5, F32: 1e-5}


class Builder:
    """Collects nodes and initializers of one exported-style graph."""

    def __init__(self, dtype: int, opset: int, seed: int = 0):
        self.dtype, self.opset = dtype, opset
        self.np_t = np.float64 if dtype == F64 else np.float32
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"/{hint}_{self.count}"

    def weight(self, name: str, shape, scale: float = 0.5) -> str:
        self.inits.append(numpy_helper.from_array((scale * self.rng.normal(size=shape)).astype(self.np_t), name))
        return name

    def const(self, value, dtype=None) -> str:
        """A ``Constant`` node, the way PyTorch writes shape pieces and scalars."""
        out = self.name("Constant")
        arr = np.asarray(value, dtype=dtype or self.np_t)
        self.nodes.append(helper.make_node("Constant", [], [out], name=out, value=numpy_helper.from_array(arr)))
        return out

    def op(self, op_type: str, inputs, n_out: int = 1, **attrs) -> str:
        outs = [self.name(op_type) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=outs[0], **attrs))
        return outs[0]

    def unsqueeze(self, x: str, axes: list[int]) -> str:
        if self.opset < 13:
            return self.op("Unsqueeze", [x], axes=axes)
        return self.op("Unsqueeze", [x, self.const(axes, np.int64)])

    def reduce_mean(self, x: str, axes: list[int]) -> str:
        if self.opset < 18:
            return self.op("ReduceMean", [x], axes=axes, keepdims=1)
        return self.op("ReduceMean", [x, self.const(axes, np.int64)], keepdims=1)

    def torch_flatten(self, x: str) -> str:
        """``x.view(x.size(0), -1)``: Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape."""
        n = self.op("Gather", [self.op("Shape", [x]), self.const(0, np.int64)], axis=0)
        shape = self.op("Concat", [self.unsqueeze(n, [0]), self.const([-1], np.int64)], axis=0)
        return self.op("Reshape", [x, shape])

    def dropout(self, x: str) -> str:
        """Dropout as an eval-mode export keeps it: ratio attribute (opset < 12) or ratio and
        training_mode=False inputs (opset >= 12)."""
        if self.opset < 12:
            return self.op("Dropout", [x], ratio=0.25)
        return self.op("Dropout", [x, self.const(0.25), self.const(False, np.bool_)])

    def linear(self, x: str, name: str, n_in: int, n_out: int) -> str:
        """torch.nn.Linear: Gemm with transB=1, weight (out, in)."""
        w, b = self.weight(f"{name}.weight", (n_out, n_in)), self.weight(f"{name}.bias", (n_out,), 0.1)
        return self.op("Gemm", [x, w, b], alpha=1.0, beta=1.0, transB=1)

    def tf_dense(self, x: str, name: str, n_in: int, n_out: int) -> str:
        """keras Dense through tf2onnx: MatMul with the (in, out) kernel, then Add bias."""
        w, b = self.weight(f"{name}/kernel", (n_in, n_out)), self.weight(f"{name}/bias", (n_out,), 0.1)
        return self.op("Add", [self.op("MatMul", [x, w]), b])

    def gelu_erf(self, x: str) -> str:
        """PyTorch GELU (exact): Div(sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5."""
        e = self.op("Erf", [self.op("Div", [x, self.const(1.4142135381698608)])])
        return self.op("Mul", [self.op("Mul", [x, self.op("Add", [e, self.const(1.0)])]), self.const(0.5)])

    def gelu_tanh(self, x: str) -> str:
        """GELU(approximate='tanh'): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
        cube = self.op("Pow", [x, self.const(3.0)])
        inner = self.op("Add", [x, self.op("Mul", [cube, self.const(0.044715)])])
        t = self.op("Tanh", [self.op("Mul", [inner, self.const(np.sqrt(2.0 / np.pi))])])
        return self.op("Mul", [self.op("Mul", [x, self.const(0.5)]), self.op("Add", [t, self.const(1.0)])])

    def layer_norm(self, x: str, name: str, dim: int) -> str:
        """nn.LayerNorm below opset 17: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt,
        Div, Mul weight, Add bias; from opset 17 the LayerNormalization op."""
        w, b = self.weight(f"{name}.weight", (dim,)), self.weight(f"{name}.bias", (dim,), 0.1)
        if self.opset >= 17:
            return self.op("LayerNormalization", [x, w, b], axis=-1, epsilon=1e-5)
        centred = self.op("Sub", [x, self.reduce_mean(x, [-1])])
        var = self.reduce_mean(self.op("Pow", [centred, self.const(2.0)]), [-1])
        std = self.op("Sqrt", [self.op("Add", [var, self.const(1e-5)])])
        return self.op("Add", [self.op("Mul", [self.op("Div", [centred, std]), w]), b])

    def model(self, x_shape, out: str, label: bool = False, inits_as_inputs: bool = False):
        inputs = [helper.make_tensor_value_info("input", self.dtype, ["N", *x_shape[1:]])]
        if label:
            inputs.append(helper.make_tensor_value_info("target", TensorProto.INT64, ["N"]))
        if inits_as_inputs:  # keep_initializers_as_inputs=True / IR version 3 exports
            inputs += [helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in self.inits]
        self.nodes.append(helper.make_node("Identity", [out], ["output"], name="/output_Identity"))
        out = [helper.make_tensor_value_info("output", self.dtype, None)]
        graph = helper.make_graph(self.nodes, "exported", inputs, out, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)], producer_name="pytorch")
        m.ir_version = 6 if self.opset < 13 else 8
        return m


def torch_mlp(dtype, opset):
    """nn.Sequential(Flatten via view, Linear, ReLU, Dropout, Linear, LogSoftmax) with
    F.nll_loss in the graph (opset >= 12, where the op exists; log-probabilities out
    below), initializers listed as inputs."""
    b = Builder(dtype, opset)
    h = b.op("Relu", [b.linear(b.torch_flatten("input"), "fc1", 16, 12)])
    logp = b.op("LogSoftmax", [b.linear(b.dropout(h), "fc2", 12, 5)], axis=1)
    if opset < 12:
        return b.model((6, 1, 4, 4), logp, inits_as_inputs=True), (6, 1, 4, 4)
    loss = b.op("NegativeLogLikelihoodLoss", [logp, "target"], reduction="mean")
    return b.model((6, 1, 4, 4), loss, label=True, inits_as_inputs=True), (6, 1, 4, 4)


def torch_mlp_cross_entropy(dtype, opset):
    """The same MLP returning ``F.cross_entropy(logits, target)``: SoftmaxCrossEntropyLoss
    on the logits (opset >= 12)."""
    b = Builder(dtype, opset)
    h = b.op("Relu", [b.linear(b.torch_flatten("input"), "fc1", 16, 12)])
    loss = b.op("SoftmaxCrossEntropyLoss", [b.linear(h, "fc2", 12, 5), "target"], reduction="mean")
    return b.model((6, 1, 4, 4), loss, label=True), (6, 1, 4, 4)


def torch_cnn(dtype, opset):
    """Conv-BN-ReLU-MaxPool, Conv-ReLU, GlobalAveragePool, Flatten, Linear -> logits."""
    b = Builder(dtype, opset)
    x = b.op("Conv", ["input", b.weight("c1.weight", (4, 1, 3, 3))], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
             strides=[1, 1])
    bn = [b.weight("bn.weight", (4,)), b.weight("bn.bias", (4,), 0.1)]
    stats = [numpy_helper.from_array(v.astype(b.np_t), n) for n, v in
             (("bn.running_mean", b.rng.normal(size=4) * 0.1), ("bn.running_var", 0.5 + b.rng.random(4)))]
    b.inits += stats
    x = b.op("BatchNormalization", [x, *bn, "bn.running_mean", "bn.running_var"], epsilon=1e-5, momentum=0.9)
    x = b.op("MaxPool", [b.op("Relu", [x])], kernel_shape=[2, 2], strides=[2, 2])
    x = b.op("Conv", [x, b.weight("c2.weight", (6, 4, 3, 3)), b.weight("c2.bias", (6,), 0.1)], kernel_shape=[3, 3],
             pads=[1, 1, 1, 1])
    x = b.op("Flatten", [b.op("GlobalAveragePool", [b.op("Relu", [x])])], axis=1)
    return b.model((5, 1, 6, 6), b.linear(x, "fc", 6, 4)), (5, 1, 6, 6)


def tf_mlp(dtype, opset):
    """keras Sequential(Flatten, Dense relu, Dense sigmoid-tanh, Dense softmax) via tf2onnx:
    Reshape to a constant [-1, 16], MatMul + Add, Identity, Softmax output."""
    b = Builder(dtype, opset)
    b.inits.append(numpy_helper.from_array(np.array([-1, 16], dtype=np.int64), "flatten/Const"))
    x = b.op("Reshape", ["input", "flatten/Const"])
    x = b.op("Relu", [b.tf_dense(x, "dense", 16, 10)])
    x = b.op("Identity", [x])
    gate = b.op("Sigmoid", [b.tf_dense(x, "dense_1", 10, 8)])
    x = b.op("Mul", [gate, b.op("Tanh", [b.tf_dense(x, "dense_2", 10, 8)])])
    return b.model((6, 4, 4), b.op("Softmax", [b.tf_dense(x, "dense_3", 8, 5)], axis=1)), (6, 4, 4)


def tf_cnn(dtype, opset):
    """keras Conv2D on NHWC input via tf2onnx: Transpose to NCHW, Conv, Relu, MaxPool,
    Transpose back, Reshape to [-1, k], MatMul + Add."""
    b = Builder(dtype, opset)
    x = b.op("Transpose", ["input"], perm=[0, 3, 1, 2])
    x = b.op("Conv", [x, b.weight("conv2d/kernel", (3, 2, 3, 3)), b.weight("conv2d/bias", (3,), 0.1)],
             auto_pad="SAME_UPPER", strides=[1, 1], dilations=[1, 1], group=1)
    x = b.op("MaxPool", [b.op("Relu", [x])], kernel_shape=[2, 2], strides=[2, 2])
    x = b.op("Transpose", [x], perm=[0, 2, 3, 1])
    b.inits.append(numpy_helper.from_array(np.array([-1, 27], dtype=np.int64), "flatten/Const"))
    return b.model((4, 6, 6, 2), b.tf_dense(b.op("Reshape", [x, "flatten/Const"]), "dense", 27, 4)), (4, 6, 6, 2)


def transformer_block(dtype, opset, gelu="erf"):
    """A pre-norm transformer-style MLP block on (N, T, D) tokens: LayerNorm, Linear
    (MatMul), GELU, Linear, residual Add, LayerNorm, mean over tokens, Linear -> logits."""
    b = Builder(dtype, opset)
    h = b.layer_norm("input", "ln1", 6)
    h = b.op("Add", [b.op("MatMul", [h, b.weight("mlp.fc1.weight", (6, 8))]), b.weight("mlp.fc1.bias", (8,), 0.1)])
    h = b.gelu_erf(h) if gelu == "erf" else b.gelu_tanh(h)
    h = b.op("Add", [b.op("MatMul", [h, b.weight("mlp.fc2.weight", (8, 6))]), b.weight("mlp.fc2.bias", (6,), 0.1)])
    h = b.layer_norm(b.op("Add", ["input", h]), "ln2", 6)
    pooled = b.op("Squeeze", [b.reduce_mean(h, [1])], axes=[1]) if opset < 13 else b.op(
        "Squeeze", [b.reduce_mean(h, [1]), b.const([1], np.int64)])
    return b.model((5, 3, 6), b.linear(pooled, "head", 6, 4)), (5, 3, 6)


def _sce(v, a):
    """SoftmaxCrossEntropyLoss (reduction mean, no weights) for the numpy reference."""
    z = v[0] - v[0].max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.mean(logp[np.arange(len(v[1])), v[1].astype(np.int64)])


def _onehot(labels, classes):
    return np.eye(classes)[labels]


def check_exported(model, x_shape, dtype, seed=0, coords=None):
    """Builder gradient vs central differences of the numpy reference's loss: the graph's
    own NLL output when it has one, else cross-entropy of the logits (or probabilities)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=x_shape)
    dm = DifferentiableModel(model, loss="cross_entropy")
    has_label = any(i.name == "target" for i in model.graph.input)
    theta = dm.graph.initial.copy()

    def forward(th, labels=None):
        extra = {"target": labels} if labels is not None else None
        return run_reference(model, x, dict(zip(dm.layout.names, dm.layout.views(th))), extra)

    probe = dm.predict(x, theta)
    classes = probe.shape[1]
    labels = rng.integers(0, classes, x_shape[0])
    producer = next(n for n in model.graph.node if "output" in n.output)
    before = next(n for n in model.graph.node if producer.input[0] in n.output)

    def ref_loss(th):
        if has_label:
            return float(forward(th, labels))
        y = forward(th)
        if before.op_type == "Softmax":
            return -np.mean(np.log(y[np.arange(len(labels)), labels]))
        z = y - y.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -np.mean(logp[np.arange(len(labels)), labels])

    value, grad = dm.loss_and_grad(x, _onehot(labels, classes), theta)
    assert value == pytest.approx(ref_loss(theta), rel=TOL[dtype])
    idx = np.arange(dm.num_params) if coords is None else rng.choice(dm.num_params, coords, replace=False)
    return dm, assert_matches_central_differences(ref_loss, theta, grad, idx, TOL[dtype])


VARIANTS = [
    # (builder, dtypes onnxruntime can run it in)
    (torch_mlp, (F64, F32)),
    (torch_cnn, (F32,)),
    (tf_mlp, (F64, F32)),
    (tf_cnn, (F32,)),
    (lambda d, o: transformer_block(d, o, "erf"), (F32,)),
    (lambda d, o: transformer_block(d, o, "tanh"), (F64, F32)),
]
NAMES = ["torch_mlp", "torch_cnn", "tf_mlp", "tf_cnn", "block_gelu_erf", "block_gelu_tanh"]
CASES = [
    pytest.param(make, dtype, opset, id=f"{name}-{'f64' if dtype == F64 else 'f32'}-opset{opset}")
    for (make, dtypes), name in zip(VARIANTS, NAMES)
    for dtype in dtypes
    for opset in (11, 13, 17, 18)
]


@pytest.mark.parametrize("make,dtype,opset", CASES)
def test_exported_graph_gradient_matches_finite_differences(make, dtype, opset):
    model, x_shape = make(dtype, opset)
    dm, _ = check_exported(model, x_shape, dtype, coords=60)
    # exporter scalars (Constant nodes) and BatchNorm statistics are not trained
    assert not any("running" in n for n in dm.layout.names)
    assert all(len(s) >= 1 for s in dm.layout.shapes)


def test_torch_mlp_strips_the_exported_loss_and_its_label_input():
    model, _ = torch_mlp(F64, 17)
    g = build_gradient_graph(model, "cross_entropy")
    assert g.inference.graph.input[0].name == "input"
    assert "target" in [i.name for i in g.training.graph.input]  # edgefl's one-hot target
    assert not any(n.op_type == "NegativeLogLikelihoodLoss" for n in g.training.graph.node)
    assert g.layout.names == ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")


def test_exported_softmax_cross_entropy_loss(monkeypatch):
    from edgefl.learning import numpy_reference

    monkeypatch.setitem(numpy_reference.OPS, "SoftmaxCrossEntropyLoss", _sce)
    for dtype in (F64, F32):
        model, x_shape = torch_mlp_cross_entropy(dtype, 13)
        check_exported(model, x_shape, dtype)


def test_exported_loss_with_weights_or_sum_reduction_is_rejected():
    for attrs, match in (({"reduction": "sum"}, "reduction"), ({"ignore_index": -100}, "ignore_index")):
        model, _ = torch_mlp(F64, 17)
        loss = next(n for n in model.graph.node if n.op_type == "NegativeLogLikelihoodLoss")
        del loss.attribute[:]
        loss.attribute.extend(helper.make_attribute(k, v) for k, v in attrs.items())
        with pytest.raises(GradientGraphError, match=match):
            build_gradient_graph(model, "cross_entropy")
    model, _ = torch_mlp(F64, 17)
    with pytest.raises(GradientGraphError, match="cross_entropy"):
        build_gradient_graph(model, "mse")


def test_dropout_in_training_mode_is_rejected():
    model, _ = torch_mlp(F64, 17)
    drop = next(n for n in model.graph.node if n.op_type == "Dropout")
    mode = next(n for n in model.graph.node if n.output[0] == drop.input[2])
    mode.attribute[0].t.CopyFrom(numpy_helper.from_array(np.array(True), ""))
    with pytest.raises(GradientGraphError, match=r"Dropout \(node .*training mode"):
        build_gradient_graph(model, "cross_entropy")


R = np.random.default_rng(21)
#: single ops exporters emit for activations and normalisation, float64 where onnxruntime can
ELEMENTWISE = [
    ("neg_exp_log", (4, 3), {"w": R.normal(size=3)},
     [node("Exp", ["x0"], ["e"]), node("Neg", ["e"], ["n"]), node("Add", ["n", "c"], ["p"]), node("Log", ["p"], ["l"]),
      node("Mul", ["l", "w"])], {"c": np.array(20.0)}, F64),
    ("sqrt_reciprocal_abs", (4, 3), {"w": R.normal(size=3)},
     [node("Abs", ["x0"], ["a"]), node("Add", ["a", "c"], ["p"]), node("Sqrt", ["p"], ["s"]),
      node("Reciprocal", ["s"], ["r"]), node("Mul", ["r", "w"])], {"c": np.array(0.5)}, F64),
    ("pow_int_exponent", (4, 3), {"w": R.normal(size=3)},
     [node("Pow", ["x0", "k"], ["p"]), node("Mul", ["p", "w"])], {"k": np.array(3, dtype=np.int64)}, F64),
    ("reduce_sum_keepdims0_axes_input", (2, 3, 4), {"w": R.normal(size=4)},
     [node("Mul", ["x0", "w"], ["m"]), node("ReduceSum", ["m", "ax"], keepdims=0)], {"ax": np.array([1])}, F64),
    ("reduce_sum_all", (2, 3), {"w": R.normal(size=3)},
     [node("Mul", ["x0", "w"], ["m"]), node("ReduceSum", ["m"], ["s"]), node("Mul", ["m", "s"])], None, F64),
    ("reduce_mean_neg_axis_keepdims0", (2, 3, 4), {"w": R.normal(size=4)},
     [node("Mul", ["x0", "w"], ["m"]), node("ReduceMean", ["m"], axes=[-2], keepdims=0)], None, F64),
    ("layer_norm_op_2axes", (2, 3, 4), {"s": R.normal(size=(3, 4)), "b": R.normal(size=4)},
     [node("LayerNormalization", ["x0", "s", "b"], axis=1, epsilon=1e-3)], None, F64),
    ("clip_relu6", (4, 5), {"w": R.normal(size=5)},
     [node("Mul", ["x0", "w"], ["m"]), node("Clip", ["m", "lo", "hi"])],
     {"lo": np.array(0.0), "hi": np.array(0.6)}, F64),
    ("prelu", (2, 3, 2, 2), {"slope": R.normal(size=(3, 1, 1))}, [node("PRelu", ["x0", "slope"])], None, F64),
    ("where_sum_expand", (4, 3), {"w": R.normal(size=3), "v": R.normal(size=(1, 3))},
     [node("Greater", ["x0", "w"], ["c"]), node("Where", ["c", "x0", "w"], ["wh"]),
      node("Expand", ["v", "shp"], ["ex"]), node("Sum", ["wh", "ex", "x0"])], {"shp": np.array([4, 3])}, F64),
    ("cast_float", (4, 3), {"w": R.normal(size=3)},
     [node("Cast", ["x0"], ["c"], to=F64), node("Mul", ["c", "w"])], None, F64),
    ("gather_embedding", (4, 3), {"emb": R.normal(size=(5, 3))},
     [node("Gather", ["emb", "ids"], ["e"], axis=0), node("Mul", ["e", "x0"])], {"ids": np.array([0, 3, -1, 3])}, F64),
    ("softplus", (4, 5), {}, [node("Softplus", ["x0"])], None, F32),
    ("elu", (4, 5), {}, [node("Elu", ["x0"], alpha=0.7)], None, F32),
    ("selu", (4, 5), {}, [node("Selu", ["x0"])], None, F32),
    ("hard_sigmoid", (4, 5), {}, [node("HardSigmoid", ["x0"], alpha=0.3, beta=0.4)], None, F32),
    ("hard_swish", (4, 5), {"w": 3 * R.normal(size=5)},
     [node("Mul", ["x0", "w"], ["m"]), node("HardSwish", ["m"])], None, F32),
    ("erf", (4, 5), {}, [node("Erf", ["x0"])], None, F32),
]


@pytest.mark.parametrize("case", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_and_reduction_gradients(case):
    _, x_shape, params, nodes, consts, dtype = case
    model = op_model(x_shape, params, nodes, dtype=dtype, consts=consts)
    fd_check(model, np.random.default_rng(3).normal(size=x_shape), tol=TOL[dtype])


def test_cast_to_integer_ends_the_gradient_path():
    """int(m) is piecewise constant: a Cast to int64 and back adds nothing to the gradient
    (treating it as identity would double dL/dw here)."""
    model = op_model((3, 6), {"w": 3 * R.normal(size=6)}, [
        node("Mul", ["x0", "w"], ["m"]), node("Cast", ["m"], ["mi"], to=TensorProto.INT64),
        node("Cast", ["mi"], ["mf"], to=F64), node("Add", ["m", "mf"])])
    fd_check(model, np.random.default_rng(4).normal(size=(3, 6)))


def test_rank0_initializers_are_constants_not_parameters():
    """Exporters constant-fold GELU/LayerNorm scalars into 0-d initializers: not trained."""
    model = op_model((4, 3), {"w": R.normal(size=3)}, [node("Mul", ["x0", "w"], ["m"]), node("Mul", ["m", "half"])],
                     consts={"half": np.array(0.5)})
    assert set(DifferentiableModel(model, loss="mse").layout.names) == {"d", "w"}


def test_flop_count_of_exported_mlp_by_hand():
    """fc1 16->12 (no dX: 2 x 2*16*12, bias 2*12), Relu 3*12, Dropout 0, fc2 12->5
    (3 x 2*12*5, bias 2*5), LogSoftmax 3*5*5; the exported NLL node is cut off."""
    from edgefl.learning.flops import count_flops

    model, _ = torch_mlp(F32, 17)
    assert count_flops(model, loss="cross_entropy") == 768 + 24 + 36 + 360 + 10 + 75
