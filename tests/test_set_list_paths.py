"""``--set`` paths through list elements (issue 21, item 5): numeric parts index lists, and
a path that cannot be followed is a clear error (path, what is there, the list's length) with
exit 2 in every entry point: run, validate, plan, whatif and a study's ``set:`` and axes."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.scenario import apply_overrides, load_scenario
from edgefl.sweep.study import StudyError, load_study

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
runner = CliRunner()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=0, max_size=5), st.integers(0, 7), st.integers(-100, 100))
def test_index_into_a_list_matches_direct_assignment(items: list[int], index: int, value: int) -> None:
    """Property: ``a.b.<i>=v`` on a list of n items is ``list[i] = v`` when i < n, else an error
    naming the path and n; nothing else in the document changes."""
    data = {"a": {"b": list(items), "c": 1}}
    text = f"a.b.{index}={value}"
    if index < len(items):
        expected = copy.deepcopy(data)
        expected["a"]["b"][index] = value
        assert apply_overrides(data, [text]) == expected
    else:
        with pytest.raises(ValueError) as info:
            apply_overrides(data, [text])
        msg = str(info.value)
        assert "a.b" in msg and (f"has {len(items)} item" in msg or "empty list" in msg)
    assert data == {"a": {"b": items, "c": 1}}  # the input is never modified


def test_nested_list_of_sections() -> None:
    data = {"workers": {"groups": [{"count": 2, "device": "x"}, {"count": 3, "device": "y"}]}}
    out = apply_overrides(data, ["workers.groups.1.count=7", "workers.groups.0.device=z"])
    assert out["workers"]["groups"] == [{"count": 2, "device": "z"}, {"count": 7, "device": "y"}]


@pytest.mark.parametrize(("setting", "needles"), [
    ("server.position.0.x=1", ["server.position.0 is 0.0", "not a section or a list"]),
    ("server.position.3=1", ["server.position has 3 items", "indices 0..2", "no item 3"]),
    ("server.position.x=1", ["server.position is a list of 3 items", "index it with a number 0..2"]),
    ("server.position.-1=1", ["server.position is a list of 3 items"]),
    ("server.0=1", ["server is a section", "not a list"]),
    ("workers.groups.0.count=3", ["workers.groups is not given", "give the whole list"]),
    ("workers.count.a=1", ["workers.count is 10", "set it as a whole"]),
])
def test_unfollowable_paths_are_named(setting: str, needles: list[str]) -> None:
    res = runner.invoke(app, ["validate", str(QUICKSTART), "--set", setting])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    for n in ["quickstart.yaml", setting.split("=")[0], *needles]:
        assert n in res.output, (n, res.output)


def test_index_sets_the_element() -> None:
    rs = load_scenario(QUICKSTART, ["server.position.2=10", "server.position.0=3.5"])
    assert tuple(rs.scenario.server.position) == (3.5, 0.0, 10.0)


def test_missing_list_names_the_schema_default(tmp_path: Path) -> None:
    p = tmp_path / "nopos.yaml"
    p.write_text("".join(ln for ln in QUICKSTART.read_text().splitlines(True) if "position:" not in ln))
    res = runner.invoke(app, ["validate", str(p), "--set", "server.position.2=25"])
    assert res.exit_code == 2 and "server.position=[0.0, 0.0, 25.0]" in res.output, res.output


@pytest.mark.parametrize("command", [
    ["run", "-o", "{tmp}/out"],
    ["validate"],
    ["plan", "--D", "0.2"],
    ["plan", "--deadline", "0.3"],
    ["whatif"],
])
def test_every_entry_point(tmp_path: Path, command: list[str]) -> None:
    args = [command[0], str(QUICKSTART), *(a.format(tmp=tmp_path) for a in command[1:]),
            "--set", "server.position.0.x=1"]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "server.position.0 is 0.0" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()


def _study(tmp_path: Path, **fields) -> Path:
    data = {"name": "t", "base": str(QUICKSTART), "set": ["rounds=2", "workers.count=3"],
            "axes": {"workers.count": [2, 3]}, "metrics": ["latency_s:p95"], **fields}
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def test_study_set_and_axes_through_lists(tmp_path: Path) -> None:
    st_ = load_study(_study(tmp_path, axes={"server.position.0": [0.0, 5.0]}, set=["rounds=2"]))
    assert [p.scenario.scenario.server.position[0] for p in st_.points] == [0.0, 5.0]
    for fields, named in (({"set": ["server.position.0.x=1"]}, "set: server.position.0.x: server.position.0 is 0.0"),
                          ({"axes": {"server.position.5": [1.0, 2.0]}}, "axis server.position.5: server.position.5: "
                                                                        "server.position has 3 items")):
        with pytest.raises(StudyError, match=r"server\.position"):
            load_study(_study(tmp_path, **fields))
        res = runner.invoke(app, ["sweep", str(_study(tmp_path, **fields)), "-o", str(tmp_path / "out")])
        assert res.exit_code == 2 and named in res.output and "Traceback" not in res.output, res.output
        assert not (tmp_path / "out").exists()
