"""Atomic writers and output-directory choice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgefl.results import writer
from edgefl.results.outputs import split_wall, totals


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    p = tmp_path / "sub" / "a.csv"
    writer.write_atomic(p, "one\n")
    writer.write_atomic(p, "two\n")
    assert p.read_text() == "two\n"
    assert [f.name for f in p.parent.iterdir()] == ["a.csv"]


def test_write_atomic_keeps_old_file_when_interrupted(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "a.json"
    writer.write_atomic(p, "old")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        writer.write_atomic(p, "new")
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["a.json"]


def test_csv_floats_are_exact() -> None:
    text = writer.csv_text(["x"], [[0.1 + 0.2], [float("nan")], [3]])
    assert text.splitlines() == ["x", "0.30000000000000004", "nan", "3"]


def test_fresh_output_dir(tmp_path: Path) -> None:
    target = tmp_path / "run"
    assert writer.fresh_output_dir(target) == target
    target.mkdir()
    assert writer.fresh_output_dir(target) == target  # empty: reuse
    (target / "rounds.csv").write_text("x")
    assert writer.fresh_output_dir(target) == tmp_path / "run-1"
    (tmp_path / "run-1").mkdir()
    assert writer.fresh_output_dir(target) == tmp_path / "run-2"
    assert writer.fresh_output_dir(target, overwrite=True) == target


def test_wall_columns_split_out() -> None:
    rows = [{"round": 0, "latency_s": 1.0, "grad_wall_s": 0.1}, {"round": 1, "latency_s": 2.0, "x": 3}]
    cols, wall = split_wall(rows)
    assert cols == ["round", "latency_s", "x"] and wall == ["grad_wall_s"]


def test_totals_sum_rounds() -> None:
    rows = [
        {"end_s": 1.0, "latency_s": 1.0, "bits_total": 10.0, "bits_per_param": 1.0, "distortion": 0.5,
         "decode_failures": 1, "undetected_errors": 0, "retries": 2, "worker_energy_j": 3.0},
        {"end_s": 3.0, "latency_s": 2.0, "bits_total": 30.0, "bits_per_param": 3.0, "distortion": 1.5,
         "decode_failures": 0, "undetected_errors": 0, "retries": 1, "worker_energy_j": 1.0},
    ]
    t = totals(rows)
    assert t["rounds_done"] == 2 and t["simulated_time_s"] == 3.0 and t["bits_total"] == 40.0
    assert t["mean_round_latency_s"] == 1.5 and t["retries"] == 3 and t["mean_distortion"] == 1.0
    assert totals([]) == {"rounds_done": 0}
