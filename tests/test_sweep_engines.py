"""Running studies: local pool vs Dask give the same study.csv; a SIGKILLed study resumes
with only the missing points; a raising point is recorded and the others finish."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from edgefl.sweep.run import run_study
from edgefl.sweep.study import load_study
from edgefl.sweep.tables import paired_difference_rows, study_rows

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
AXES = {"channel.uplink_bandwidth_hz": {"log": [1.0e6, 1.0e7, 3]}, "compression.scheme": ["signsgd", "dsc"]}


def write_study(tmp: Path, axes=None, seeds=2) -> Path:
    data = {"name": "t", "base": str(QUICKSTART), "set": ["rounds=3", "workers.count=4"], "axes": axes or AXES,
            "seeds": seeds, "metrics": {"lat_p95": "latency_s:p95", "energy": "total:worker_energy_j",
                                        "bits": "bits_total:sum", "wait": "critical.decode_wait:max"},
            "plots": [{"metric": "lat_p95", "x": "channel.uplink_bandwidth_hz", "lines": "compression.scheme"},
                      {"metric": "lat_p95", "heatmap": ["channel.uplink_bandwidth_hz", "compression.scheme"],
                       "threshold": 0.3},
                      {"metric": "wait", "x": "channel.uplink_bandwidth_hz",
                       "minus": {"compression.scheme": "signsgd"}}]}
    tmp.mkdir(parents=True, exist_ok=True)
    p = tmp / "study.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, str]:
    """An uninterrupted local run of the 12-run study: its study file and study.csv text."""
    tmp = tmp_path_factory.mktemp("ref")
    path = write_study(tmp)
    rep = run_study(load_study(path, tmp / "out"), jobs=2, progress=False)
    assert rep.ran == 12 and rep.failed == 0 and rep.missing == 0
    return path, (tmp / "out" / "study.csv").read_text()


def test_reference_tables_and_plot(reference, tmp_path: Path) -> None:
    path, text = reference
    out = path.parent / "out"
    rows = text.splitlines()
    assert rows[0] == ("point,seed,channel.uplink_bandwidth_hz,compression.scheme,"
                       "lat_p95,energy,bits,wait,out_of_coverage_fraction,status,key,error")
    assert len(rows) == 1 + 12 and all(",0.0,ok," in r for r in rows[1:])  # Shannon: every worker covered
    summary = (out / "study_summary.csv").read_text().splitlines()
    assert len(summary) == 1 + 6 and "lat_p95_ci95_low" in summary[0]
    assert summary[0].endswith(",out_of_coverage_fraction_mean")
    assert len(list((out / "plots").glob("*.png"))) == 3
    st = load_study(path, out)
    prows = study_rows(st)
    diff = paired_difference_rows(st, prows, "energy", "compression.scheme", "signsgd")
    assert len(diff) == 3 and all(d["compression.scheme"] == "dsc" for d in diff)
    for d in diff:  # by hand: mean over seeds of dsc minus signsgd at the same seed and other axes
        same = [r for r in prows if r["channel.uplink_bandwidth_hz"] == d["channel.uplink_bandwidth_hz"]]
        by_seed = {(r["seed"], r["compression.scheme"]): r["energy"] for r in same}
        hand = [by_seed[(s, "dsc")] - by_seed[(s, "signsgd")] for s in st.seeds]
        assert d["energy_mean"] == pytest.approx(sum(hand) / len(hand), rel=1e-12)
    # the metrics come from the point's own files
    key = rows[1].split(",")[-2]
    summ = json.loads((out / "points" / key / "summary.json").read_text())
    assert float(rows[1].split(",")[5]) == summ["totals"]["worker_energy_j"]
    with (out / "study.csv").open() as fh:  # decoding adds delay to DSC only
        assert all((float(r["wait"]) > 0) == (r["compression.scheme"] == "dsc") for r in csv.DictReader(fh))
    # rerunning finds everything finished and runs nothing
    rep = run_study(load_study(path, out), jobs=2, progress=False)
    assert rep.ran == 0 and rep.already_done == 12
    assert (out / "study.csv").read_text() == text


def test_dask_engine_gives_the_same_study_csv(reference, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    path, text = reference
    rep = run_study(load_study(path, tmp_path / "dask"), engine="dask", jobs=2, progress=False,
                    dask_processes=False, plots=False)
    assert rep.ran == 12 and rep.failed == 0
    assert (tmp_path / "dask" / "study.csv").read_text() == text


def test_sigkill_midway_then_resume_runs_only_missing_points(reference, tmp_path: Path) -> None:
    path, text = reference
    out = tmp_path / "killed"
    code = ("from edgefl.sweep.study import load_study; from edgefl.sweep.run import run_study; "
            f"run_study(load_study({str(path)!r}, {str(out)!r}), jobs=2, progress=False, plots=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True)

    def done_files() -> list[Path]:  # committed points (not the .tmp- directories being assembled)
        return [p for p in (out / "points").glob("*/point.json") if not p.parent.name.startswith(".")]

    deadline = time.monotonic() + 120
    while len(done_files()) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the study, its fork server and its pool workers
    proc.wait()
    finished = len(done_files())
    assert 3 <= finished < 12, f"{finished} points finished before the kill"
    assert not (out / "study.csv").exists()
    rep = run_study(load_study(path, out), jobs=2, progress=False, plots=False)
    assert rep.already_done == finished and rep.ran == 12 - finished and rep.missing == 0
    assert (out / "study.csv").read_text() == text


def test_raising_point_is_recorded_and_others_finish(tmp_path: Path) -> None:
    # 5 features pass the schema but the MLP takes 64 inputs: that point raises when it is built
    data = [{"kind": "synthetic", "num_samples": 200, "num_features": f} for f in (64, 5)]
    study = {"name": "raising", "base": str(ROOT / "scenarios" / "digits_mlp.yaml"),
             "set": ["rounds=1", "workers.count=2", "model.eval_every=1"],
             "axes": {"model.data": data, "compression.scheme": ["none", "signsgd"]},
             "metrics": ["test_accuracy:final"]}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    st = load_study(path, tmp_path / "out")
    rep = run_study(st, jobs=2, progress=False, plots=False)
    assert (rep.ran, rep.failed, rep.failed_total) == (4, 2, 2)
    with (tmp_path / "out" / "study.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["ok", "ok", "error", "error"]
    assert json.loads(rows[2]["model.data"])["num_features"] == 5  # mapping axis values as JSON
    assert rows[2]["test_accuracy_final"] == "nan" and 0 <= float(rows[0]["test_accuracy_final"]) <= 1
    assert "64 values" in rows[2]["error"] and "5 features" in rows[2]["error"]
    pdir = tmp_path / "out" / "points" / st.points[2].key
    assert "5 features" in (pdir / "error.txt").read_text()
    assert "Traceback" in (pdir / "traceback.txt").read_text()
    again = run_study(st, jobs=2, progress=False, plots=False)  # failed points are not rerun by default
    assert again.ran == 0 and again.failed_total == 2
    retry = run_study(st, jobs=2, progress=False, plots=False, retry_failed=True)
    assert retry.ran == 2 and retry.failed == 2


def test_point_gantt_and_dask_missing_message(reference, monkeypatch) -> None:
    from typer.testing import CliRunner

    from edgefl.cli import app
    from edgefl.sweep.engines import EngineError, dask_results

    path, text = reference
    key = text.splitlines()[1].split(",")[-2]
    res = CliRunner().invoke(app, ["plot", str(path.parent / "out" / "points" / key), "--round", "1"])
    assert res.exit_code == 0 and "timing_round1.png" in res.output
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the dask extra were not installed
    with pytest.raises(EngineError, match=r'pip install -e "\.\[dask\]"'):
        next(dask_results([], 2))
