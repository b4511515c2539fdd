"""A scenario file becomes a full run: files, determinism by seed, clean interruption."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario
from edgefl.sim.engine import Simulation

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
FAST = ["rounds=4", "gradients.params=2000"]


def run_cli(out: Path, *sets: str) -> None:
    args = ["run", str(QUICKSTART), "--output", str(out), "--no-progress"]
    for s in (*FAST, *sets):
        args += ["--set", s]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output


def test_run_writes_all_outputs(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_cli(out)
    for name in ("timeline.csv", "rounds.csv", "summary.json", "rounds.png", "timing_round3.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is True and summary["totals"]["rounds_done"] == 4
    assert summary["seed"] == 1 and summary["versions"]["simpy"]
    assert summary["scenario"]["channel"]["fading"]["model"] == "rayleigh"
    rows = list(csv.DictReader(open(out / "rounds.csv")))
    assert [int(r["round"]) for r in rows] == [0, 1, 2, 3]
    assert all(float(r["latency_s"]) > 0 for r in rows)
    assert all(float(r["bits_per_worker_mean"]) == 2000 + 32 for r in rows)  # signSGD: P + one scale
    ev = list(csv.DictReader(open(out / "timeline.csv")))
    assert {e["phase"] for e in ev} >= {"broadcast", "compute", "upload", "aggregate"}
    assert sum(e["phase"] == "upload" for e in ev) == 4 * 10


def test_same_seed_identical_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    run_cli(a)
    run_cli(b)
    run_cli(c, "seed=2")
    for name in ("rounds.csv", "timeline.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()


def test_fading_changes_latency_between_rounds(tmp_path: Path) -> None:
    """Rayleigh block fading per round: uploads of one worker take different times."""
    out = tmp_path / "f"
    run_cli(out, "workers.compute_jitter=0")
    ev = [e for e in csv.DictReader(open(out / "timeline.csv")) if e["actor"] == "worker0" and e["phase"] == "upload"]
    durations = {round(float(e["end"]) - float(e["start"]), 12) for e in ev}
    assert len(durations) == len(ev) == 4


def test_existing_output_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_cli(out)
    before = (out / "rounds.csv").read_bytes()
    run_cli(out, "seed=5")
    assert (out / "rounds.csv").read_bytes() == before
    assert (tmp_path / "r-1" / "rounds.csv").is_file()


def test_interrupt_writes_partial_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rs = load_scenario(QUICKSTART, ["rounds=10", "gradients.params=500"])
    real = Simulation._round

    def interrupted(self, r, log):
        if r == 3:
            raise KeyboardInterrupt
        return real(self, r, log)

    monkeypatch.setattr(Simulation, "_round", interrupted)
    outcome = run_scenario(rs, tmp_path / "i", progress=False)
    assert outcome.complete is False and outcome.rounds_done == 3
    summary = json.loads((tmp_path / "i" / "summary.json").read_text())
    assert summary["complete"] is False and summary["totals"]["rounds_done"] == 3
    rows = list(csv.DictReader(open(tmp_path / "i" / "rounds.csv")))
    assert len(rows) == 3
    assert {int(e["round"]) for e in csv.DictReader(open(tmp_path / "i" / "timeline.csv"))} == {0, 1, 2}


def test_plot_command(tmp_path: Path) -> None:
    out = tmp_path / "p"
    run_cli(out, "output.plots=false")
    assert not (out / "rounds.png").exists()
    res = CliRunner().invoke(app, ["plot", str(out), "--round", "1"])
    assert res.exit_code == 0, res.output
    assert (out / "timing_round1.png").is_file() and (out / "rounds.png").is_file()
    res = CliRunner().invoke(app, ["plot", str(out), "--round", "99"])
    assert res.exit_code != 0 and "round 99" in res.output


def test_learning_run_deterministic_and_final_round_evaluated(tmp_path: Path) -> None:
    digits = ROOT / "scenarios" / "digits_mlp.yaml"
    outs = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        res = CliRunner().invoke(app, ["run", str(digits), "-o", str(tmp_path / name), "--no-progress",
                                       "--set", "rounds=7", "--set", f"seed={seed}", "--set", "output.plots=false"])
        assert res.exit_code == 0, res.output
        outs.append(tmp_path / name)
    rows = list(csv.DictReader(open(outs[0] / "rounds.csv")))
    assert rows[-1]["evaluated"] in ("1", "1.0", "True") and 0 < float(rows[-1]["test_accuracy"]) <= 1
    assert "grad_wall_s" not in rows[0]  # wall clock kept out of the reproducible file
    assert (outs[0] / "wall_times.csv").is_file()
    assert (outs[0] / "rounds.csv").read_bytes() == (outs[1] / "rounds.csv").read_bytes()
    assert (outs[0] / "rounds.csv").read_bytes() != (outs[2] / "rounds.csv").read_bytes()


def test_crash_mid_run_keeps_finished_rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Simulation._round

    def diverging(self, r, log):
        if r == 2:
            raise ValueError("aggregate: contains NaN or inf")
        return real(self, r, log)

    monkeypatch.setattr(Simulation, "_round", diverging)
    res = CliRunner().invoke(app, ["run", str(QUICKSTART), "-o", str(tmp_path / "c"), "--no-progress",
                                   "--set", "rounds=5", "--set", "gradients.params=500"])
    assert res.exit_code == 1 and "STOPPED by ValueError" in res.output
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["complete"] is False and "NaN" in summary["error"] and summary["totals"]["rounds_done"] == 2


def test_output_dir_checked_before_work_and_overwrite_clears_old_files(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = CliRunner().invoke(app, ["run", str(QUICKSTART), "-o", str(blocker), "--overwrite", "--no-progress"])
    assert res.exit_code == 2 and "not a directory" in res.output and blocker.read_text() == "x"
    out = tmp_path / "o"
    run_cli(out)  # 4 rounds -> timing_round3.png
    run_cli(out, "rounds=2", "output.plots=false")  # without --overwrite: goes to o-1, o untouched
    assert (out / "timing_round3.png").exists() and (tmp_path / "o-1" / "rounds.csv").exists()
    res = CliRunner().invoke(app, ["run", str(QUICKSTART), "-o", str(out), "--overwrite", "--no-progress",
                                   "--set", "rounds=2", "--set", "gradients.params=500"])
    assert res.exit_code == 0, res.output
    assert not (out / "timing_round3.png").exists() and (out / "timing_round1.png").exists()


def test_no_timeline_no_gantt(tmp_path: Path) -> None:
    out = tmp_path / "nt"
    run_cli(out, "output.timeline=false")
    assert (out / "rounds.csv").is_file() and not (out / "timeline.csv").exists()
    res = CliRunner().invoke(app, ["plot", str(out)])
    assert res.exit_code == 2 and "timeline.csv" in res.output


def test_random_layout_centred_on_server() -> None:
    from edgefl.sim.build import layout

    rs = load_scenario(QUICKSTART, ["server.position=[500, -200, 10]"])
    d = np.hypot(*(layout(rs).workers[:, :2] - [500, -200]).T)
    assert d.max() <= 150.0 + 1e-9
