"""Atomic writers and output-directory choice."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from edgefl.results import writer
from edgefl.results.outputs import split_wall, totals
from edgefl.results.records import RoundRecord


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
    assert writer.fresh_output_dir(target) == target and target.is_dir()  # created
    assert writer.fresh_output_dir(target) == tmp_path / "run-1"  # claimed by the first call
    empty = tmp_path / "empty"
    empty.mkdir()
    assert writer.fresh_output_dir(empty) == empty  # an empty directory is taken
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "rounds.csv").write_text("x")
    assert writer.fresh_output_dir(tmp_path / "full") == tmp_path / "full-1"
    assert not (tmp_path / "full" / writer.CLAIM_FILE).exists()  # someone else's dir left as it was
    (tmp_path / "run-2").write_text("a file")
    assert writer.fresh_output_dir(target) == tmp_path / "run-3"
    assert writer.fresh_output_dir(target, overwrite=True) == target


def test_parallel_runs_get_distinct_directories(tmp_path: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(4) as pool:
        got = list(pool.map(writer.fresh_output_dir, [tmp_path / "sweep"] * 16))
    assert len(set(got)) == 16 and {p.name for p in got} == {"sweep", *(f"sweep-{i}" for i in range(1, 16))}


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        writer.write_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temp file left


def record(r: int, **values) -> RoundRecord:
    base = {f.name: 0.0 for f in dataclasses.fields(RoundRecord) if f.name not in ("round", "extras")}
    extras = values.pop("extras", {})
    return RoundRecord(round=r, **{**base, **values}, extras=extras)


def test_wall_columns_split_out() -> None:
    rows = [record(0, extras={"grad_wall_s": 0.1}), record(1, extras={"x": 3})]
    cols, wall = split_wall(rows)
    fields = [f.name for f in dataclasses.fields(RoundRecord) if f.name != "extras"]
    assert cols == [*fields, "x"] and wall == ["grad_wall_s"]
    assert rows[1]["x"] == 3 and "x" not in rows[0] and rows[0]["latency_s"] == 0.0


def test_totals_from_declared_aggregates() -> None:
    rows = [
        record(0, end_s=1.0, latency_s=1.0, bits_total=10.0, bits_per_param=1.0, distortion=0.5,
               decode_failures=1, undetected_errors=0, retries=2, worker_energy_j=3.0,
               extras={"train_loss": 2.0, "test_accuracy": 0.5}),
        record(1, end_s=3.0, latency_s=2.0, bits_total=30.0, bits_per_param=3.0, distortion=1.5,
               decode_failures=0, undetected_errors=0, retries=1, worker_energy_j=1.0,
               extras={"train_loss": 1.0, "test_accuracy": 0.75}),
    ]
    t = totals(rows)
    assert t == {"rounds_done": 2, "simulated_time_s": 3.0, "mean_round_latency_s": 1.5, "downlink_bits_total": 0.0,
                 "bits_total": 40.0,
                 "mean_bits_per_param": 2.0, "mean_distortion": 1.0, "decode_failures": 1, "undetected_errors": 0,
                 "retries": 3, "worker_energy_j": 4.0, "final_train_loss": 1.0, "final_test_accuracy": 0.75,
                 **dict.fromkeys(("energy_compute_j", "energy_transmit_j", "energy_receive_j", "energy_idle_j",
                                  "server_decoder_energy_j", "server_compute_energy_j", "uploads_lost",
                                  "battery_dropouts"), 0)}
    assert list(t)[:5] == ["rounds_done", "simulated_time_s", "mean_round_latency_s", "downlink_bits_total",
                           "bits_total"]
    assert totals([]) == {"rounds_done": 0}
