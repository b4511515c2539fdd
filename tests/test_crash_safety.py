"""Crash safety of a run (issue 15 item 4): results grow round by round, a SIGKILL loses at most
the round in flight, --resume continues a killed run to the same files as an uninterrupted run,
--overwrite keeps the old results until the new run's first round, non-finite metrics stop a run."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.results.finite import NonFiniteMetric, check_finite
from edgefl.results.journal import read_finished_rows
from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario
from edgefl.sim.ceo_source import GaussianCEOSource

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "quickstart.yaml"
DETERMINISTIC = ("rounds.csv", "timeline.csv")


def _cli(*args: str) -> subprocess.Popen:
    code = "import sys; from edgefl.cli import app; sys.argv = ['edgefl', *sys.argv[1:]]; app()"
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def _rows(path: Path) -> int:
    return len(read_finished_rows(path / "rounds.csv")[1])


def _files(d: Path) -> dict[str, bytes]:
    return {f: (d / f).read_bytes() for f in DETERMINISTIC}


def _wait_for(cond, timeout: float, proc: subprocess.Popen) -> None:
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"process ended early: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_sigkill_keeps_finished_rounds_and_resume_matches_uninterrupted(tmp_path: Path) -> None:
    sets = ["--set", "rounds=120"]
    killed = tmp_path / "killed"
    proc = _cli("run", str(QUICK), *sets, "-o", str(killed), "--no-progress")
    _wait_for(lambda: (killed / "rounds.csv").exists() and _rows(killed) >= 15, 120, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _rows(killed)
    assert 15 <= done < 120, done  # finished rounds are on disk, the run did not finish
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["complete"] is False
    timeline_rounds = {int(line.split(",")[0]) for line in
                       (killed / "timeline.csv").read_text().splitlines()[1:] if line.count(",") == 5}
    assert set(range(done)) <= timeline_rounds  # every finished round's intervals are there too

    res = CliRunner().invoke(app, ["run", str(QUICK), *sets, "--resume", str(killed), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert json.loads((killed / "summary.json").read_text())["resumed_from_round"] == done
    whole = tmp_path / "whole"
    res = CliRunner().invoke(app, ["run", str(QUICK), *sets, "-o", str(whole), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert _files(killed) == _files(whole)
    s_k, s_w = (json.loads((d / "summary.json").read_text()) for d in (killed, whole))
    assert s_k["totals"] == s_w["totals"] and s_k["complete"] is True


def test_overwrite_killed_before_first_round_leaves_old_results(tmp_path: Path) -> None:
    out = tmp_path / "res"
    res = CliRunner().invoke(app, ["run", str(QUICK), "--set", "rounds=2", "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    # a first round that takes seconds: 1,500 workers x 40,000 parameters
    proc = _cli("run", str(QUICK), "--set", "rounds=2", "--set", "workers.count=1500",
                "--set", "gradients.params=40000", "-o", str(out), "--overwrite", "--no-progress")
    _wait_for(lambda: any(p.name.startswith(".res.new-") for p in tmp_path.iterdir()), 120, proc)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before


def test_overwrite_replaces_only_after_first_round_and_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "res"
    for rounds in ("3", "2"):
        res = CliRunner().invoke(app, ["run", str(QUICK), "--set", f"rounds={rounds}", "-o", str(out),
                                       "--overwrite", "--no-progress"])
        assert res.exit_code == 0, res.output
        (out / "notes.txt").write_text("mine")
    assert _rows(out) == 2
    assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".res.")]  # staging removed


def test_interrupt_then_resume_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rs = load_scenario(QUICK, ["rounds=8", "gradients.params=2000"])
    whole = run_scenario(rs, tmp_path / "whole", progress=False)
    real = GaussianCEOSource.local_gradients

    def interrupted(self, round, *a, **k):
        if round == 5:
            raise KeyboardInterrupt
        return real(self, round, *a, **k)

    monkeypatch.setattr(GaussianCEOSource, "local_gradients", interrupted)
    part = run_scenario(rs, tmp_path / "part", progress=False)
    assert not part.complete and part.rounds_done == 5
    monkeypatch.setattr(GaussianCEOSource, "local_gradients", real)
    resumed = run_scenario(rs, part.out_dir, progress=False, resume=True)
    assert resumed.complete and resumed.rounds_done == 8
    assert _files(resumed.out_dir) == _files(whole.out_dir)


def test_resume_refuses_other_scenario_complete_run_and_changed_rows(tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ["run", str(QUICK), "--set", "rounds=3", "--set", "gradients.params=2000"]
    assert CliRunner().invoke(app, [*args, "-o", str(out), "--no-progress"]).exit_code == 0
    res = CliRunner().invoke(app, [*args, "--resume", str(out), "--no-progress"])
    assert res.exit_code == 2 and "complete" in res.output
    res = CliRunner().invoke(app, [*args, "--set", "seed=2", "--resume", str(out), "--no-progress"])
    assert res.exit_code == 2 and "different scenario" in res.output
    summary = json.loads((out / "summary.json").read_text())
    summary["complete"] = False
    (out / "summary.json").write_text(json.dumps(summary))
    lines = (out / "rounds.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",", ",9", 1)
    (out / "rounds.csv").write_text("\n".join(lines[:3]) + "\n")
    res = CliRunner().invoke(app, [*args, "--resume", str(out), "--no-progress"])
    assert res.exit_code == 2 and "round 0 replays differently" in res.output
    res = CliRunner().invoke(app, [*args, "-o", str(out), "--resume", str(out)])
    assert res.exit_code == 2 and "--resume" in res.output


def test_torn_last_line_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "rounds.csv").write_text("round,x\n0,1.0\n1,2.0\n2,3")
    header, rows = read_finished_rows(tmp_path / "rounds.csv")
    assert header == ["round", "x"] and rows == ["0,1.0", "1,2.0"]


def test_non_finite_metric_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rs = load_scenario(QUICK, ["rounds=5", "gradients.params=500"])
    real = GaussianCEOSource.local_gradients

    def poisoned(self, round, *a, **k):
        g = real(self, round, *a, **k)
        return np.full_like(g, np.nan) if round == 2 else g

    monkeypatch.setattr(GaussianCEOSource, "local_gradients", poisoned)
    out = run_scenario(rs, tmp_path / "nan", progress=False)
    assert not out.complete and out.rounds_done == 2
    assert "round 2" in out.error and "distortion" in out.error and "compression" in out.error
    summary = json.loads((out.out_dir / "summary.json").read_text())
    assert summary["complete"] is False and summary["totals"]["rounds_done"] == 2
    assert _rows(out.out_dir) == 2
    assert "NaN" not in (out.out_dir / "summary.json").read_text()


def test_check_finite_allows_unmeasured_nan_extras() -> None:
    from edgefl.results.records import RoundRecord

    base = dict(round=0, start_s=0.0, end_s=1.0, latency_s=1.0, broadcast_s=0.1, downlink_bits=1.0, bits_total=1.0,
                bits_per_worker_mean=1.0, bits_per_worker_min=1.0, bits_per_worker_max=1.0, bits_per_param=1.0,
                decode_bits_total=0.0, distortion=0.1, decode_failures=0, undetected_errors=0, retries=0,
                upload_airtime_s=0.5, worker_energy_j=1.0)
    check_finite(RoundRecord(**base, extras={"test_accuracy": math.nan, "sigma_x2_est": math.nan}))
    with pytest.raises(NonFiniteMetric, match="train_loss"):
        check_finite(RoundRecord(**base, extras={"train_loss": math.nan}))
    with pytest.raises(NonFiniteMetric, match="latency_s = inf"):
        check_finite(RoundRecord(**{**base, "latency_s": math.inf}))
