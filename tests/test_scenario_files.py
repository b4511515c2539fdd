"""Errors point at the right file (issue 15, item 5): channel and device profiles, dataset
and model files, the results directory given with -o, and damaged results folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from edgefl.cli import app

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
DIGITS = ROOT / "scenarios" / "digits_mlp.yaml"
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    assert "Traceback" not in res.output
    return res.exit_code, res.output


def scenario_with_profiles(tmp_path: Path, channel: dict | None = None, device: dict | None = None) -> Path:
    """quickstart in tmp_path, using local copies of its channel and worker profiles, edited."""
    data = yaml.safe_load(QUICKSTART.read_text())
    data["rounds"] = 3
    if channel is not None:
        prof = yaml.safe_load((ROOT / "channels" / "umi_street_canyon_nlos.yaml").read_text()) | channel
        (tmp_path / "channels").mkdir()
        (tmp_path / "channels" / "mine.yaml").write_text(yaml.safe_dump(prof))
        data["channel"]["profile"] = "mine"
    if device is not None:
        prof = yaml.safe_load((ROOT / "devices" / "raspberry_pi_4.yaml").read_text()) | device
        (tmp_path / "devices").mkdir()
        (tmp_path / "devices" / "pi.yaml").write_text(yaml.safe_dump(prof))
        data["workers"]["device"] = "pi"
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_invalid_field_in_channel_profile_names_the_profile_file(tmp_path: Path) -> None:
    p = scenario_with_profiles(tmp_path, channel={"noise_figure_db": -7.0})
    code, out = invoke("validate", str(p))
    assert code == 2
    assert f"{tmp_path / 'channels' / 'mine.yaml'}: noise_figure_db = -7.0" in out
    assert "named by channel.profile" in out and "s.yaml" in out


def test_invalid_device_profile_names_the_file_and_field_once(tmp_path: Path) -> None:
    p = scenario_with_profiles(tmp_path, device={"flops_per_s": "fast", "junk": 1})
    code, out = invoke("validate", str(p))
    assert code == 2
    dev = str(tmp_path / "devices" / "pi.yaml")
    assert f"{dev}: flops_per_s = 'fast'" in out and f"{dev}: junk = 1: unknown key" in out
    assert "named by workers.device" in out
    assert out.count("flops_per_s = ") == 1 and "raspberry" not in out.split("\n", 1)[1].split("allowed")[0]
    assert len(out.splitlines()) <= 4  # header + two problems, no dict dumps


def model_scenario(tmp_path: Path, data_bytes: bytes | None = None, onnx_bytes: bytes | None = None) -> Path:
    d = yaml.safe_load(DIGITS.read_text())
    d["rounds"] = 2
    if data_bytes is not None:
        (tmp_path / "d.npz").write_bytes(data_bytes)
        d["model"]["data"] = "d.npz"
    if onnx_bytes is not None:
        (tmp_path / "m.onnx").write_bytes(onnx_bytes)
        d["model"]["model"] = "m.onnx"
    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump(d))
    return p


def test_corrupt_npz_names_the_file_and_the_field(tmp_path: Path) -> None:
    code, out = invoke("validate", str(model_scenario(tmp_path, data_bytes=b"PK\x03\x04 not really" * 50)))
    assert code == 2
    assert "model.data.path = 'd.npz'" in out and str(tmp_path / "d.npz") in out and "not an .npz" in out
    assert "model = 'mlp'" not in out


def test_npz_with_mismatched_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", X=np.zeros((10, 4)), y=np.zeros(9))
    code, out = invoke("validate", str(model_scenario(tmp_path, data_bytes=(tmp_path / "x.npz").read_bytes())))
    assert code == 2 and "model.data.path" in out and "X has 10 rows and y 9" in out


def test_corrupt_onnx_names_the_file_and_the_field(tmp_path: Path) -> None:
    code, out = invoke("validate", str(model_scenario(tmp_path, onnx_bytes=b"\x08\x07garbage" * 64)))
    assert code == 2
    assert "model.model = 'm.onnx'" in out and str(tmp_path / "m.onnx") in out and "ONNX" in out


def test_output_empty_or_existing_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = invoke("run", str(QUICKSTART), "-o", "", "--no-progress")
    assert code == 2 and "empty path" in out
    (tmp_path / "existing_file.txt").write_text("keep me")
    code, out = invoke("run", str(QUICKSTART), "-o", "existing_file.txt", "--no-progress")
    assert code == 2 and "existing_file.txt" in out and "not a directory" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing_file.txt"]  # nothing written
    code, out = invoke("run", str(QUICKSTART), "--set", "output.dir=existing_file.txt", "--no-progress")
    assert code == 2 and "output.dir" in out


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("res") / "r"
    code, text = invoke("run", str(QUICKSTART), "-o", str(out), "--no-progress", "--set", "rounds=2",
                        "--set", "output.plots=false")
    assert code == 0, text
    return out


def damaged(results: Path, tmp_path: Path, name: str, edit) -> Path:
    d = tmp_path / "damaged"
    shutil.copytree(results, d)
    text = (d / name).read_text()
    (d / name).write_text(edit(text))
    return d


def edit_line(text: str, index: int, column: int, value: str) -> str:
    lines = text.splitlines()
    cells = lines[index].split(",")
    cells[column] = value
    lines[index] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("name", "edit", "needles"), [
    ("timeline.csv", lambda t: t[: len(t) // 2].rsplit(",", 2)[0] + "\n", ("timeline.csv", "fields", "truncated")),
    ("timeline.csv", lambda t: edit_line(t, 2, 3, "abc"), ("timeline.csv: line 3, column 'start'", "not a number")),
    ("timeline.csv", lambda t: t.replace("start", "begin", 1), ("timeline.csv", "missing column(s) start")),
    ("rounds.csv", lambda t: t[: len(t) - len(t.splitlines()[-1]) // 2 - 1], ("rounds.csv", "line 3", "fields")),
])
def test_plot_on_damaged_results_names_file_and_row(results: Path, tmp_path: Path, name, edit, needles) -> None:
    d = damaged(results, tmp_path, name, edit)
    code, out = invoke("plot", str(d))
    assert code == 2, out
    for n in needles:
        assert n in out, (n, out)
    assert len(out.splitlines()) <= 3


def test_plot_on_binary_file(results: Path, tmp_path: Path) -> None:
    d = damaged(results, tmp_path, "timeline.csv", lambda t: t)
    (d / "timeline.csv").write_bytes(b"\xff\xfe\x00garbage" * 100)
    code, out = invoke("plot", str(d))
    assert code == 2 and "timeline.csv: not a readable CSV" in out and len(out.splitlines()) <= 2


def test_plot_marks_tiny_bars_and_skips_unevaluated_accuracy(tmp_path: Path, monkeypatch) -> None:
    from edgefl.results import plots

    figs = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figs.append(fig))
    (tmp_path / "timeline.csv").write_text(
        "round,actor,phase,start,end,bits\n"
        "0,worker0,upload,0.0,1.0,100\n"
        "0,server,decode,1.0,1.000001,0\n"  # 1 us decode: a marker, not an invisible bar
        + "".join(f"0,worker{k},compute,0.0,0.5,0\n" for k in range(1, 45)))
    (tmp_path / "summary.json").write_text('{"name": "my_scenario"}')
    plots.plot_timing(tmp_path)
    ax = figs[-1].axes[0]
    markers = [ln for ln in ax.get_lines() if ln.get_marker() == "d"]
    assert len(markers) == 1 and markers[0].get_xdata()[0] == pytest.approx(1.0)
    title = ax.get_title()
    assert "my_scenario" in title and "5 of 45 workers not shown" in title
    assert ax.get_xlim()[1] > 1.0  # the last upload is not clipped
    (tmp_path / "rounds.csv").write_text(
        "round,latency_s,bits_per_worker_mean,test_accuracy\n"
        "0,1.0,10,nan\n1,1.0,10,0.5\n2,1.0,10,nan\n3,1.0,10,0.7\n")
    plots.plot_curves(tmp_path)
    acc = figs[-1].axes[2].get_lines()[0]
    assert list(acc.get_xdata()) == [1.0, 3.0] and list(acc.get_ydata()) == pytest.approx([50.0, 70.0])
    assert figs[-1].axes[2].get_ylabel() == "test accuracy [%]"  # shown in percent, the unit on the axis
