"""Property-based fuzzing of study files (issue 21): generated and mutated studies, huge
grids and seed counts, random bytes. Loading a study either succeeds, with exactly the
counted number of runs and no more than ``--max-points``, or raises a StudyError with a
short message; the CLI exits 0 or 2, never with a traceback. The default suite runs a fast
profile; ``-m slow`` runs >= 1,000 generated studies."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.sweep import run as run_mod
from edgefl.sweep.study import StudyError, StudyFile, load_study, study_size

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
SHIPPED = sorted((ROOT / "scenarios" / "studies").glob("*.yaml"))
BASE = yaml.safe_load(QUICKSTART.read_text())
MAX_POINTS = 32  # every generated point is resolved: keep the valid ones small
MESSAGE_CHARS = 6000
runner = CliRunner()
FAST = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
SLOW = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _paths(node: Any, prefix: tuple = ()) -> list[str]:
    out = [".".join(map(str, prefix))] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


SCENARIO_PATHS = _paths(BASE)
AXIS_NAMES = st.one_of(
    st.sampled_from(SCENARIO_PATHS),
    st.sampled_from(["seed", "output.dir", "name", "junk.key", "workers.count.x", "server.position.7",
                     "server.position.0.x", "a..b", "", "compression.s", "rounds"]),
)
NUMBERS = st.one_of(st.integers(-3, 50), st.floats(-1e3, 1e9, allow_nan=False),
                    st.sampled_from([0, 1, 2, 10**9, 1e-300, float("inf"), float("nan"), True]))
SCALARS = st.one_of(NUMBERS, st.none(), st.text(max_size=12),
                    st.sampled_from(["signsgd", "dsc", "none", "tdma", "fdma", "edge_server_cpu"]))
COUNTS = st.one_of(st.integers(-1, 4), st.sampled_from([10**6, 10**9, 10**12, 2**63]), st.floats(0.5, 3.5))
AXIS_SPECS = st.one_of(
    st.lists(SCALARS, min_size=0, max_size=4),
    st.builds(lambda a, b, n: {"lin": [a, b, n]}, NUMBERS, NUMBERS, COUNTS),
    st.builds(lambda a, b, n: {"log": [a, b, n]}, NUMBERS, NUMBERS, COUNTS),
    st.fixed_dictionaries({"lin": st.lists(NUMBERS, max_size=4)}),
    SCALARS,
)
SEEDS = st.one_of(COUNTS, st.lists(st.integers(-2, 5), max_size=4), st.text(max_size=5))
METRIC_TEXTS = st.sampled_from(["latency_s:p95", "latency_s:mean", "total:worker_energy_j",
                                "critical.decode_wait:p95", "bits_per_param:mean", "latency_s", "latency_s:p101",
                                "x:y", ":", "", "total:", "a b:mean"])
SETS = st.lists(st.one_of(
    st.sampled_from(["rounds=2", "workers.count=3", "server.position.2=10", "server.position.3=1",
                     "server.position.0.x=1", "compression.scheme=dsc", "junk=1", "rounds", "=3", "seed=-1"]),
    st.builds(lambda p, v: f"{p}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}",
              st.sampled_from(SCENARIO_PATHS), SCALARS)), max_size=3)


LIST_PATHS = ["server.position.0", "server.position.2", "server.position.3", "server.position.0.x",
              "server.position.x", "server.position.-1", "workers.groups.0.count", "workers.placement.0"]
GOOD_AXES = {  # small, valid axes of the quickstart scenario
    "workers.count": [2, 3, 4],
    "channel.uplink_bandwidth_hz": {"log": [1.0e6, 1.0e7, 2]},
    "compression.scheme": ["signsgd", "dsc"],
    "server.profile": ["edge_server_fa_asic", "edge_server_cpu"],
    "server.position.0": [0.0, 5.0],
    "gradients.params": {"lin": [10, 1000, 2]},
    "channel.access": ["tdma", "fdma"],
}


def _corrupt(draw: st.DrawFn, data: dict) -> None:
    """One hostile change to a study's fields."""
    names = list(data.get("axes") or {})
    kind = draw(st.sampled_from(["axis_spec", "axis_name", "huge_axis", "seeds", "metrics", "set", "zip", "plots",
                                 "name", "base", "drop", "extra", "list_path"]))
    if kind == "list_path":  # --set paths through list elements, in set: or as an axis
        path = draw(st.sampled_from(LIST_PATHS))
        if draw(st.booleans()):
            data["set"] = [*data.get("set", []), f"{path}={draw(st.sampled_from(['1', '0.5', 'x', '[1, 2]']))}"]
        else:
            data.setdefault("axes", {})[path] = draw(st.sampled_from([[1.0, 2.0], [0.0], ["a", "b"]]))
    elif kind == "axis_spec" and names:
        data["axes"][draw(st.sampled_from(names))] = draw(AXIS_SPECS)
    elif kind == "axis_name":
        data.setdefault("axes", {})[draw(AXIS_NAMES)] = draw(AXIS_SPECS)
    elif kind == "huge_axis":
        data.setdefault("axes", {})["channel.uplink_bandwidth_hz"] = {
            draw(st.sampled_from(["lin", "log"])): [1.0e6, 2.0e7, draw(st.sampled_from([10**6, 10**9, 10**12]))]}
    elif kind == "seeds":
        data["seeds"] = draw(SEEDS)
    elif kind == "metrics":
        data["metrics"] = draw(st.one_of(st.lists(METRIC_TEXTS, max_size=3), st.dictionaries(
            st.sampled_from(["m", "lat", "x y", "", "workers.count"]), METRIC_TEXTS, max_size=2)))
    elif kind == "set":
        data["set"] = [*data.get("set", []), *draw(SETS)]
    elif kind == "zip" and names:
        data["zip"] = draw(st.lists(st.lists(st.sampled_from([*names, "nope"]), max_size=3), max_size=2))
    elif kind == "plots" and names:
        data["plots"] = [draw(st.sampled_from([
            {"metric": "m", "x": names[0]}, {"metric": "latency_s_p95", "x": names[-1], "lines": names[0]},
            {"metric": "latency_s_p95", "heatmap": [names[0], names[-1]], "threshold": 0.1},
            {"metric": "latency_s_p95", "x": names[0], "where": {names[-1]: 1}}, {"metric": 3},
            {"metric": "latency_s_p95", "x": names[0], "minus": {names[-1]: "signsgd"}}]))]
    elif kind == "name":
        data["name"] = draw(st.one_of(st.text(max_size=10), SCALARS))
    elif kind == "base":
        data["base"] = draw(st.one_of(st.just("quickstart.yaml"), st.just("/nonexistent.yaml"), st.just("/dev/null"),
                                      st.just({"name": "x"}), SCALARS))
    elif kind == "drop":
        data.pop(draw(st.sampled_from(["name", "base", "axes", "metrics", "set"])), None)
    else:
        data[draw(st.sampled_from(["junk", "output", "seed"]))] = draw(SCALARS)


@st.composite
def generated(draw: st.DrawFn) -> dict:
    """A valid small study (crossed or zipped axes of the quickstart, a few seeds, metrics and a
    plot) with zero to three hostile changes."""
    names = draw(st.lists(st.sampled_from(sorted(GOOD_AXES)), min_size=1, max_size=3, unique=True))
    data: dict[str, Any] = {
        "name": "fuzz", "base": str(QUICKSTART) if draw(st.booleans()) else copy.deepcopy(BASE),
        "set": ["rounds=2", "workers.count=3"], "axes": {n: GOOD_AXES[n] for n in names},
        "seeds": draw(st.one_of(st.integers(1, 2), st.lists(st.integers(0, 9), min_size=1, max_size=2, unique=True))),
        "metrics": {"lat": "latency_s:p95", "energy": "total:worker_energy_j"},
    }
    two = [n for n in names if not isinstance(GOOD_AXES[n], list) or len(GOOD_AXES[n]) == 2]
    if len(two) >= 2 and draw(st.booleans()):
        data["zip"] = [two[:2]]
    if draw(st.booleans()):
        data["plots"] = [{"metric": "lat", "x": names[0], **({"lines": names[1]} if len(names) > 1 else {})}]
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3]))):
        _corrupt(draw, data)
    return data


@st.composite
def mutated_shipped(draw: st.DrawFn) -> dict:
    """A shipped study cut to two values per axis (base made absolute, rounds cut), then one or
    two hostile changes."""
    path = draw(st.sampled_from(SHIPPED))
    data = yaml.safe_load(path.read_text())
    data["base"] = str((path.parent / data["base"]).resolve())
    data["set"] = [*data.get("set", []), "rounds=2"]
    data["seeds"] = 1
    for a, spec in data["axes"].items():
        data["axes"][a] = spec[:2] if isinstance(spec, list) else {k: [*v[:2], 2] for k, v in spec.items()}
    for _ in range(draw(st.integers(0, 2))):
        _corrupt(draw, data)
    return data


def check_study(tmp: Path, data: dict) -> str:
    """Load a study file: a Study whose points are exactly the counted runs (at most MAX_POINTS),
    or a short StudyError. Returns 'ok', 'refused-size' or 'error' (for the statistics)."""
    p = tmp / "study.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        st_ = load_study(p, tmp / "out", max_points=MAX_POINTS)
    except StudyError as exc:
        msg = str(exc)
        assert len(msg) < MESSAGE_CHARS, msg[:MESSAGE_CHARS]
        assert str(p) in msg, msg  # every message names the study file
        outcome = "refused-size" if "--max-points" in msg else "error: " + msg.split("\n")[0].split(": ", 2)[-1][:40]
        event(outcome)
        return outcome
    size = study_size(StudyFile.model_validate(yaml.safe_load(p.read_text())))
    assert len(st_.points) == size.runs <= MAX_POINTS
    assert st_.num_grid_points == size.grid and len(st_.seeds) == size.seeds
    assert not (tmp / "out").exists()  # loading writes nothing
    event(f"ok: {len(st_.points)} runs")
    return "ok"


@FAST
@given(generated())
def test_generated_studies(tmp_path_factory: pytest.TempPathFactory, data: dict) -> None:
    check_study(tmp_path_factory.mktemp("fuzz"), data)


@FAST
@given(mutated_shipped())
def test_mutated_shipped_studies(tmp_path_factory: pytest.TempPathFactory, data: dict) -> None:
    check_study(tmp_path_factory.mktemp("fuzz"), data)


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes_as_study(tmp_path_factory: pytest.TempPathFactory, blob: bytes) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "study.yaml"
    p.write_bytes(blob)
    with pytest.raises(StudyError) as info:
        load_study(p, max_points=MAX_POINTS)
    assert len(str(info.value)) < MESSAGE_CHARS and str(p) in str(info.value)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(generated())
def test_cli_never_tracebacks(tmp_path_factory: pytest.TempPathFactory, data: dict) -> None:
    """Through `edgefl sweep --dry-run` (its probe point replaced: the load is what is fuzzed)."""
    tmp = tmp_path_factory.mktemp("fuzz")
    p = tmp / "study.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run_mod, "dry_run", lambda st_, jobs=None, retry_failed=False: run_mod.DryRun(
            len(st_.points), len(st_.points), len(st_.points), None, 1, None))
        res = runner.invoke(app, ["sweep", str(p), "--dry-run", "--max-points", str(MAX_POINTS),
                                  "-o", str(tmp / "out")])
    assert res.exit_code in (0, 2), res.output
    assert isinstance(res.exception, SystemExit) or res.exception is None, res.output
    assert "Traceback" not in res.output and len(res.output) < MESSAGE_CHARS
    assert not (tmp / "out").exists()


@pytest.mark.slow
@SLOW
@given(st.one_of(generated(), mutated_shipped()))
def test_studies_many(tmp_path_factory: pytest.TempPathFactory, data: dict) -> None:
    check_study(tmp_path_factory.mktemp("fuzz"), data)
