"""Hostile scenario files (issue 15, item 1): each gets exit 2 and a short message naming
the file and the line or field, in bounded time and memory."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.safe_yaml import MAX_DEPTH, YAMLLimitError, _BoundedLoader, parse_yaml
from edgefl.scenario import ScenarioError, load_scenario
from edgefl.scenario.preview import preview

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
runner = CliRunner()


def quickstart_text(**replace: str) -> str:
    text = QUICKSTART.read_text().replace("rounds: 20", "rounds: 3")
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def validate(path: Path, *extra: str) -> tuple[int, str]:
    res = runner.invoke(app, ["validate", str(path), *extra])
    return res.exit_code, res.output


def assert_one_screen(out: str, *needles: str) -> None:
    assert "Traceback" not in out, out
    lines = out.strip().splitlines()
    assert len(lines) <= 20 and all(len(line) <= 400 for line in lines), out[:2000]
    for n in needles:
        assert n in out, (n, out)


def bounded_load(path: Path, *overrides: str, mib: float = 500.0, max_nodes: int = 20_000) -> ScenarioError:
    """load_scenario must refuse ``path`` within ``mib`` of Python allocations and after composing
    at most ``max_nodes`` YAML nodes (work, not wall time: the machine may be loaded)."""
    composed = [0]
    original = _BoundedLoader.compose_node

    def counting(self, parent, index):
        composed[0] += 1
        return original(self, parent, index)

    tracemalloc.start()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_BoundedLoader, "compose_node", counting)
            with pytest.raises(ScenarioError) as info:
                load_scenario(path, list(overrides))
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert peak < mib, peak
    assert composed[0] <= max_nodes, composed[0]
    assert len(str(info.value)) < 2000, str(info.value)[:3000]
    return info.value


def billion_laughs() -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "junk:\n" + "\n".join("  " + line for line in lines) + "\n"


def test_billion_laughs_is_refused_fast(tmp_path: Path) -> None:
    p = tmp_path / "laughs.yaml"
    p.write_text(quickstart_text() + billion_laughs())
    err = bounded_load(p)
    assert "expands to more than" in str(err) and "laughs.yaml" in str(err)
    code, out = validate(p)
    assert code == 2
    assert_one_screen(out, "laughs.yaml", "aliases")


def test_50_mb_file_is_refused_fast(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    with open(p, "w") as fh:
        fh.write(quickstart_text() + "junk:\n")
        line = "  - " + "x" * 60 + "\n"
        fh.write(line * (50 * 2**20 // len(line)))
    assert p.stat().st_size > 50e6
    err = bounded_load(p)
    assert "MiB" in str(err)
    code, out = validate(p)
    assert code == 2
    assert_one_screen(out, "big.yaml", "limited to")


def test_big_unknown_value_is_previewed_not_printed(tmp_path: Path) -> None:
    """Under the size cap, a large unknown value is named by type and size, not printed."""
    p = tmp_path / "junk.yaml"
    p.write_text(quickstart_text() + "junk: [" + ", ".join(["123456789"] * 50_000) + "]\n")
    code, out = validate(p)
    assert code == 2
    assert_one_screen(out, "junk.yaml", "junk = list of 50,000 items", "unknown key")


def test_random_bytes_are_refused_in_one_line(tmp_path: Path) -> None:
    p = tmp_path / "noise.yaml"
    p.write_bytes(bytes(range(256)) * 16)
    code, out = validate(p)
    assert code == 2
    assert_one_screen(out, "noise.yaml", "binary")
    p.write_bytes(b"rounds: 3\nname: caf\xe9\n")  # latin-1, no NUL
    code, out = validate(p)
    assert code == 2
    assert_one_screen(out, "noise.yaml", "not UTF-8", "line 2")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "deep.yaml"
    p.write_text("[" * 100_000)
    bounded_load(p, max_nodes=MAX_DEPTH + 1)  # refused at the first level too deep, not after parsing it all
    code, out = validate(p)
    assert code == 2
    assert_one_screen(out, "deep.yaml", f"deeper than {MAX_DEPTH}")


def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    p = tmp_path / "dup.yaml"
    text = quickstart_text() + "rounds: 5000\n"
    p.write_text(text)
    first = text.splitlines().index("rounds: 3") + 1
    last = len(text.splitlines())
    code, out = validate(p)
    assert code == 2
    assert_one_screen(out, "dup.yaml", "duplicate key 'rounds'", f"line {last}", f"line {first}")


def test_nested_duplicate_key(tmp_path: Path) -> None:
    p = tmp_path / "dup.yaml"
    p.write_text(quickstart_text(**{"  access: tdma": "  access: tdma\n  access: fdma"}))
    code, out = validate(p)
    assert code == 2 and "duplicate key 'access'" in out


@pytest.mark.parametrize(("field", "value", "needle"), [
    ("rounds", "true", "got a boolean"),
    ("rounds", "3.0", "expected an integer"),
    ("gradients.params", "1e9", "expected an integer"),
    ("workers.count", "'10'", "got text"),
    ("channel.uplink_bandwidth_hz", "yes", "got a boolean"),
])
def test_no_silent_number_coercion(field: str, value: str, needle: str) -> None:
    code, out = validate(QUICKSTART, "--set", f"{field}={value}")
    assert code == 2
    assert_one_screen(out, "quickstart.yaml", field, needle)


def test_yaml12_exponent_floats_are_numbers(tmp_path: Path) -> None:
    """``20e6`` is a float (YAML 1.2), not the text PyYAML's 1.1 resolver makes of it."""
    assert parse_yaml("a: 20e6\nb: -1E-3\nc: 1_000\nd: '2e6'") == {"a": 2e7, "b": -1e-3, "c": 1000, "d": "2e6"}
    assert yaml.safe_load("a: 20e6") == {"a": "20e6"}  # our resolver did not leak into PyYAML's
    code, out = validate(QUICKSTART, "--set", "channel.uplink_bandwidth_hz=5e6")
    assert code == 0, out


def test_unknown_scheme_in_scenario_words() -> None:
    code, out = validate(QUICKSTART, "--set", "compression.scheme=zip")
    assert code == 2
    assert_one_screen(out, "compression.scheme = 'zip'", "allowed: none, signsgd")
    assert "discriminator" not in out and "expected tags" not in out


def test_recursive_alias_and_alias_bomb_in_set() -> None:
    with pytest.raises(YAMLLimitError, match="recursive"):
        parse_yaml("a: &a [*a]")
    bomb = billion_laughs().replace("\n", " ").replace("junk: ", "{") + "}"
    code, out = validate(QUICKSTART, "--set", "junk=" + bomb)
    assert code == 2
    assert_one_screen(out, "--set")


def test_preview_is_short_and_cheap() -> None:
    big = list(range(10**6))
    assert preview(big) == "list of 1,000,000 items"
    assert preview("x" * 10_000).startswith("str of 10,000 chars 'xxx")
    assert len(preview("x" * 10_000)) < 100
    assert preview(10**10_000).startswith("int of about")
    assert preview([1, 2]) == "[1, 2]" and preview({"a": 1}) == "{'a': 1}"
    laughs = parse_yaml("a: &a [1, 2]\nb: &b [*a, *a]\n")  # shared references
    assert preview(laughs) == "{'a': [1, 2], 'b': [[1, 2], [1, 2]]}"


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() == 0, reason="root reads every file")
def test_unreadable_file(tmp_path: Path) -> None:
    p = tmp_path / "locked.yaml"
    p.write_text(quickstart_text())
    p.chmod(0)
    code, out = validate(p)
    assert code == 2 and "cannot read" in out
