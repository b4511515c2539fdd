"""Crash safety (issue 15, item 4): files kept current during a run, SIGKILL keeps the finished
rounds, --resume finishes a killed run with the files of an uninterrupted one, --overwrite keeps
the old results until the new run has a round, non-finite metrics stop the run, Ctrl-C at
start-up says so."""

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
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.sim.engine import Simulation

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
FAST = ["--set", "gradients.params=500", "--set", "output.plots=false"]
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["run", *args, "--no-progress"])
    assert "Traceback" not in res.output
    return res.exit_code, res.output


def rows(path: Path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def summary(d: Path) -> dict:
    return json.loads((d / "summary.json").read_text())


def crash_at(monkeypatch: pytest.MonkeyPatch, round_index: int, exc: BaseException) -> None:
    real = Simulation._round

    def crashing(self, r, log):
        if r == round_index:
            raise exc
        return real(self, r, log)

    monkeypatch.setattr(Simulation, "_round", crashing)


def test_resume_after_a_crash_gives_the_uninterrupted_files(tmp_path: Path, monkeypatch) -> None:
    code, _ = run(str(QUICKSTART), "-o", str(tmp_path / "whole"), "--set", "rounds=6", *FAST)
    assert code == 0
    with monkeypatch.context() as m:
        crash_at(m, 4, KeyboardInterrupt())
        code, out = run(str(QUICKSTART), "-o", str(tmp_path / "cut"), "--set", "rounds=6", *FAST)
    assert code == 130 and summary(tmp_path / "cut")["complete"] is False
    assert len(rows(tmp_path / "cut" / "rounds.csv")) == 4
    code, out = run(str(QUICKSTART), "--resume", str(tmp_path / "cut"), "--set", "rounds=6", *FAST)
    assert code == 0, out
    for name in ("rounds.csv", "timeline.csv"):
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    assert summary(tmp_path / "cut")["complete"] is True


def test_resume_refuses_another_scenario_or_a_complete_run(tmp_path: Path, monkeypatch) -> None:
    with monkeypatch.context() as m:
        crash_at(m, 2, KeyboardInterrupt())
        run(str(QUICKSTART), "-o", str(tmp_path / "cut"), "--set", "rounds=4", *FAST)
    code, out = run(str(QUICKSTART), "--resume", str(tmp_path / "cut"), "--set", "rounds=4", "--set", "seed=9", *FAST)
    assert code == 2 and "different scenario" in out
    code, out = run(str(QUICKSTART), "--resume", str(tmp_path / "cut"), "--set", "rounds=4", *FAST)
    assert code == 0, out
    code, out = run(str(QUICKSTART), "--resume", str(tmp_path / "cut"), "--set", "rounds=4", *FAST)
    assert code == 2 and "complete" in out
    code, out = run("--resume", str(tmp_path / "nothing"))
    assert code == 2


def test_overwrite_keeps_old_results_until_the_first_new_round(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "o"
    code, _ = run(str(QUICKSTART), "-o", str(out), "--set", "rounds=3", "--set", "gradients.params=500")
    assert code == 0 and (out / "timing_round2.png").exists()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with monkeypatch.context() as m:
        crash_at(m, 0, KeyboardInterrupt())  # stopped before its first round
        code, text = run(str(QUICKSTART), "-o", str(out), "--overwrite", "--set", "seed=4", *FAST)
    assert code == 130 and "previous results kept" in text
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]  # no staging directory left behind
    code, text = run(str(QUICKSTART), "-o", str(out), "--overwrite", "--set", "rounds=2", *FAST)
    assert code == 0, text
    assert summary(out)["rounds_requested"] == 2 and not (out / "timing_round2.png").exists()


def test_non_finite_metric_stops_the_run(tmp_path: Path, monkeypatch) -> None:
    real = Simulation._round

    def diverging(self, r, log):
        rec = real(self, r, log)
        if r == 2:
            rec.latency_s = float("inf")
        return rec

    monkeypatch.setattr(Simulation, "_round", diverging)
    code, out = run(str(QUICKSTART), "-o", str(tmp_path / "n"), "--set", "rounds=5", *FAST)
    assert code == 1 and "round 2: latency_s = inf is not finite" in out and "channel.*" in out
    s = summary(tmp_path / "n")
    assert s["complete"] is False and s["totals"]["rounds_done"] == 2
    assert len(rows(tmp_path / "n" / "rounds.csv")) == 2
    assert {int(e["round"]) for e in rows(tmp_path / "n" / "timeline.csv")} == {0, 1}


def test_ctrl_c_during_start_up_says_so(tmp_path: Path, monkeypatch) -> None:
    import edgefl.runner

    def interrupted(rs):
        raise KeyboardInterrupt

    monkeypatch.setattr(edgefl.runner, "build_simulation", interrupted)
    code, out = run(str(QUICKSTART), "-o", str(tmp_path / "s"))
    assert code == 130 and "before the first round" in out and not (tmp_path / "s").exists()


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from edgefl.cli import app; app()", "run", *args,
                             "--no-progress"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for_rounds(path: Path, n: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if len(rows(path)) >= n:
                return
        except (OSError, csv.Error):
            pass
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.05)
    pytest.fail("no rounds on disk")


@pytest.mark.slow
def test_sigkill_keeps_finished_rounds_and_resume_matches(tmp_path: Path) -> None:
    sets = ["--set", "rounds=60", "--set", "gradients.params=200000", "--set", "output.plots=false"]
    proc = _cli(str(QUICKSTART), "-o", str(tmp_path / "k"), *sets)
    _wait_for_rounds(tmp_path / "k" / "rounds.csv", 2, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = rows(tmp_path / "k" / "rounds.csv")
    assert 2 <= len(kept) < 60 and summary(tmp_path / "k")["complete"] is False
    assert {int(e["round"]) for e in rows(tmp_path / "k" / "timeline.csv")} == set(range(len(kept)))
    assert subprocess.run([sys.executable, "-c", "from edgefl.cli import app; app()", "run", "--resume",
                           str(tmp_path / "k"), *sets, "--no-progress"], cwd=ROOT).returncode == 0
    whole = _cli(str(QUICKSTART), "-o", str(tmp_path / "w"), *sets)
    assert whole.wait() == 0
    for name in ("rounds.csv", "timeline.csv"):
        assert (tmp_path / "k" / name).read_bytes() == (tmp_path / "w" / name).read_bytes(), name


@pytest.mark.slow
def test_sigkill_before_first_round_with_overwrite_keeps_old_results(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert _cli(str(QUICKSTART), "-o", str(out), "--set", "rounds=2", *FAST).wait() == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = _cli(str(QUICKSTART), "-o", str(out), "--overwrite", "--set", "rounds=50",
                "--set", "gradients.params=200000", "--set", "workers.count=200")
    time.sleep(1.0)  # start-up: imports, building 200 workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
