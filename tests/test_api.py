"""The Python API (issue 22): ``import edgefl`` stays light, ``edgefl.load`` validates like the CLI
(same problems, same message), ``edgefl.run`` returns DataFrames and figures and ``save`` writes
the bytes ``edgefl run -o`` writes, ``whatif`` answers equal the CLI's ``--json``."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from test_scenario_hostile import billion_laughs, quickstart_text  # the hostile cases' own builders
from typer.testing import CliRunner

import edgefl
from edgefl.cli import app

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
runner = CliRunner()
HEAVY = ("numba", "onnxruntime", "pandas", "numpy", "matplotlib", "scipy", "pydantic")


def test_import_edgefl_loads_nothing_heavy() -> None:
    code = ("import sys, edgefl; assert callable(edgefl.sweep) or True; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}).stdout
    assert out.strip() == "[]", out
    assert set(edgefl.__all__) <= set(dir(edgefl))
    for name in edgefl.__all__:
        assert getattr(edgefl, name).__doc__, name  # each public name is documented


# ---- load: the same problems as the CLI ----------------------------------------------------------------------

def _quick() -> dict:
    return yaml.safe_load(QUICKSTART.read_text())


def _edit(path: str, value) -> str:
    d = _quick()
    *parents, leaf = path.split(".")
    cur = d
    for p in parents:
        cur = cur[p]
    if value is KeyError:
        del cur[leaf]
    else:
        cur[leaf] = value
    return yaml.safe_dump(d)


@dataclass
class Case:
    name: str
    content: str | bytes | None  # None: the file does not exist
    set: list[str] = field(default_factory=list)


CASES = [
    # tests/test_scenario_errors.py
    Case("unknown_key", _edit("channel.bandwith_hz", 1e6)),
    Case("unknown_top_level", _edit("worker", {"count": 3})),
    Case("wrong_type", _edit("workers.count", "ten")),
    Case("negative_bandwidth", _edit("channel.uplink_bandwidth_hz", -5.0)),
    Case("unknown_device", _edit("workers.device", "raspberry_pi_9")),
    Case("unknown_channel_profile", _edit("channel.profile", "moon_base")),
    Case("server_as_worker", _edit("workers.device", "edge_server_fa_asic")),
    Case("unknown_scheme", _edit("compression", {"scheme": "gzip"})),
    Case("missing_file", None),
    Case("yaml_syntax", "name: x\nworkers: [1, 2\nrounds: 3\n"),
    Case("missing_rounds", _edit("rounds", KeyError)),
    Case("set_type_checked", quickstart_text(), ["workers.count=-3"]),
    Case("set_without_value", quickstart_text(), ["workers.count"]),
    # tests/test_scenario_hostile.py
    Case("billion_laughs", quickstart_text() + billion_laughs()),
    Case("deep_nesting", "[" * 100_000),
    Case("random_bytes", bytes(range(256)) * 16),
    Case("latin1", b"rounds: 3\nname: caf\xe9\n"),
    Case("duplicate_key", quickstart_text() + "rounds: 5000\n"),
    Case("nested_duplicate", quickstart_text(**{"  access: tdma": "  access: tdma\n  access: fdma"})),
    Case("big_unknown_value", quickstart_text() + "junk: [" + ", ".join(["123456789"] * 5_000) + "]\n"),
    *(Case(f"coercion_{f}_{v}", quickstart_text(), [f"{f}={v}"]) for f, v in [
        ("rounds", "true"), ("rounds", "3.0"), ("gradients.params", "1e9"), ("workers.count", "'10'"),
        ("channel.uplink_bandwidth_hz", "yes")]),
    Case("scheme_in_words", quickstart_text(), ["compression.scheme=zip"]),
    Case("alias_bomb_in_set", quickstart_text(),
         ["junk=" + billion_laughs().replace("\n", " ").replace("junk: ", "{") + "}"]),
]


def _write(tmp_path: Path, case: Case) -> Path:
    p = tmp_path / f"{case.name}.yaml"
    if isinstance(case.content, bytes):
        p.write_bytes(case.content)
    elif case.content is not None:
        p.write_text(case.content)
    return p


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_load_raises_the_problems_the_cli_prints(tmp_path: Path, case: Case) -> None:
    path = _write(tmp_path, case)
    res = runner.invoke(app, ["validate", str(path), *(a for s in case.set for a in ("--set", s))])
    assert res.exit_code == 2, res.output
    with pytest.raises(edgefl.ScenarioError) as info:
        edgefl.load(path, set=case.set)
    err = info.value
    assert f"error: {err}" in res.output  # the very message, every problem
    assert err.problems
    for path_, value, message in err.problems:  # problems unpack as (path, value, message)
        assert isinstance(path_, str) and message in res.output
    text = case.content.decode("utf-8", "replace") if isinstance(case.content, bytes) else case.content
    if text is None or "\0" in text or isinstance(case.content, bytes):
        return
    with pytest.raises(edgefl.ScenarioError) as from_text:  # the same problems from YAML text
        edgefl.load(text, set=case.set)
    assert [tuple(p) for p in from_text.value.problems] == [tuple(p) for p in err.problems]


def test_set_as_dict_equals_set_as_strings() -> None:
    a = edgefl.load(QUICKSTART, set=["rounds=3", "channel.access=fdma", "channel.uplink_bandwidth_hz=5e6"])
    b = edgefl.load(QUICKSTART, set={"rounds": 3, "channel.access": "fdma", "channel.uplink_bandwidth_hz": 5e6})
    assert a.config == b.config
    with pytest.raises(edgefl.ScenarioError) as info:
        edgefl.load(QUICKSTART, set={"workers.count": -3})
    assert [p.field for p in info.value.problems] == ["workers.count"]


def test_sources_with_and_to_yaml_round_trip() -> None:
    s = edgefl.load(QUICKSTART)
    assert edgefl.load(_quick()).config == s.config  # a dict
    assert edgefl.load(QUICKSTART.read_text()).config == s.config  # YAML text
    assert edgefl.load(str(QUICKSTART)).config == s.config
    assert edgefl.load(s.to_yaml()).config == s.config  # to_yaml gives back the same scenario
    t = s.with_(**{"channel.uplink_bandwidth_hz": 5e6}).with_({"workers.count": 4})
    assert (t.config.channel.uplink_bandwidth_hz, t.config.workers.count) == (5e6, 4)
    assert len(t.resolved.worker_devices) == 4
    assert s.config.channel.uplink_bandwidth_hz == 20e6  # the original is unchanged
    with pytest.raises(edgefl.ScenarioError, match="uplink_bandwidth_hz"):
        s.with_(**{"channel.uplink_bandwidth_hz": -1})
    est = s.estimate()
    assert est.memory_bytes > 0 and est.wall_s > 0 and est.lines()[0].startswith("estimate:")


# ---- run ---------------------------------------------------------------------------------------------------

def _frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """summary.json's wall_time_s is the one measured value in a quickstart run's files: freeze the
    runner's clock so that two runs must agree byte for byte."""
    import edgefl.runner

    monkeypatch.setattr(edgefl.runner, "time", types.SimpleNamespace(perf_counter=lambda: 0.0))


def _tree(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_save_is_byte_identical_to_cli_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt

    _frozen_clock(monkeypatch)
    res = runner.invoke(app, ["run", str(QUICKSTART), "--set", "rounds=3", "-o", str(tmp_path / "cli")])
    assert res.exit_code == 0, res.output
    figs = plt.get_fignums()
    r = edgefl.run(QUICKSTART, set=["rounds=3"])
    assert r.out_dir is None and not (tmp_path / "api").exists()  # no files without out=
    assert r.save(tmp_path / "api") == tmp_path / "api"
    cli, api = _tree(tmp_path / "cli"), _tree(tmp_path / "api")
    assert {"rounds.csv", "timeline.csv", "summary.json", "workers.csv", "rounds.png", "timing_round2.png"} <= set(cli)
    assert list(api) == list(cli)
    for name in cli:
        assert api[name] == cli[name], name
    r_out = edgefl.run(QUICKSTART, set=["rounds=3"], out=tmp_path / "out")  # out=: the CLI's files, written as run
    assert r_out.out_dir == tmp_path / "out" and _tree(tmp_path / "out") == cli
    assert r.save(tmp_path / "api") == tmp_path / "api-1"  # like -o: existing results are not overwritten
    assert plt.get_fignums() == figs  # no pyplot figures made


def test_run_result_tables_and_figures() -> None:
    r = edgefl.run(QUICKSTART, set=["rounds=3"])
    files = r.files()
    header = files["rounds.csv"].decode().splitlines()[0].split(",")
    assert list(r.rounds.columns) == header and r.rounds.shape[0] == 3
    assert list(r.timeline.columns) == ["round", "actor", "phase", "start", "end", "bits"]
    assert list(r.workers.columns) == files["workers.csv"].decode().splitlines()[0].split(",")
    assert len(r.workers) == 10
    assert r.summary == json.loads(files["summary.json"]) and r.summary["complete"] is True
    assert r.rounds["latency_s"].mean() == pytest.approx(r.summary["totals"]["mean_round_latency_s"])
    fig = r.plot_round(1)
    assert fig.axes[0].get_xlabel() == "time since round start [s]" and "round 1" in fig.axes[0].get_title()
    assert [a.get_ylabel() for a in r.plot().axes] == ["round latency [s]", "bits per worker [bit]"]
    with pytest.raises(ValueError, match="round 7 not in"):
        r.plot_round(7)
    slow = edgefl.run(r.scenario.with_(**{"channel.uplink_bandwidth_hz": 5e6}))
    # a quarter of the bandwidth: the same bits take longer (same seed, same fading draws)
    assert (slow.rounds["upload_s"] > r.rounds["upload_s"]).all() if "upload_s" in r.rounds else \
        slow.rounds["latency_s"].mean() > r.rounds["latency_s"].mean()


def test_whatif_to_dict_is_the_cli_json() -> None:
    args = ["whatif", str(QUICKSTART), "--set", "channel.uplink_bandwidth_hz=5e6", "--base", "rounds=2", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    w = edgefl.whatif(QUICKSTART, ["channel.uplink_bandwidth_hz=5e6"], base=["rounds=2"])
    assert json.dumps(w.to_dict(), indent=2) == res.output.strip()
    as_dicts = edgefl.whatif(QUICKSTART, {"channel.uplink_bandwidth_hz": 5e6}, base={"rounds": 2})
    assert as_dicts.delta == w.delta  # the same change written as a dict
    assert w.delta["latency_mean_s"] > 0 and str(w).startswith(str(QUICKSTART))


def test_docstring_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples in the API's docstrings are doctests (run from the repository root)."""
    import doctest

    import edgefl.api.run
    import edgefl.api.scenario
    import edgefl.results.labels

    monkeypatch.chdir(ROOT)
    for mod in (edgefl.api.scenario, edgefl.api.run, edgefl.results.labels):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert res.failed == 0 and res.attempted > 0, mod.__name__
