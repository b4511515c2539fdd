"""Property-based fuzzing of scenario input (issue 15, item 6).

Generated and mutated scenarios, random bytes, deep nesting, huge numbers and every enum
value: loading either succeeds or raises a ScenarioError with a short message (the CLI
exits 0 or 2, never with a traceback), in bounded time; a scenario that loads and is
cheap enough to run completes with finite metrics. The default suite runs a fast profile;
``-m slow`` runs >= 1,000 generated scenarios.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.scenario import ScenarioError, json_schema, load_scenario, resolve
from edgefl.sim.build import build_simulation

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
BASE = yaml.safe_load(QUICKSTART.read_text())
BASE["rounds"] = 2
runner = CliRunner()

FAST = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
RUN_BUDGET_S = 1.0  # valid scenarios estimated to run longer than this are validated, not run
MESSAGE_CHARS = 4000


def check_load(data: Any) -> Any:
    """resolve ``data``: a ResolvedScenario, or None after a short ScenarioError; anything else fails."""
    try:
        rs = resolve(data, "<fuzz>", ROOT / "scenarios")
    except ScenarioError as exc:
        assert len(str(exc)) < MESSAGE_CHARS, str(exc)[:MESSAGE_CHARS]
        rs = None
    return rs


def check_run(rs: Any) -> bool:
    """Run a cheap valid scenario: every round's metrics are finite. False if not cheap enough."""
    if rs is None or rs.estimate.wall_s > RUN_BUDGET_S or rs.scenario.rounds > 3:
        return False
    sim = build_simulation(rs)
    sim.run()
    assert len(sim.rounds) == rs.scenario.rounds
    for row in sim.rounds:
        values = {k: row[k] for k in row.keys()}  # a RoundRecord: mapping-style, not a dict
        bad = {k: v for k, v in values.items() if isinstance(v, float) and not math.isfinite(v)
               and k not in ("test_accuracy", "test_loss", "sigma_x2_est", "sigma_n2_est")}
        assert not bad, (bad, rs.scenario.model_dump())
    return True


# --------------------------------------------------------------------------- strategies

NASTY_NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 10**9, 10**12, 1e-300, 1e300, 2**63, 0.5, 3.0]),
)
#: a plausible-to-absurd number of the same kind as the one it replaces
SAME_KIND = {
    int: st.one_of(st.integers(0, 64), st.integers(-5, 10**6), st.sampled_from([0, 1, 2, 10**9, 10**12, -1])),
    float: st.one_of(st.floats(0, 1e3), st.floats(-1e6, 1e12, allow_nan=False),
                     st.sampled_from([0.0, 1e-300, 1e300, -1.0, 1e6, 0.5])),
}
SCALARS = st.one_of(NASTY_NUMBERS, st.booleans(), st.none(), st.text(max_size=30))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)


def _get(node: Any, path: tuple) -> Any:
    for p in path:
        node = node[p]
    return node


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)


def _enum_values(schema: dict) -> dict[str, list]:
    """property name -> the values its enum/const allows, from the JSON schema."""
    out: dict[str, list] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                vals = prop.get("enum") or ([prop["const"]] if "const" in prop else [])
                for alt in prop.get("anyOf", []):
                    vals += alt.get("enum", []) + ([alt["const"]] if "const" in alt else [])
                if vals:
                    out.setdefault(name, [])
                    out[name] += [v for v in vals if v not in out[name]]
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return out


ENUMS = _enum_values(json_schema())


@st.composite
def mutated(draw: st.DrawFn) -> dict:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(PATHS))
        parent = data
        try:
            for p in path[:-1]:
                parent = parent[p]
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, (dict, list)):
            continue
        last = path[-1]
        action = draw(st.sampled_from(["perturb", "perturb", "perturb", "replace", "enum", "delete", "add"]))
        old = parent[last] if isinstance(parent, dict) and last in parent else None
        if action == "perturb" and isinstance(old, (int, float)) and not isinstance(old, bool):
            if draw(st.booleans()):  # within a factor of 10 of the shipped value
                new = old * 10 ** draw(st.floats(-1, 1))
                parent[last] = round(new) if isinstance(old, int) else new
            else:
                parent[last] = draw(SAME_KIND[type(old)])
        elif action == "delete" and isinstance(parent, dict):
            parent.pop(last, None)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from([*ENUMS, "junk", "count", "scheme"]))] = draw(VALUES)
        elif action == "enum" and isinstance(last, str) and last in ENUMS:
            parent[last] = draw(st.sampled_from(ENUMS[last]))
        else:
            try:
                parent[last] = draw(VALUES)
            except (IndexError, TypeError):
                continue
    return data


NUMERIC_PATHS = [p for p in PATHS if isinstance(_get(BASE, p), (int, float)) and not isinstance(_get(BASE, p), bool)]


@st.composite
def perturbed(draw: st.DrawFn) -> dict:
    """Only numbers changed, mostly within a factor of 10: mostly valid scenarios, which then run."""
    data = copy.deepcopy(BASE)
    for path in draw(st.lists(st.sampled_from(NUMERIC_PATHS), min_size=1, max_size=3, unique=True)):
        parent = _get(data, path[:-1])
        old = parent[path[-1]]
        new = old * 10 ** draw(st.floats(-1, 1)) if draw(st.integers(0, 3)) else draw(SAME_KIND[type(old)])
        parent[path[-1]] = round(new) if isinstance(old, int) and isinstance(new, float) else new
    if draw(st.booleans()):
        data["compression"] = {"scheme": draw(st.sampled_from(ENUMS["scheme"]))}
        if data["compression"]["scheme"] == "rd-ideal":
            data["rate_allocation"] = {"target_distortion": draw(st.floats(0.2, 5.0))}
    return data


# --------------------------------------------------------------------------- properties


@FAST
@given(perturbed())
def test_perturbed_numbers(data: dict) -> None:
    check_run(check_load(data))


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(perturbed())
def test_perturbed_numbers_many(data: dict) -> None:
    check_run(check_load(data))



def _mutated_scenarios_load_cleanly(data: dict) -> None:
    check_run(check_load(data))


@FAST
@given(mutated())
def test_mutated_scenarios(data: dict) -> None:
    _mutated_scenarios_load_cleanly(data)


@pytest.mark.slow
@SLOW
@given(mutated())
def test_mutated_scenarios_many(data: dict) -> None:
    _mutated_scenarios_load_cleanly(data)


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_every_enum_value(name: str) -> None:
    """Each enum value at each place the base scenario has that key: loads or a clean error."""
    places = [p for p in PATHS if p[-1] == name]
    for value in ENUMS[name]:
        for path in places:
            data = copy.deepcopy(BASE)
            parent = data
            for p in path[:-1]:
                parent = parent[p]
            parent[path[-1]] = value
            check_run(check_load(data))


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes(tmp_path_factory: pytest.TempPathFactory, blob: bytes) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "s.yaml"
    p.write_bytes(blob)
    try:
        load_scenario(p)
    except ScenarioError as exc:
        assert len(str(exc)) < MESSAGE_CHARS


@FAST
@given(st.text(alphabet="[]{}:-,&*! \n\"'abc01", max_size=400), st.sampled_from([0, 63, 64, 65, 100_000]))
def test_random_yaml_syntax_and_depth(tmp_path_factory: pytest.TempPathFactory, text: str, depth: int) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "s.yaml"
    p.write_text("[" * depth + text)
    try:
        load_scenario(p)
    except ScenarioError as exc:
        assert len(str(exc)) < MESSAGE_CHARS


@FAST
@given(st.lists(st.sampled_from(PATHS), min_size=1, max_size=3), st.lists(VALUES, min_size=3, max_size=3))
def test_cli_set_overrides_never_traceback(paths: list[tuple], values: list) -> None:
    sets = []
    for path, value in zip(paths, values):
        text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        sets += ["--set", ".".join(map(str, path)) + "=" + text.replace("\n", " ")]
    res = runner.invoke(app, ["validate", str(QUICKSTART), *sets])
    assert res.exit_code in (0, 2), res.output
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    assert len(res.output) < MESSAGE_CHARS


def _schema_instances(n: int):
    from hypothesis_jsonschema import from_schema

    def deco(test):
        return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))(
            given(from_schema(json_schema()))(test))

    return deco


@_schema_instances(5)
def test_schema_instances(data: dict) -> None:
    """Instances of `edgefl schema` (hypothesis-jsonschema) load or fail with a ScenarioError
    (cross-field rules and unknown profile names are not in the schema)."""
    check_run(check_load(data))


@pytest.mark.slow
@_schema_instances(200)
def test_schema_instances_many(data: dict) -> None:
    check_run(check_load(data))
