"""Input files count in the memory estimate (issue 21, item 4): traces by their lines and columns,
.npz data member by member from the zip directory and .npy headers, ONNX models by their
initializers and external data; ``--max-memory`` refuses before any of them is read, naming the
file and its size. Traces are held as flat arrays."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from edgefl import file_sizes, trace_table
from edgefl.cli import app
from edgefl.estimate import fmt_bytes
from edgefl.radio.trace import CHANNEL_COLUMNS, ChannelTrace
from edgefl.scenario import load_scenario
from edgefl.trace_table import TraceError, read_trace

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
DIGITS = ROOT / "scenarios" / "digits_mlp.yaml"
runner = CliRunner()


def write_trace(path: Path, rows: int, workers: int = 4, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    t = np.repeat(np.arange(rows // workers) * 0.01, workers)
    w = np.tile(np.arange(workers), rows // workers)
    snr = np.round(rng.normal(10, 5, t.size), 3)
    with open(path, "w") as fh:
        fh.write("# synthetic\ntime_s,worker,snr_db\n")
        fh.writelines(f"{a:.2f},{b},{c}\n" for a, b, c in zip(t, w, snr))
    return path


def reference_rows(path: Path) -> dict[int, list[tuple[float, float, int]]]:
    """Independent parse: csv by hand, per worker (time, value, line) in file order."""
    out: dict[int, list[tuple[float, float, int]]] = {}
    header = None
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in line.split(",")]
        if header is None:
            header = cells
            continue
        rec = dict(zip(header, cells))
        out.setdefault(int(float(rec["worker"])), []).append((float(rec["time_s"]), float(rec["snr_db"]), n))
    return out


def refused(args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    return res.output


def _fail(*_a, **_k):
    raise AssertionError("the file was read although the estimate refuses the run")


# --------------------------------------------------------------------------- traces


def test_trace_is_read_in_chunks_into_flat_arrays(tmp_path, monkeypatch):
    path = write_trace(tmp_path / "t.csv", 2000, workers=3)
    ref = reference_rows(path)
    monkeypatch.setattr(trace_table, "CHUNK_BYTES", 97)  # many chunks, boundaries everywhere
    table = read_trace(path, CHANNEL_COLUMNS)
    assert sorted(table.series) == sorted(ref)
    for w, rows in ref.items():
        s = table.series[w]
        np.testing.assert_array_equal(s.times, [r[0] for r in rows])
        np.testing.assert_array_equal(s.values["snr_db"], [r[1] for r in rows])
        np.testing.assert_array_equal(s.lines, [r[2] for r in rows])
        assert np.shares_memory(s.times, table.times)  # views of one array, no per-row objects
    assert table.times.dtype == np.float64 and table.times.shape == (sum(map(len, ref.values())),)


@pytest.mark.parametrize(("raw", "match"), [
    (b"\xef\xbb\xbftime_s,worker,snr_db\n0,0,1\n", None),  # a UTF-8 BOM is accepted
    (b"time_s,worker,snr_db\n0,0,1\n1,0,\xff\n", r"t.csv:3: byte 0xff is not UTF-8"),
    (b"time_s,worker,snr_db\n0,inf,1\n", r"t.csv:2: worker must be an integer"),
    (b"time_s,worker,snr_db\n0,1e300,1\n", r"t.csv:2: worker must be an integer"),
    (b"time_s,worker,snr_db\n0,0,1\n0,0,2\n", r"t.csv:3: time_s 0 of worker 0 is not after .* line 2"),
    (b"time_s,worker,snr_db\n0,0,1\n1,0,\"x\"\n", r"t.csv:3: non-numeric field snr_db"),
    (b"time_s,worker,snr_db\n0,0,1\n1,0,1,5\n", r"t.csv:3: 4 fields, the header has 3"),
    (b"time_s,worker,snr_db\n0,0,1\n1,0,1\x002\n", r"t.csv:3: non-numeric field snr_db"),
])
def test_trace_errors_name_the_line(tmp_path, raw, match):
    p = tmp_path / "t.csv"
    p.write_bytes(raw)
    if match is None:
        assert ChannelTrace.read(p, 1).value_db(0, 0.0) == 1.0
        return
    with pytest.raises(TraceError, match=match):
        ChannelTrace.read(p, 1)


def test_trace_estimate_bounds_the_measured_peak(tmp_path):
    path = write_trace(tmp_path / "t.csv", 40000)
    rs = load_scenario(QUICKSTART, [f"channel.trace={path}", "workers.count=4"])
    term = next(t for t in rs.estimate.memory if t.file == str(path))
    assert "40,002 lines x 3 columns" in term.what and term.fields == f"channel.trace {str(path)!r}"
    tracemalloc.start()
    try:
        ChannelTrace.read(path, 4)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= term.amount <= 4 * peak + 2**20


@pytest.mark.parametrize("command", ["validate", "run"])
def test_max_memory_refuses_a_trace_before_reading_it(tmp_path, monkeypatch, command):
    path = write_trace(tmp_path / "big.csv", 40000)
    rs = load_scenario(QUICKSTART, [f"channel.trace={path}", "workers.count=4"])
    term = next(t for t in rs.estimate.memory if t.file == str(path))
    monkeypatch.setattr("edgefl.radio.trace.read_trace", _fail)
    monkeypatch.setattr("edgefl.trace_table.read_trace", _fail)
    limit = str(int(rs.estimate.memory_bytes - term.amount / 2))
    extra = ["-o", str(tmp_path / "out")] if command == "run" else []
    out = refused([command, str(QUICKSTART), "--set", f"channel.trace={path}", "--set", "workers.count=4",
                   "--max-memory", limit, *extra])
    assert str(path) in out and f"~{fmt_bytes(term.amount)}" in out
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- .npz data


def digits_scenario(tmp_path: Path, data: str, model: str = "mlp784") -> Path:
    scn = yaml.safe_load(DIGITS.read_text())
    scn["model"]["model"] = model
    scn["model"]["data"] = {"file": data}
    scn["rounds"] = 1
    out = tmp_path / "scn.yaml"
    out.write_text(yaml.safe_dump(scn))
    return out


def test_npz_zip_bomb_counts_every_member_uncompressed(tmp_path, monkeypatch):
    x = np.zeros((32, 784))
    x_test = np.zeros((16384, 784))  # 98 MiB of zeros: a few hundred KiB compressed
    np.savez_compressed(tmp_path / "bomb.npz", X=x, y=np.arange(32) % 10, X_test=x_test, y_test=np.zeros(16384, int))
    assert (tmp_path / "bomb.npz").stat().st_size < 2**20
    members = file_sizes.npz_members(tmp_path / "bomb.npz")
    assert members["X_test"].shape == x_test.shape and members["X_test"].nbytes == x_test.nbytes
    scn = digits_scenario(tmp_path, "bomb.npz")
    rs = load_scenario(scn)
    term = next(t for t in rs.estimate.memory if t.file is not None and t.file.endswith("bomb.npz"))
    assert term.amount >= 3 * x_test.nbytes and "X_test (16384, 784) 98 MiB" in term.what
    monkeypatch.setattr(np, "load", _fail)
    monkeypatch.setattr("edgefl.learning.source.load_npz", _fail)
    out = refused(["validate", str(scn), "--max-memory", "400M"])
    assert "bomb.npz" in out and "X_test (16384, 784) 98 MiB" in out and "model.data.path" in out


def test_npz_header_declaring_more_than_stored_is_refused_by_name(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (2, 784)})
    with zipfile.ZipFile(tmp_path / "forged.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("X.npy", buf.getvalue() + bytes(64))
        y = io.BytesIO()
        np.save(y, np.zeros(2, dtype=np.int64))
        zf.writestr("y.npy", y.getvalue())
    with pytest.raises(file_sizes.InputFileError, match=r"forged.npz: member 'X.npy' declares shape"):
        file_sizes.npz_members(tmp_path / "forged.npz")
    out = refused(["validate", str(digits_scenario(tmp_path, "forged.npz"))])
    assert "forged.npz" in out and "'X.npy' declares shape (2, 784)" in out


# --------------------------------------------------------------------------- ONNX models


def external_model(tmp_path: Path, weight_bytes: int) -> Path:
    """A 784-16-10 MLP whose first weight lives in external data w.bin without a length entry, the
    file grown (sparse) to ``weight_bytes``: the estimate must read the size, not the data."""
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(size=(784, 16)).astype(np.float32), "W1")
    w2 = numpy_helper.from_array(rng.normal(size=(16, 10)).astype(np.float32), "W2")
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W1"], ["h"]), helper.make_node("Relu", ["h"], ["a"]),
         helper.make_node("MatMul", ["a", "W2"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 784])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], [w1, w2])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "ext.onnx"
    onnx.save(model, str(path), save_as_external_data=True, location="w.bin", size_threshold=1024)
    bare = onnx.load(str(path), load_external_data=False)  # no length: onnx reads w.bin to its end
    for t in bare.graph.initializer:
        kept = [e for e in t.external_data if e.key != "length"]
        del t.external_data[:]
        t.external_data.extend(kept)
    path.write_bytes(bare.SerializeToString())
    with open(tmp_path / "w.bin", "r+b") as fh:
        fh.truncate(weight_bytes)
    return path


def test_onnx_sizes_from_the_protobuf_match_onnx(tmp_path):
    for shipped in sorted((ROOT / "models").glob("*.onnx")):
        full = onnx.load(str(shipped))
        w = file_sizes.onnx_weights(shipped)
        assert [(t.name, t.dims) for t in w.tensors] == [(i.name, tuple(i.dims)) for i in full.graph.initializer]
        bare = onnx.shape_inference.infer_shapes(file_sizes.onnx_without_weights(shipped))
        ref = onnx.shape_inference.infer_shapes(full)
        assert bare.graph.value_info == ref.graph.value_info
        assert len(file_sizes.onnx_without_weights(shipped).SerializeToString()) < 4096
    path = external_model(tmp_path, 3 * 2**30)
    w = file_sizes.onnx_weights(path)
    assert w.tensors[0].external["location"] == "w.bin" and w.external_bytes == 3 * 2**30


def test_max_memory_refuses_large_external_weights_before_loading(tmp_path, monkeypatch):
    path = external_model(tmp_path, 2**30)
    np.savez(tmp_path / "d.npz", X=np.zeros((20, 784)), y=np.arange(20) % 10)
    scn = digits_scenario(tmp_path, "d.npz", model=path.name)
    monkeypatch.setattr(onnx, "load", _fail)
    monkeypatch.setattr("edgefl.learning.source.DifferentiableModel", _fail)
    out = refused(["validate", str(scn), "--max-memory", "4G"])
    assert "ext.onnx" in out and "1 GiB external data" in out and "model.model" in out
