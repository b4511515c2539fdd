"""Property-based fuzzing of the files a scenario reads (issue 21): channel and device trace CSVs,
.npz data sets and ONNX models, generated from scratch, mutated from valid ones, or random bytes.

Each generated file is referenced from a small scenario, which is then loaded and built the way
``edgefl validate`` does (memory estimate, file checks, trace/data/model loading, the gradient
probe). The only acceptable failure is a ScenarioError whose message names the file, is short and
comes back in bounded time: any other exception (what the CLI would report as an internal error
blamed on the scenario, or a traceback) is a finding. The default suite runs a fast profile;
``-m slow`` runs >= 300 cases per file kind.
"""

from __future__ import annotations

import copy
import io
import time
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sim.build import build_simulation

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
FAST = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
MESSAGE_CHARS = 4000
BUDGET_S = 20.0  # per case, far above the ~0.1 s they take: a hang, not a slow machine
F, C = 4, 3  # features and classes of the model scenarios
runner = CliRunner()


def check(scn: Path, fuzzed: Path) -> str:
    """Load and build ``scn`` like ``validate``: 'ok', or the message of a ScenarioError naming ``fuzzed``."""
    t0 = time.perf_counter()
    try:
        build_simulation(load_scenario(scn))
        outcome = "ok"
    except ScenarioError as exc:
        outcome = str(exc)
        assert fuzzed.name in outcome, outcome[:MESSAGE_CHARS]
        assert len(outcome) < MESSAGE_CHARS, outcome[:MESSAGE_CHARS]
    assert time.perf_counter() - t0 < BUDGET_S
    return outcome


def fresh_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def mutate_bytes(data: bytes, draw: st.DrawFn) -> bytes:
    """Truncate, flip, insert or delete a few bytes."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        i = draw(st.integers(0, max(len(buf) - 1, 0)))
        if op == "flip" and buf:
            buf[i] ^= draw(st.integers(1, 255))
        elif op == "insert":
            buf[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and buf:
            del buf[i:i + draw(st.integers(1, 16))]
        elif op == "truncate":
            del buf[i:]
    return bytes(buf)


# --------------------------------------------------------------------------- traces

CELL = st.one_of(
    st.integers(-3, 12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "inf", "-inf", "nan", "1e308", "1e999", "-0", "0x10", "1_0", '"3"', '"', "9" * 40,
                     "2147483648", "1e300", "\x00", "é", "\ufeff1", "1,2", "0.5 ", "#", "\r"]),
    st.text(max_size=6),
)
COLUMNS = ["time_s", "worker", "snr_db", "path_gain_db", "speed_factor", "available", "junk", "", "time_s"]


@st.composite
def trace_bytes(draw: st.DrawFn, kind: str) -> bytes:
    source = draw(st.sampled_from(["built", "mutated", "random"]))
    if source == "random":
        return draw(st.binary(max_size=300))
    example = {"channels": ROOT / "channels" / "traces" / "example_snr.csv",
               "devices": ROOT / "devices" / "traces" / "example_availability.csv"}[kind]
    if source == "mutated":
        return mutate_bytes(example.read_bytes(), draw)
    value_cols = ["snr_db"] if kind == "channels" else ["speed_factor", "available"]
    header = ["time_s", "worker", *value_cols]
    if draw(st.booleans()):
        header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=5))
    lines = ["# fuzz"] if draw(st.booleans()) else []
    lines.append(",".join(header))
    t = 0.0
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 4)) == 0:  # a hostile row
            row = draw(st.lists(CELL, min_size=0, max_size=len(header) + 1))
        else:  # a plausible row
            t += draw(st.sampled_from([0.0, 0.5, 1.0, -1.0]))
            vals = [draw(st.sampled_from(["1", "0", "-80", "15.5", "1e9"])) for _ in header[2:]]
            row = [repr(t), draw(st.sampled_from(["0", "1", "2", "0.0"])), *vals]
        lines.append(",".join(row))
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


def trace_scenario(d: Path, name: str, kind: str) -> Path:
    scn = yaml.safe_load(QUICKSTART.read_text())
    scn.update(rounds=2)
    scn["workers"]["count"] = 2
    if kind == "channels":
        scn["channel"]["trace"] = {"file": name, "wrap": True}
    else:
        scn["workers"]["trace"] = {"file": name, "wrap": True}
    path = d / "scn.yaml"
    path.write_text(yaml.safe_dump(scn))
    return path


def _trace_case(tmp_path_factory, kind: str, data: bytes) -> None:
    d = fresh_dir(tmp_path_factory)
    (d / "t.csv").write_bytes(data)
    check(trace_scenario(d, "t.csv", kind), d / "t.csv")


@FAST
@given(kind=st.sampled_from(["channels", "devices"]), data=st.data())
def test_fuzz_traces(tmp_path_factory, kind, data):
    _trace_case(tmp_path_factory, kind, data.draw(trace_bytes(kind)))


@pytest.mark.slow
@SLOW
@given(kind=st.sampled_from(["channels", "devices"]), data=st.data())
def test_fuzz_traces_long(tmp_path_factory, kind, data):
    _trace_case(tmp_path_factory, kind, data.draw(trace_bytes(kind)))


# --------------------------------------------------------------------------- .npz data

DTYPES = ["f4", "f8", "i8", "u1", "i1", "?", "c16", "U3", "M8[s]", "f2"]
SPECIAL = st.sampled_from([0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e308, 2.0**63, 0.5, 9.0])


@st.composite
def npz_bytes(draw: st.DrawFn) -> bytes:
    source = draw(st.sampled_from(["built", "built", "mutated", "forged", "random"]))
    if source == "random":
        return draw(st.binary(max_size=400))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n = draw(st.sampled_from([0, 1, 2, 5, 20]))
    arrays: dict[str, np.ndarray] = {"X": rng.standard_normal((n, F)), "y": rng.integers(0, C, n)}
    if draw(st.booleans()):
        m = draw(st.sampled_from([0, 1, 4]))
        arrays.update(X_test=rng.standard_normal((m, F)), y_test=rng.integers(0, C, m))
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(["X", "y", "X_test", "y_test", "extra"]))
        change = draw(st.sampled_from(["dtype", "shape", "value", "drop", "scalar"]))
        a = arrays.get(key, np.zeros(3))
        try:
            if change == "dtype":
                a = a.astype(draw(st.sampled_from(DTYPES)))
            elif change == "shape":
                a = np.resize(a, draw(st.lists(st.integers(0, 6), min_size=1, max_size=3)))
            elif change == "value" and a.size:
                a = a.astype(float)
                a.flat[draw(st.integers(0, a.size - 1))] = draw(SPECIAL)
            elif change == "scalar":
                a = np.asarray(draw(SPECIAL))
        except (ValueError, TypeError, OverflowError):
            pass
        if change == "drop":
            arrays.pop(key, None)
        else:
            arrays[key] = a
    buf = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buf, **arrays)
    data = buf.getvalue()
    if source == "mutated":
        return mutate_bytes(data, draw)
    if source == "forged":  # a member whose .npy header declares another shape than it stores
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                raw = src.read(info)
                if draw(st.booleans()):
                    head = io.BytesIO()
                    shape = tuple(draw(st.lists(st.integers(0, 10**12), min_size=0, max_size=3)))
                    np.lib.format.write_array_header_1_0(
                        head, {"descr": draw(st.sampled_from(["<f8", "<i8", "|O", "<U2", "bogus"])),
                               "fortran_order": draw(st.booleans()), "shape": shape})
                    raw = head.getvalue() + raw[draw(st.integers(0, 128)):]
                dst.writestr(info.filename, raw)
        return out.getvalue()
    return data


def model_scenario(d: Path, model: str = "m.onnx", data: dict | None = None) -> Path:
    scn = yaml.safe_load((ROOT / "scenarios" / "digits_mlp.yaml").read_text())
    scn.update(rounds=1)
    scn["workers"]["count"] = 2
    scn["model"].update(model=model, batch_size=8, eval_every=1,
                        data=data or {"kind": "synthetic", "num_samples": 40, "num_features": F, "num_classes": C})
    path = d / "scn.yaml"
    path.write_text(yaml.safe_dump(scn))
    return path


def small_mlp() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
             for n, s in (("W1", (F, 6)), ("b1", (6,)), ("W2", (6, C)), ("b2", (C,)))]
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["z"], name="fc1"), helper.make_node("Add", ["z", "b1"], ["h"]),
             helper.make_node("Relu", ["h"], ["a"], name="relu"), helper.make_node("MatMul", ["a", "W2"], ["s"]),
             helper.make_node("Add", ["s", "b2"], ["y"], name="fc2")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", F])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", C])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


MLP = small_mlp()


def _npz_case(tmp_path_factory, data: bytes) -> None:
    d = fresh_dir(tmp_path_factory)
    onnx.save(MLP, str(d / "m.onnx"))
    (d / "d.npz").write_bytes(data)
    check(model_scenario(d, data={"file": "d.npz"}), d / "d.npz")


@FAST
@given(data=npz_bytes())
def test_fuzz_npz(tmp_path_factory, data):
    _npz_case(tmp_path_factory, data)


@pytest.mark.slow
@SLOW
@given(data=npz_bytes())
def test_fuzz_npz_long(tmp_path_factory, data):
    _npz_case(tmp_path_factory, data)


# --------------------------------------------------------------------------- ONNX models

OPS = ["If", "Loop", "Scan", "NoSuchOp", "Conv", "Relu", "Softmax", "Identity", "MatMul", "Gemm", "Round",
       "Reshape", "Dropout", "MaxPool", "Add", "Cast"]


@st.composite
def onnx_bytes(draw: st.DrawFn) -> bytes:
    source = draw(st.sampled_from(["structured", "structured", "structured", "mutated", "random", "shipped"]))
    if source == "random":
        return draw(st.binary(max_size=400))
    if source == "shipped":
        shipped = draw(st.sampled_from(sorted((ROOT / "models").glob("*.onnx"))))
        return mutate_bytes(shipped.read_bytes(), draw)
    m = copy.deepcopy(MLP)
    g = m.graph
    for _ in range(draw(st.integers(1, 3))):
        change = draw(st.sampled_from(["dims", "dtype", "op", "inputs", "output", "opset", "external", "ir",
                                       "domain", "attr", "drop_init", "input_shape"]))
        init = g.initializer[draw(st.integers(0, len(g.initializer) - 1))] if len(g.initializer) else None
        node = g.node[draw(st.integers(0, len(g.node) - 1))] if len(g.node) else None
        if change == "dims" and init is not None:
            del init.dims[:]
            init.dims.extend(draw(st.lists(st.integers(-3, 2**40), max_size=3)))
        elif change == "dtype" and init is not None:
            init.data_type = draw(st.integers(0, 25))
        elif change == "op" and node is not None:
            node.op_type = draw(st.sampled_from(OPS))
        elif change == "inputs" and node is not None:
            node.input.append(draw(st.sampled_from(["", "x", "W1", "missing", "y"])))
        elif change == "output":
            g.output[0].name = draw(st.sampled_from(["a", "z", "missing", "x", "W2"]))
        elif change == "opset":
            m.opset_import[0].version = draw(st.integers(1, 30))
        elif change == "external" and init is not None:
            init.ClearField("raw_data")
            init.data_location = TensorProto.EXTERNAL
            entry = init.external_data.add()
            entry.key, entry.value = "location", draw(st.sampled_from(["w.bin", "../../etc/passwd", "/dev/zero",
                                                                      "", "nope.bin"]))
        elif change == "ir":
            m.ir_version = draw(st.integers(0, 20))
        elif change == "domain" and node is not None:
            node.domain = draw(st.sampled_from(["com.microsoft", "ai.onnx.ml", "x"]))
        elif change == "attr" and node is not None:
            node.attribute.append(helper.make_attribute(draw(st.sampled_from(["axis", "alpha", "to", "transB"])),
                                                        draw(st.sampled_from([0, 1, -5, 2.5, 10**9]))))
        elif change == "drop_init" and init is not None:
            g.initializer.remove(init)
        elif change == "input_shape":
            dims = g.input[0].type.tensor_type.shape.dim
            dims[draw(st.integers(0, len(dims) - 1))].dim_value = draw(st.integers(0, 100))
    data = m.SerializeToString()
    return mutate_bytes(data, draw) if source == "mutated" else data


def _onnx_case(tmp_path_factory, data: bytes) -> None:
    d = fresh_dir(tmp_path_factory)
    (d / "m.onnx").write_bytes(data)
    (d / "w.bin").write_bytes(bytes(64))
    check(model_scenario(d), d / "m.onnx")


@FAST
@given(data=onnx_bytes())
def test_fuzz_onnx(tmp_path_factory, data):
    _onnx_case(tmp_path_factory, data)


@pytest.mark.slow
@SLOW
@given(data=onnx_bytes())
def test_fuzz_onnx_long(tmp_path_factory, data):
    _onnx_case(tmp_path_factory, data)


# --------------------------------------------------------------------------- through the CLI


@pytest.mark.parametrize(("name", "data"), [
    ("t.csv", b"time_s,worker,snr_db\n0,inf,1\n"),
    ("t.csv", b"\xef\xbb\xbftime_s,worker,snr_db\n0,0,1\n1,0,\xff\n"),
    ("d.npz", b"PK\x03\x04 not really"),
    ("m.onnx", b"\x08\x07\x3a\xff\xff\xff\xff\x0f"),
])
def test_cli_names_the_file_and_exits_2(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    if name.endswith(".csv"):
        scn = trace_scenario(tmp_path, name, "channels")
    else:
        onnx.save(MLP, str(tmp_path / "ok.onnx"))
        scn = model_scenario(tmp_path, "m.onnx" if name == "m.onnx" else "ok.onnx",
                             {"file": name} if name.endswith(".npz") else None)
    for command in ("validate", "run"):
        res = runner.invoke(app, [command, str(scn), "-o", str(tmp_path / "out")][:None if command == "run" else 2])
        assert res.exit_code == 2 and name in res.output and "Traceback" not in res.output, res.output
