"""Gradient rules of the ONNX gradient builder against central finite differences of an
independent float64 numpy forward pass (edgefl.learning.numpy_reference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgefl.learning.autodiff import DifferentiableModel, build_gradient_graph
from edgefl.learning.emitter import GradientGraphError
from edgefl.learning.numpy_reference import run_reference

MODELS = Path(__file__).resolve().parents[1] / "models"
F32, F64 = TensorProto.FLOAT, TensorProto.DOUBLE


def op_model(x_shape, params: dict, nodes, dtype=F64, consts: dict | None = None, opset: int = 17):
    """Graph: x0 = x + d (d trainable, so dL/dx of the first op is checked through d),
    then ``nodes`` reading "x0" and writing "y"."""
    np_t = np.float64 if dtype == F64 else np.float32
    inits = [numpy_helper.from_array(np.asarray(v, dtype=np_t), k) for k, v in params.items()]
    inits += [numpy_helper.from_array(v, k) for k, v in (consts or {}).items()]
    rng = np.random.default_rng(7)
    inits.append(numpy_helper.from_array(rng.normal(size=x_shape).astype(np_t), "d"))
    nodes = [helper.make_node("Add", ["x", "d"], ["x0"], name="shift")] + nodes
    graph = helper.make_graph(
        nodes, "op", [helper.make_tensor_value_info("x", dtype, list(x_shape))],
        [helper.make_tensor_value_info("y", dtype, None)], inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def fd_check(model, x, loss="mse", tol=1e-5, coords=None, seed=0, frozen=()):
    """Relative L2 error between builder gradients and central differences of the
    float64 numpy reference, over ``coords`` (all parameters if None)."""
    dm = DifferentiableModel(model, loss=loss, frozen=frozen)
    ends_in_softmax = model.graph.node[-1].op_type == "Softmax"
    rng = np.random.default_rng(seed)
    theta = dm.graph.initial.copy()
    y_ref = run_reference(model, x, dict(zip(dm.layout.names, dm.layout.views(theta))))
    if loss == "mse":
        target = rng.normal(size=y_ref.shape)
    else:
        target = np.eye(y_ref.shape[1])[rng.integers(0, y_ref.shape[1], y_ref.shape[0])]

    def ref_loss(th):
        y = run_reference(model, x, dict(zip(dm.layout.names, dm.layout.views(th))))
        if loss == "mse":
            return np.mean((y - target) ** 2)
        if ends_in_softmax:  # the output already holds probabilities
            return -np.sum(target * np.log(y)) / y.shape[0]
        z = y - y.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -np.sum(target * logp) / y.shape[0]

    value, grad = dm.loss_and_grad(x, target, theta)
    assert value == pytest.approx(ref_loss(theta), rel=1e-5)
    idx = np.arange(dm.num_params) if coords is None else rng.choice(dm.num_params, coords, replace=False)
    assert_matches_central_differences(ref_loss, theta, grad, idx, tol)
    return dm


def assert_matches_central_differences(ref_loss, theta, grad, idx, tol: float, h: float = 1e-6) -> float:
    """Relative L2 error of ``grad[idx]`` against (L(theta + h e_i) - L(theta - h e_i)) / 2h."""
    fd = np.empty(len(idx))
    for j, i in enumerate(idx):
        e = np.zeros_like(theta)
        e[i] = h
        fd[j] = (ref_loss(theta + e) - ref_loss(theta - e)) / (2 * h)
    err = float(np.linalg.norm(grad[idx] - fd) / np.linalg.norm(fd))
    assert np.linalg.norm(fd) > 0
    assert err < tol, f"relative gradient error {err:.2e}"
    return err


def node(op, inputs, outputs=("y",), **attrs):
    return helper.make_node(op, list(inputs), list(outputs), name=f"{op.lower()}_{outputs[0]}", **attrs)


R = np.random.default_rng(1)

# (id, x shape, params, nodes, consts, dtype) -- float32 where onnxruntime has no float64 kernel
CASES = [
    ("gemm_transB_bias_bcast", (4, 3), {"W": R.normal(size=(5, 3)), "C": R.normal(size=5)},
     [node("Gemm", ["x0", "W", "C"], alpha=0.7, beta=1.3, transB=1)], None, F64),
    ("gemm_transA", (3, 4), {"W": R.normal(size=(3, 5)), "C": R.normal(size=(1, 5))},
     [node("Gemm", ["x0", "W", "C"], transA=1)], None, F64),
    ("gemm_param_first", (4, 3), {"W": R.normal(size=(2, 4))},
     [node("Gemm", ["W", "x0"], transA=0)], None, F64),
    ("matmul_batched_bcast", (2, 3, 4), {"W": R.normal(size=(4, 5))}, [node("MatMul", ["x0", "W"])], None, F64),
    ("add_bcast", (4, 3), {"b": R.normal(size=3)}, [node("Add", ["x0", "b"])], None, F64),
    ("sub_bcast_col", (4, 3), {"b": R.normal(size=(4, 1))}, [node("Sub", ["b", "x0"])], None, F64),
    ("mul_bcast", (4, 3), {"w": R.normal(size=3)}, [node("Mul", ["x0", "w"])], None, F64),
    ("div", (4, 3), {"w": 1.5 + R.random(3)}, [node("Div", ["x0", "w"])], None, F64),
    ("relu", (4, 5), {}, [node("Relu", ["x0"])], None, F64),
    ("sigmoid", (4, 5), {}, [node("Sigmoid", ["x0"])], None, F64),
    ("tanh", (4, 5), {}, [node("Tanh", ["x0"])], None, F64),
    ("leaky_relu", (4, 5), {}, [node("LeakyRelu", ["x0"], alpha=0.2)], None, F64),
    ("softmax_axis1", (4, 5), {}, [node("Softmax", ["x0"], axis=1)], None, F64),
    ("softmax_rank3_last", (2, 3, 4), {}, [node("Softmax", ["x0"], axis=-1)], None, F64),
    ("log_softmax", (4, 5), {}, [node("LogSoftmax", ["x0"], axis=1)], None, F64),
    ("flatten", (2, 3, 2, 2), {"W": R.normal(size=(12, 3))},
     [node("Flatten", ["x0"], ["f"], axis=1), node("Gemm", ["f", "W"])], None, F64),
    ("reshape", (2, 12), {"w": R.normal(size=4)},
     [node("Reshape", ["x0", "shape"], ["r"]), node("Mul", ["r", "w"])], {"shape": np.array([0, 3, 4])}, F64),
    ("transpose_perm", (2, 3, 4), {"w": R.normal(size=3)},
     [node("Transpose", ["x0"], ["t"], perm=[0, 2, 1]), node("Mul", ["t", "w"])], None, F64),
    ("transpose_default", (2, 3), {"w": R.normal(size=2)},
     [node("Transpose", ["x0"], ["t"]), node("Mul", ["t", "w"])], None, F64),
    ("squeeze_unsqueeze", (2, 1, 3), {"w": R.normal(size=(1, 2, 3))},
     [node("Squeeze", ["x0", "ax1"], ["s"]), node("Unsqueeze", ["s", "ax0"], ["u"]), node("Mul", ["u", "w"])],
     {"ax1": np.array([1]), "ax0": np.array([0])}, F64),
    ("concat", (2, 4), {"p": R.normal(size=(2, 3)), "w": R.normal(size=7)},
     [node("Concat", ["x0", "p"], ["c"], axis=1), node("Mul", ["c", "w"])], None, F64),
    ("batchnorm", (2, 3, 4, 4), {"scale": R.normal(size=3), "bias": R.normal(size=3)},
     [node("BatchNormalization", ["x0", "scale", "bias", "mean", "var"], epsilon=1e-3)],
     {"mean": R.normal(size=3), "var": 0.5 + R.random(3)}, F64),
    ("dropout", (4, 5), {"w": R.normal(size=5)},
     [node("Dropout", ["x0"], ["dr"]), node("Mul", ["dr", "w"])], None, F64),
    ("identity", (4, 3), {"w": R.normal(size=3)},
     [node("Identity", ["x0"], ["i"]), node("Mul", ["i", "w"])], None, F64),
    ("shared_param_twice", (4, 3), {"w": R.normal(size=3)},
     [node("Mul", ["x0", "w"], ["m"]), node("Add", ["m", "w"])], None, F64),
    ("conv_s1_p1", (2, 2, 5, 5), {"W": R.normal(size=(3, 2, 3, 3)), "B": R.normal(size=3)},
     [node("Conv", ["x0", "W", "B"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], None, F32),
    ("conv_s2_p1_outpad", (2, 2, 6, 6), {"W": R.normal(size=(3, 2, 3, 3))},
     [node("Conv", ["x0", "W"], strides=[2, 2], pads=[1, 1, 1, 1])], None, F32),
    ("conv_s2_asym_pads", (1, 2, 7, 6), {"W": R.normal(size=(2, 2, 2, 3)), "B": R.normal(size=2)},
     [node("Conv", ["x0", "W", "B"], strides=[2, 3], pads=[0, 1, 1, 0])], None, F32),
    ("conv_same_upper_s2", (1, 2, 7, 6), {"W": R.normal(size=(2, 2, 3, 2))},
     [node("Conv", ["x0", "W"], strides=[2, 2], auto_pad="SAME_UPPER")], None, F32),
    ("conv_same_lower", (1, 1, 5, 6), {"W": R.normal(size=(2, 1, 2, 2))},
     [node("Conv", ["x0", "W"], auto_pad="SAME_LOWER")], None, F32),
    ("maxpool_same_upper", (1, 2, 5, 5), {},
     [node("MaxPool", ["x0"], kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER")], None, F32),
    ("avgpool_same_upper", (1, 2, 5, 5), {},
     [node("AveragePool", ["x0"], kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER")], None, F32),
    ("maxpool_2x2", (2, 2, 4, 4), {}, [node("MaxPool", ["x0"], kernel_shape=[2, 2], strides=[2, 2])], None, F32),
    ("maxpool_overlap_pad", (2, 2, 5, 5), {},
     [node("MaxPool", ["x0"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], None, F32),
    ("avgpool_2x2", (2, 2, 4, 4), {}, [node("AveragePool", ["x0"], kernel_shape=[2, 2], strides=[2, 2])], None, F32),
    ("avgpool_pad_exclude", (2, 2, 6, 5), {},
     [node("AveragePool", ["x0"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], None, F32),
    ("avgpool_pad_include", (2, 2, 6, 5), {},
     [node("AveragePool", ["x0"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)],
     None, F32),
    ("global_avgpool", (2, 3, 4, 5), {}, [node("GlobalAveragePool", ["x0"])], None, F32),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_op_gradient_matches_finite_differences(case):
    _, x_shape, params, nodes, consts, dtype = case
    model = op_model(x_shape, params, nodes, dtype=dtype, consts=consts)
    x = np.random.default_rng(3).normal(size=x_shape)
    dm = fd_check(model, x)
    # every float initializer except fixed statistics is trainable (d + op params)
    assert set(dm.layout.names) == {"d", *params}


def test_numpy_reference_agrees_with_onnxruntime_forward():
    """The reference itself must be right: compare its forward with onnxruntime's."""
    for _, x_shape, params, nodes, consts, dtype in CASES:
        model = op_model(x_shape, params, nodes, dtype=dtype, consts=consts)
        dm = DifferentiableModel(model, loss="mse")
        x = np.random.default_rng(4).normal(size=x_shape)
        ort_y = dm.predict(x, dm.graph.initial)
        ref_y = run_reference(model, x)
        np.testing.assert_allclose(ort_y, ref_y, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,shape", [("logreg", (64,)), ("mlp", (64,)), ("cnn", (1, 8, 8))])
def test_shipped_model_cross_entropy_gradient(name, shape):
    x = np.random.default_rng(5).normal(size=(6,) + shape)
    fd_check(onnx.load(str(MODELS / f"{name}.onnx")), x, loss="cross_entropy", coords=120)


def test_shipped_linreg_mse_gradient():
    x = np.random.default_rng(6).normal(size=(9, 64))
    fd_check(onnx.load(str(MODELS / "linreg.onnx")), x, loss="mse")


def test_softmax_output_model_uses_logits():
    """A classifier ending in Softmax: cross-entropy must be taken on its logits."""
    model = op_model((5, 4), {"W": R.normal(size=(4, 3))},
                     [node("Gemm", ["x0", "W"], ["z"]), node("Softmax", ["z"], axis=1)])
    x = np.random.default_rng(8).normal(size=(5, 4))
    dm = DifferentiableModel(model, loss="cross_entropy")
    target = np.eye(3)[[0, 1, 2, 0, 1]]
    loss, _ = dm.loss_and_grad(x, target, dm.graph.initial)
    probs = run_reference(model, x)
    assert loss == pytest.approx(-np.mean(np.log(probs[np.arange(5), [0, 1, 2, 0, 1]])), rel=1e-9)


def test_unsupported_op_fails_at_load_naming_op_and_node():
    model = op_model((4, 3), {"W": R.normal(size=(3, 2))},
                     [node("MatMul", ["x0", "W"], ["h"]), helper.make_node("Sin", ["h"], ["y"], name="my_sin")])
    with pytest.raises(GradientGraphError, match=r"Sin \(node 'my_sin'\).*supported: \[.*'Erf'.*'LayerNormalization'"):
        build_gradient_graph(model, "mse")


def test_unsupported_attribute_fails_at_load():
    model = op_model((1, 2, 5, 5), {"W": R.normal(size=(2, 1, 3, 3))}, [node("Conv", ["x0", "W"], group=2)], dtype=F32)
    with pytest.raises(GradientGraphError, match="group"):
        build_gradient_graph(model, "mse")


def test_bad_loss_name_is_rejected():
    with pytest.raises(ValueError, match="loss"):
        build_gradient_graph(str(MODELS / "mlp.onnx"), "hinge")


def test_gradients_are_deterministic_across_sessions():
    x = np.random.default_rng(9).normal(size=(128, 64))
    t = np.eye(10)[np.random.default_rng(9).integers(0, 10, 128)]
    a = DifferentiableModel(str(MODELS / "mlp.onnx"))
    b = DifferentiableModel(str(MODELS / "mlp.onnx"))
    np.testing.assert_array_equal(a.loss_and_grad(x, t, a.graph.initial)[1], b.loss_and_grad(x, t, b.graph.initial)[1])


def test_frozen_initializers_are_not_trained():
    model = onnx.load(str(MODELS / "mlp.onnx"))
    dm = DifferentiableModel(model, frozen=("fc1.weight",))
    assert dm.layout.names == ("fc1.bias", "fc2.weight", "fc2.bias") and dm.num_params == 128 + 1280 + 10
    x = np.random.default_rng(10).normal(size=(6, 64))
    fd_check(model, x, loss="cross_entropy", frozen=("fc1.weight",))
    with pytest.raises(ValueError, match="frozen"):
        DifferentiableModel(model, frozen=("nope",))


def test_torch_style_dynamic_flatten_with_symbolic_batch():
    """x.view(x.size(0), -1) as PyTorch exports it: Shape -> Gather -> Unsqueeze ->
    Concat -> Reshape, with a symbolic batch axis, then Conv-free Gemm + Relu."""
    inits = [
        numpy_helper.from_array(R.normal(size=(5, 12)).astype(np.float32), "fc.weight"),
        numpy_helper.from_array(R.normal(size=5).astype(np.float32), "fc.bias"),
        numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axes0"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus1"),
    ]
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Shape", ["r"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus1"], ["newshape"], name="cat", axis=0),
        helper.make_node("Reshape", ["r", "newshape"], ["f"], name="view"),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(nodes, "torchish", [helper.make_tensor_value_info("x", F32, ["N", 3, 2, 2])],
                              [helper.make_tensor_value_info("y", F32, ["N", 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    x = np.random.default_rng(11).normal(size=(7, 3, 2, 2))
    dm = fd_check(model, x, loss="cross_entropy")
    assert dm.layout.names == ("fc.weight", "fc.bias")


def test_old_opset_model_is_converted_and_differentiated():
    """An opset-11 export (Softmax output, pre-13 semantics) is converted to opset 17."""
    model = op_model((5, 4), {"W": R.normal(size=(4, 3)), "b": R.normal(size=3)},
                     [node("Gemm", ["x0", "W", "b"], ["z"]), node("Softmax", ["z"], axis=1)], opset=11)
    dm = fd_check(model, np.random.default_rng(12).normal(size=(5, 4)), loss="cross_entropy")
    assert max(o.version for o in dm.graph.training.opset_import if o.domain in ("", "ai.onnx")) >= 16
