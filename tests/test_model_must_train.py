"""A model that cannot train must not report success (issue 21, item 6): control flow on the
gradient path and initializers that never reach the loss are refused at load, naming them; a
finite-difference probe at load catches any other all-zero gradient, without flagging dead
ReLUs; every shipped model passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.learning import grad_rules
from edgefl.learning.autodiff import DifferentiableModel, build_gradient_graph
from edgefl.learning.emitter import GradientGraphError
from edgefl.learning.probe import check_gradients_reach, zero_gradient_tensors

ROOT = Path(__file__).resolve().parents[1]
F, H, C = 4, 8, 3
runner = CliRunner()


def init(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def mlp(b1: float = 0.1, w1_scale: float = 0.5, extra_nodes=(), extra_inits=(), out: str = "y") -> onnx.ModelProto:
    """x (N, F) -> MatMul W1 -> Add b1 -> Relu -> MatMul W2 -> Add b2 -> ``out`` (or what extra nodes make)."""
    rng = np.random.default_rng(0)
    inits = [init("W1", w1_scale * rng.standard_normal((F, H))), init("b1", np.full(H, b1)),
             init("W2", 0.5 * rng.standard_normal((H, C))), init("b2", np.zeros(C)), *extra_inits]
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["z"], name="fc1"), helper.make_node("Add", ["z", "b1"], ["h"]),
             helper.make_node("Relu", ["h"], ["a"], name="relu"), helper.make_node("MatMul", ["a", "W2"], ["s"]),
             helper.make_node("Add", ["s", "b2"], ["y0" if extra_nodes else out], name="fc2"), *extra_nodes]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", F])],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", C])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def branch(name: str, nodes, output: str) -> onnx.GraphProto:
    return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)])


def if_node(then_nodes, then_out, else_nodes, else_out, out="y") -> onnx.NodeProto:
    return helper.make_node("If", ["cond"], [out], name="pick",
                            then_branch=branch("then", then_nodes, then_out),
                            else_branch=branch("else", else_nodes, else_out))


COND = numpy_helper.from_array(np.array(True), "cond")


def batch(n: int = 32, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, F)), np.eye(C)[rng.integers(0, C, n)]


# --------------------------------------------------------------------------- control flow


def test_if_reading_an_outer_tensor_is_refused_naming_the_node():
    # the reported case: the output comes from an If whose branches read 'y0' of the outer graph
    model = mlp(extra_nodes=[if_node([helper.make_node("Identity", ["y0"], ["t"])], "t",
                                     [helper.make_node("Neg", ["y0"], ["e"])], "e")], extra_inits=[COND])
    with pytest.raises(GradientGraphError, match=r"If \(node 'pick', control flow whose subgraphs read \['y0'\]\)"):
        build_gradient_graph(model)


def test_if_reading_a_weight_inside_a_branch_is_refused():
    model = mlp(extra_nodes=[if_node([helper.make_node("Mul", ["y0", "g"], ["t"])], "t",
                                     [helper.make_node("Identity", ["y0"], ["e"])], "e")],
                extra_inits=[COND, init("g", np.ones(C))])
    with pytest.raises(GradientGraphError, match=r"If \(node 'pick'.*\['g', 'y0'\]"):
        build_gradient_graph(model)


def test_if_off_the_gradient_path_is_allowed_and_differentiated_exactly():
    # y = y0 * s, s = If(cond){2} else {3}: a constant as far as the parameters go
    two, three = (numpy_helper.from_array(np.array([v], dtype=np.float32), n) for v, n in ((2, "c2"), (3, "c3")))
    flow = if_node([helper.make_node("Constant", [], ["t"], value=two)], "t",
                   [helper.make_node("Constant", [], ["e"], value=three)], "e", out="s2")
    model = mlp(extra_nodes=[flow, helper.make_node("Mul", ["y0", "s2"], ["y"])], extra_inits=[COND])
    m = DifferentiableModel(model)
    x, t = batch()
    w = m.graph.initial.astype(np.float64)
    _, g = m.loss_and_grad(x, t, w)
    rng = np.random.default_rng(3)
    d = rng.standard_normal(w.size)
    h = 1e-2
    fd = (m.loss_and_grad(x, t, w + h * d)[0] - m.loss_and_grad(x, t, w - h * d)[0]) / (2 * h)
    assert fd == pytest.approx(g @ d, rel=2e-2)
    check_gradients_reach(m, x, t, w)


# --------------------------------------------------------------------------- detached / zero gradients


def test_initializer_that_never_reaches_the_loss_is_named():
    dangling = helper.make_node("Mul", ["x", "unused_scale"], ["dead_end"], name="dangling")
    model = mlp(extra_nodes=[dangling, helper.make_node("Identity", ["y0"], ["y"])],
                extra_inits=[init("unused_scale", np.ones(F))])
    with pytest.raises(GradientGraphError, match=r"\['unused_scale'\] never reach the loss.*model.frozen"):
        build_gradient_graph(model)
    build_gradient_graph(model, frozen=("unused_scale",))  # frozen on purpose: fine


def test_threshold_read_only_by_a_comparison_is_a_constant():
    # y = y0 * (y0 > thr): thr is a threshold, not a weight: not trainable, not refused
    model = mlp(extra_nodes=[helper.make_node("Greater", ["y0", "thr"], ["m"]),
                             helper.make_node("Cast", ["m"], ["mf"], to=TensorProto.FLOAT),
                             helper.make_node("Mul", ["y0", "mf"], ["y"])], extra_inits=[init("thr", np.zeros(C))])
    assert build_gradient_graph(model).layout.names == ("W1", "b1", "W2", "b2")


def test_rounded_weight_is_refused():
    # Round has zero gradient almost everywhere: the weight it reads can never train
    model = mlp(extra_nodes=[helper.make_node("Round", ["q"], ["rq"]), helper.make_node("Mul", ["y0", "rq"], ["y"])],
                extra_inits=[init("q", np.ones(C))])
    with pytest.raises(GradientGraphError, match=r"\['q'\] never reach the loss"):
        build_gradient_graph(model)


def test_probe_catches_a_rule_that_drops_a_path(monkeypatch):
    """An all-zero gradient the static checks cannot see (here: a broken Relu rule) is named by the
    finite-difference probe."""
    x, t = batch()
    healthy = DifferentiableModel(mlp())
    assert zero_gradient_tensors(healthy, x, t, healthy.graph.initial) == []

    def broken_relu(node, em, gy, needs):
        return [em.zeros_like(node.input[0])]

    monkeypatch.setitem(grad_rules.RULES, "Relu", (broken_relu, (0,)))
    monkeypatch.setattr("edgefl.learning.autodiff.RULES", grad_rules.RULES)
    broken = DifferentiableModel(mlp())
    with pytest.raises(GradientGraphError, match=r"'W1' .*'b1' .*gradient is all zero"):
        check_gradients_reach(broken, x, t, broken.graph.initial)


@pytest.mark.parametrize("b1", [-1.0, -100.0])
def test_dead_relu_layer_is_not_a_false_alarm(b1):
    """Every hidden unit dead (pre-activations well below 0 on every sample): W1, b1 and W2 get
    exactly zero gradient, and the loss does not change with them to first order either."""
    m = DifferentiableModel(mlp(b1=b1, w1_scale=0.01))
    x, t = batch()
    _, g = m.loss_and_grad(x, t, m.graph.initial)
    views = dict(zip(m.layout.names, m.layout.views(g)))
    assert all(not np.any(views[n]) for n in ("W1", "b1", "W2")) and np.any(views["b2"])
    assert zero_gradient_tensors(m, x, t, m.graph.initial) == []


def test_zero_initialised_relu_layer_is_reported():
    """W1 = 0, b1 = 0: every pre-activation sits on the kink, ReLU'(0) = 0 gives W1 and b1 a zero
    gradient forever while the loss moves with them: the model cannot train that layer."""
    m = DifferentiableModel(mlp(b1=0.0, w1_scale=0.0))
    x, t = batch()
    assert [n for n, _ in zero_gradient_tensors(m, x, t, m.graph.initial)] == ["W1", "b1"]


def test_probe_is_deterministic():
    m = DifferentiableModel(mlp(b1=0.0, w1_scale=0.0))
    x, t = batch()
    assert zero_gradient_tensors(m, x, t, m.graph.initial) == zero_gradient_tensors(m, x, t, m.graph.initial)


@pytest.mark.parametrize("name", ["logreg", "mlp", "cnn", "linreg", "mlp784", "cnn28"])
def test_every_shipped_model_passes_the_probe(name):
    loss = "mse" if name == "linreg" else "cross_entropy"
    m = DifferentiableModel(ROOT / "models" / f"{name}.onnx", loss=loss)
    shape = [32, *m.graph.input_shape[1:]]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    out = m.predict(x, m.graph.initial)
    t = rng.standard_normal(out.shape) if loss == "mse" else np.eye(out.shape[1])[rng.integers(0, out.shape[1], 32)]
    check_gradients_reach(m, x, t, m.graph.initial)


# --------------------------------------------------------------------------- end to end


def scenario(tmp_path: Path, model: onnx.ModelProto) -> Path:
    onnx.save(model, str(tmp_path / "m.onnx"))
    scn = yaml.safe_load((ROOT / "scenarios" / "digits_mlp.yaml").read_text())
    scn["rounds"] = 2
    scn["workers"]["count"] = 2
    scn["model"].update(model="m.onnx", batch_size=16,
                        data={"kind": "synthetic", "num_samples": 40, "num_features": F, "num_classes": C})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scn))
    return path


def test_run_refuses_the_if_model_and_the_zero_layer_model(tmp_path):
    flow = if_node([helper.make_node("Identity", ["y0"], ["t"])], "t", [helper.make_node("Neg", ["y0"], ["e"])], "e")
    for sub, model, needle in (("if", mlp(extra_nodes=[flow], extra_inits=[COND]), "If (node 'pick'"),
                               ("zero", mlp(b1=0.0, w1_scale=0.0), "'W1' (loss change")):
        (tmp_path / sub).mkdir()
        res = runner.invoke(app, ["run", str(scenario(tmp_path / sub, model)), "-o", str(tmp_path / sub / "out")])
        assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output, res.output
        assert not (tmp_path / sub / "out" / "rounds.csv").exists()


def test_negative_initializer_dims_name_the_tensor(tmp_path):
    model = mlp()
    del model.graph.initializer[0].dims[:]
    model.graph.initializer[0].dims.extend([-1, H])
    res = runner.invoke(app, ["validate", str(scenario(tmp_path, model))])
    assert res.exit_code == 2 and "initializer 'W1' has negative dimensions [-1, 8]" in res.output, res.output
