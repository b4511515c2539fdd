"""Study size bounded before expansion (issue 21, item 2): runs (grid points x seeds) are
counted from the axis specs, and a study above ``--max-points`` is refused with the count,
the estimate and the fields that drive it, before any axis is materialised or any point is
resolved; no MemoryError, no hang, exit 2."""

from __future__ import annotations

import itertools
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.sweep import study as study_mod
from edgefl.sweep.study import StudyError, StudyFile, load_study, study_size

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
runner = CliRunner()
FOUR_AXES = {  # the case: four crossed axes of 10^7 values each
    "workers.count": {"lin": [1, 10_000_000, 10_000_000]},
    "channel.uplink_bandwidth_hz": {"log": [1.0e6, 1.0e8, 10_000_000]},
    "gradients.params": {"lin": [10, 100_000_000, 10_000_000]},
    "gradients.sigma_x2": {"log": [0.1, 100.0, 10_000_000]},
}


def study_file(tmp_path: Path, **fields) -> Path:
    data = {"name": "t", "base": str(QUICKSTART), "set": ["rounds=2", "workers.count=3"],
            "metrics": ["latency_s:p95"], **fields}
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


@pytest.fixture
def no_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any axis is materialised or any point resolved."""
    def boom(*_a, **_k):
        raise AssertionError("the study was expanded before its size was checked")

    monkeypatch.setattr(study_mod, "axis_values", boom)
    monkeypatch.setattr(study_mod, "resolve", boom)


@pytest.mark.parametrize(("fields", "runs", "drivers"), [
    ({"axes": {"workers.count": [2, 3]}, "seeds": 1_000_000_000}, "2,000,000,000 runs", ["seeds: 1000000000"]),
    ({"axes": {"channel.uplink_bandwidth_hz": {"lin": [1e6, 2e7, 1_000_000_000]}}}, "1,000,000,000 runs",
     ["channel.uplink_bandwidth_hz (1,000,000,000 values)"]),
    ({"axes": FOUR_AXES}, f"{10**28:,} runs",
     [f"{a} (10,000,000 values)" for a in FOUR_AXES]),
    ({"axes": {"workers.count": {"lin": [2, 400, 300]}, "compression.scheme": ["signsgd", "dsc"] * 50,
               "server.profile": ["edge_server_fa_asic"] * 100}, "zip": [["compression.scheme", "server.profile"]]},
     "30,000 runs", ["compression.scheme + server.profile (100 values, zipped)", "workers.count (300 values)"]),
])
@pytest.mark.parametrize("dry_run", [False, True])
def test_huge_studies_refused_before_expansion(tmp_path: Path, no_expansion: None, fields: dict, runs: str,
                                               drivers: list[str], dry_run: bool) -> None:
    path = study_file(tmp_path, **fields)
    tracemalloc.start()
    try:
        res = runner.invoke(app, ["sweep", str(path), "-o", str(tmp_path / "out"), *(["--dry-run"] * dry_run)])
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    for needle in [str(path), runs, "more than --max-points 20,000", "nothing was expanded", "estimate:", *drivers]:
        assert needle in res.output, (needle, res.output)
    assert peak < 50, peak  # nothing of the size of the grid was allocated
    assert not (tmp_path / "out").exists()


def test_max_points_option(tmp_path: Path) -> None:
    path = study_file(tmp_path, axes={"workers.count": [2, 3, 4]}, seeds=2)
    with pytest.raises(StudyError, match="6 runs, more than --max-points 5"):
        load_study(path, max_points=5)
    assert len(load_study(path, max_points=6).points) == 6
    res = runner.invoke(app, ["sweep", str(path), "--max-points", "5", "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and "workers.count (3 values)" in res.output and "seeds: 2 (2)" in res.output
    res = runner.invoke(app, ["sweep", str(path), "--max-points", "0"])
    assert res.exit_code == 2 and "--max-points" in res.output


def _axis_spec(kind: str, n: int, i: int):
    if kind == "list":
        return [round(0.5 + 0.1 * (i + k), 6) for k in range(n)]  # gradients.sigma_x2 values
    return {kind: [0.5 + i, 5.0 + i, n]}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["list", "lin", "log"]), st.integers(1, 6)), min_size=1, max_size=4),
       st.booleans(), st.one_of(st.integers(1, 5), st.lists(st.integers(0, 50), min_size=1, max_size=4, unique=True)))
def test_count_matches_brute_force_expansion(kinds: list[tuple[str, int]], zipped: bool, seeds) -> None:
    """Property: the count from the specs equals the crossed product enumerated by itertools
    (an independent expansion), with zip groups moving together."""
    names = [f"a{i}.x" for i in range(len(kinds))]
    axes = {n: _axis_spec(k, size, i) for i, (n, (k, size)) in enumerate(zip(names, kinds))}
    groups = []
    if zipped and len(names) >= 2:  # zip the first two axes, with equal lengths
        axes[names[1]] = _axis_spec("list", kinds[0][1], 1)
        groups = [names[:2]]
    sf = StudyFile.model_validate({"name": "t", "base": {}, "axes": axes, "zip": groups, "seeds": seeds,
                                   "metrics": ["latency_s:p95"]})
    size = study_size(sf)
    values = {n: study_mod.axis_values(n, spec) for n, spec in sf.axes.items()}
    factors = [list(zip(*(values[a] for a in groups[0])))] if groups else []
    factors += [values[n] for n in names if not any(n in g for g in groups)]
    brute = sum(1 for _ in itertools.product(*factors))
    assert size.grid == brute == len(study_mod._grid(values, groups))
    assert size.runs == brute * (seeds if isinstance(seeds, int) else len(seeds))


def test_zip_group_errors_come_from_the_specs(tmp_path: Path, no_expansion: None) -> None:
    path = study_file(tmp_path, axes={"workers.count": {"lin": [2, 10**9, 10**9]}, "gradients.params": [10, 20]},
                      zip=[["workers.count", "gradients.params"]])
    with pytest.raises(StudyError, match="equal numbers of values") as info:
        load_study(path)
    assert "1000000000" in str(info.value)
