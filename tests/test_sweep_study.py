"""Study files: grid expansion, seeds, point keys, metrics and the rejection of bad axis
values before anything runs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.sweep.study import StudyError, load_study
from edgefl.sweep.tables import aggregate, mean_ci95

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def study_file(tmp_path: Path, **fields) -> Path:
    data = {"name": "t", "base": str(QUICKSTART), "set": ["rounds=2", "workers.count=3"],
            "metrics": ["latency_s:p95"], **fields}
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def test_crossed_grid_zip_groups_and_seeds(tmp_path: Path) -> None:
    st = load_study(study_file(tmp_path, axes={
        "workers.count": [2, 4, 8],
        "compression.scheme": ["signsgd", "dsc"],
        "server.profile": ["edge_server_fa_asic", "edge_server_cpu"],
    }, zip=[["compression.scheme", "server.profile"]], seeds=3), tmp_path / "out")
    assert st.num_grid_points == 3 * 2 and len(st.points) == 18
    assert st.seeds == [1, 2, 3]  # quickstart's seed, then the next ones
    pairs = {(p.values["compression.scheme"], p.values["server.profile"]) for p in st.points}
    assert pairs == {("signsgd", "edge_server_fa_asic"), ("dsc", "edge_server_cpu")}
    p = st.points[0]
    assert p.scenario.scenario.workers.count == p.values["workers.count"]
    assert p.scenario.scenario.server.profile == p.values["server.profile"]
    assert not p.scenario.scenario.output.plots
    assert not (tmp_path / "out").exists()  # loading runs nothing, writes nothing


def test_grids_are_geometric_and_linear(tmp_path: Path) -> None:
    st = load_study(study_file(tmp_path, axes={
        "channel.uplink_bandwidth_hz": {"log": [1.0e6, 1.0e8, 5]},
        "workers.count": {"lin": [5, 25, 5]},
    }, seeds=[7, 3]), tmp_path / "out")
    assert load_study(study_file(tmp_path, axes={"workers.count": [2]}, set=["seed=11"], seeds=2)).seeds == [11, 12]
    bw = np.array(st.axes["channel.uplink_bandwidth_hz"])
    assert bw[0] == pytest.approx(1e6) and bw[-1] == pytest.approx(1e8)
    assert np.allclose(bw[1:] / bw[:-1], 10 ** 0.5)  # constant ratio (1e8/1e6)^(1/4)
    assert st.axes["workers.count"] == [5, 10, 15, 20, 25]
    assert all(isinstance(v, int) for v in st.axes["workers.count"])  # integer endpoints -> ints
    assert st.seeds == [7, 3]


def test_point_keys_hash_scenario_and_seed(tmp_path: Path) -> None:
    st = load_study(study_file(tmp_path, axes={"workers.count": [3, 4, 3]}, seeds=2), tmp_path / "out")
    keys = [p.key for p in st.points]
    assert keys[0] != keys[1]  # seeds differ
    assert keys[0:2] == keys[4:6]  # the same resolved scenario gives the same directory
    assert len(set(keys)) == 4
    again = load_study(study_file(tmp_path, axes={"workers.count": [3, 4, 3]}, seeds=2), tmp_path / "o2")
    assert [p.key for p in again.points] == keys


@pytest.mark.parametrize(("axis", "values", "bad", "expect"), [
    ("channel.uplink_bandwidth_hz", [1.0e6, -2.0e6], "-2000000.0", "Input should be greater than"),
    ("channel.bandwith_hz", [1.0e6], "1000000.0", "unknown key; allowed keys here"),
    ("workers.count", [3, "ten"], "'ten'", "valid integer"),
])
def test_bad_axis_value_rejected_before_anything_runs(tmp_path: Path, axis, values, bad, expect) -> None:
    path = study_file(tmp_path, axes={axis: values, "compression.scheme": ["signsgd"]})
    with pytest.raises(StudyError) as ei:
        load_study(path, tmp_path / "out")
    msg = str(ei.value)
    assert str(path) in msg and f"axis {axis}" in msg and f"value {bad}" in msg and expect in msg
    assert f"point {len(values) - 1} of {len(values)}" in msg and "(nothing was run)" in msg
    res = CliRunner().invoke(app, ["sweep", str(path), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and f"axis {axis}" in res.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("fields", "expect"), [
    ({"axes": {"seed": [1, 2]}}, "vary seeds with 'seeds:'"),
    ({"axes": {"workers.count": {"log": [-1.0, 10.0, 3]}}}, "must be > 0"),
    ({"axes": {"workers.count": {"lin": [1, 3, 5]}}}, "repeated integers"),
    ({"axes": {"workers.count": [2, 3]}, "zip": [["workers.count", "rounds"]]}, "unknown: ['rounds']"),
    ({"axes": {"workers.count": [2, 3], "rounds": [2]}, "zip": [["workers.count", "rounds"]]}, "equal numbers"),
    ({"axes": {"workers.count": [2]}, "metrics": ["latency_s:p97"]}, "aggregate 'p97' is not one of"),
    ({"axes": {"workers.count": [2]}, "plots": [{"metric": "nope", "x": "workers.count"}]}, "metric must be one of"),
    ({"axes": {"workers.count": [2, 3], "rounds": [2, 4]},
      "plots": [{"metric": "latency_s_p95", "x": "workers.count", "where": {"rounds": 3}}]},
     "not one of the axis values"),
])
def test_bad_study_fields(tmp_path: Path, fields, expect) -> None:
    with pytest.raises(StudyError) as ei:
        load_study(study_file(tmp_path, **fields))
    assert expect in str(ei.value)


def test_aggregates_against_hand_values() -> None:
    x = np.array([4.0, math.nan, 1.0, 3.0, 2.0])  # NaN rounds (no evaluation) are skipped
    assert aggregate(x, "mean") == 2.5
    assert aggregate(x, "p50") == 2.5  # median of 1, 2, 3, 4
    assert aggregate(x, "p95") == pytest.approx(3.85)  # type 7: 3 + 0.85 * (4 - 3)
    assert aggregate(x, "final") == 2.0 and aggregate(x, "sum") == 10.0
    assert aggregate(x, "min") == 1.0 and aggregate(x, "max") == 4.0


def test_ci95_uses_student_t() -> None:
    m, lo, hi = mean_ci95([1.0, 2.0, 3.0])
    # s = 1, n = 3: t_{0.975, 2} = 4.303 (t table) -> half width 4.303 / sqrt(3)
    assert m == 2.0 and hi - m == pytest.approx(4.303 / math.sqrt(3), abs=1e-3) and m - lo == pytest.approx(hi - m)
    assert math.isnan(mean_ci95([5.0])[1])


def test_rule_across_fields_is_reported_once_per_problem(tmp_path: Path) -> None:
    # rate_allocation p1 needs a target distortion: a whole-scenario rule, not one axis' fault
    path = study_file(tmp_path, axes={"workers.count": [3, 4], "rate_allocation.scheme": ["equal", "p1"]})
    with pytest.raises(StudyError) as ei:
        load_study(path)
    lines = str(ei.value).splitlines()
    assert len(lines) == 2 and "1 problem with axis values" in lines[0]
    assert "point 1 of 4" in lines[1] and "(and 1 more points)" in lines[1] and "target_distortion" in lines[1]
