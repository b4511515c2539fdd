"""Every file argument is checked like the scenario file (issue 21, item 3): study files,
base scenarios, scenario files, traces, ONNX models and .npz data that are FIFOs, devices,
directories, missing, oversized, binary or not UTF-8 are refused by name (exit 2, no
traceback, no hang), and output folders (``sweep -o``, a study's ``output:``, ``run -o``)
are checked before any work; no existing file is changed."""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.file_checks import FileArgError, check_input_file, check_output_dir

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
NR_CELL = ROOT / "scenarios" / "nr_cell.yaml"
DIGITS = ROOT / "scenarios" / "digits_mlp.yaml"
runner = CliRunner()
HANG_GUARD_S = 120  # not a performance budget: a FIFO that is opened blocks forever, this ends the test


@contextmanager
def no_hang() -> Iterator[None]:
    def _alarm(*_a):
        raise AssertionError("the command blocked on a special file")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_GUARD_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def make_bad(tmp_path: Path, kind: str, name: str) -> tuple[Path, str]:
    """A bad file of ``kind`` at tmp_path/name (or a system device) and the words the error must use."""
    p = tmp_path / name
    if kind == "fifo":
        os.mkfifo(p)
        return p, "FIFO (named pipe)"
    if kind == "directory":
        p.mkdir()
        return p, "is a directory"
    if kind == "device":
        return Path("/dev/zero"), "character device"
    if kind == "missing":
        return p, "not found"
    if kind == "oversize":
        p.write_text("name: x\n" + "# padding\n" * 200_000)
        return p, "limited to 1 MiB"
    if kind == "binary":
        p.write_bytes(bytes(range(256)) * 8)
        return p, "binary"
    if kind == "latin1":
        p.write_bytes(b"name: caf\xe9\n")
        return p, "not UTF-8"
    raise AssertionError(kind)


def snapshot(root: Path) -> dict[str, tuple[int, float]]:
    """Size and mtime of every regular file under ``root`` (to prove nothing was changed)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            st = os.lstat(os.path.join(dirpath, f))
            if stat.S_ISREG(st.st_mode):
                out[os.path.join(dirpath, f)] = (st.st_size, st.st_mtime)
    return out


def invoke_refused(args: list[str], *needles: str) -> str:
    with no_hang():
        res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit), res.output
    for n in needles:
        assert n in res.output, (n, res.output)
    return res.output


YAML_KINDS = ["fifo", "directory", "device", "missing", "oversize", "binary", "latin1"]


def study_text(base: str) -> str:
    return yaml.safe_dump({"name": "t", "base": base, "set": ["rounds=2"], "axes": {"workers.count": [2, 3]},
                           "metrics": ["latency_s:p95"]})


@pytest.mark.parametrize("kind", YAML_KINDS)
def test_bad_study_file(tmp_path: Path, kind: str) -> None:
    path, words = make_bad(tmp_path, kind, "study.yaml")
    before = snapshot(tmp_path)
    for extra in ([], ["--dry-run"]):
        invoke_refused(["sweep", str(path), "-o", str(tmp_path / "out"), *extra], str(path), words)
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", YAML_KINDS)
def test_bad_base_scenario(tmp_path: Path, kind: str) -> None:
    base, words = make_bad(tmp_path, kind, "base.yaml")
    study = tmp_path / "study.yaml"
    study.write_text(study_text(str(base)))
    before = snapshot(tmp_path)
    invoke_refused(["sweep", str(study), "-o", str(tmp_path / "out")], str(study), "base", str(base), words)
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", YAML_KINDS)
@pytest.mark.parametrize("command", [["validate"], ["run", "-o", "{tmp}/out"], ["plan", "--D", "0.2"], ["whatif"],
                                     ["plan", "--deadline", "0.3"]])
def test_bad_scenario_file_in_every_command(tmp_path: Path, kind: str, command: list[str]) -> None:
    path, words = make_bad(tmp_path, kind, "scn.yaml")
    args = [command[0], str(path), *(a.format(tmp=tmp_path) for a in command[1:])]
    if command[0] == "whatif":
        args += ["--set", "rounds=2"]
    before = snapshot(tmp_path)
    invoke_refused(args, str(path), words)
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["fifo", "directory", "device", "missing"])
@pytest.mark.parametrize("field", ["channel.trace.file", "workers.trace.file"])
def test_bad_trace(tmp_path: Path, kind: str, field: str) -> None:
    path, words = make_bad(tmp_path, kind, "trace.csv")
    invoke_refused(["validate", str(NR_CELL), "--set", f"{field}={path}"], field.removesuffix(".file"),
                   str(path), "trace" if kind != "missing" else "not found")


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
@pytest.mark.parametrize(("setting", "field", "what"), [
    ("model.model={}", "model.model", "ONNX model"),
    ("model.data={{kind: npz, path: {}}}", "model.data.path", "data file"),
])
def test_bad_model_or_data_file(tmp_path: Path, kind: str, setting: str, field: str, what: str) -> None:
    name = "m.onnx" if field == "model.model" else "d.npz"
    path, words = make_bad(tmp_path, kind, name)
    if kind == "device" and field == "model.model":
        path = tmp_path / "zero.onnx"
        path.symlink_to("/dev/zero")  # a link to a device is followed and named by what it is
    invoke_refused(["validate", str(DIGITS), "--set", setting.format(path)], field, str(path), what, words)


@pytest.mark.parametrize(("output", "needle"), [
    ("{tmp}/existing.txt", "exists and is not a directory"),
    ("/dev/null/x", "/dev/null is not a directory"),
    ("{tmp}/existing.txt/sub", "existing.txt is not a directory"),
    (" ", "empty path"),
])
def test_bad_output_folders(tmp_path: Path, output: str, needle: str) -> None:
    (tmp_path / "existing.txt").write_text("keep me\n")
    study = tmp_path / "study.yaml"
    study.write_text(study_text(str(QUICKSTART)))
    out = output.format(tmp=tmp_path)
    before = snapshot(tmp_path)
    invoke_refused(["sweep", str(study), "-o", out], needle)
    invoke_refused(["sweep", str(study), "-o", out, "--dry-run"], needle)
    invoke_refused(["run", str(QUICKSTART), "-o", out, "--set", "rounds=2"], needle)
    assert snapshot(tmp_path) == before
    data = yaml.safe_load(study.read_text())
    data["output"] = out
    study.write_text(yaml.safe_dump(data))
    before = snapshot(tmp_path)
    invoke_refused(["sweep", str(study)], f"{study}: output" if out.strip() else "empty path", needle)
    assert snapshot(tmp_path) == before


def test_helpers_directly(tmp_path: Path) -> None:
    good = tmp_path / "a.yaml"
    good.write_text("x: 1\n")
    assert check_input_file(good, "study file") == good
    link = tmp_path / "link.yaml"
    link.symlink_to(good)
    assert check_input_file(link) == link  # links to regular files are fine
    with pytest.raises(FileArgError, match="files are limited to"):
        check_input_file(good, "file", max_bytes=2)
    assert check_output_dir(tmp_path / "new" / "deeper", "-o") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileArgError, match="broken link"):
        check_output_dir(dangling / "x", "-o")


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() == 0, reason="root writes everywhere")
def test_unwritable_parent(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(FileArgError, match="no permission"):
        check_output_dir(ro / "out", "-o")
