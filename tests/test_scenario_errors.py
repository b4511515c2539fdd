"""`edgefl validate` on broken scenarios: non-zero exit, file + field + value + what is allowed,
and nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.scenario import ScenarioError, apply_overrides, load_scenario

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
runner = CliRunner()


def base() -> dict:
    return yaml.safe_load(QUICKSTART.read_text())


def write(tmp_path: Path, data) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return p


def validate(path: Path, *extra: str):
    res = runner.invoke(app, ["validate", str(path), *extra])
    return res.exit_code, res.output  # click >= 8.2 mixes stderr into output, as a user sees it


def test_quickstart_is_valid() -> None:
    code, out = validate(QUICKSTART)
    assert code == 0, out
    assert "ok" in out


def test_unknown_key(tmp_path: Path) -> None:
    d = base()
    d["channel"]["bandwith_hz"] = 1e6
    code, out = validate(write(tmp_path, d))
    assert code != 0
    assert "bad.yaml" in out and "channel.bandwith_hz" in out and "1000000.0" in out
    assert "unknown key" in out and "uplink_bandwidth_hz" in out  # allowed keys listed


def test_unknown_top_level_key(tmp_path: Path) -> None:
    d = base()
    d["worker"] = {"count": 3}
    code, out = validate(write(tmp_path, d))
    assert code != 0 and "worker" in out and "allowed keys here" in out and "workers" in out


def test_wrong_type(tmp_path: Path) -> None:
    d = base()
    d["workers"]["count"] = "ten"
    code, out = validate(write(tmp_path, d))
    assert code != 0
    assert "workers.count" in out and "'ten'" in out and "integer" in out


def test_negative_bandwidth(tmp_path: Path) -> None:
    d = base()
    d["channel"]["uplink_bandwidth_hz"] = -5.0
    code, out = validate(write(tmp_path, d))
    assert code != 0
    assert "channel.uplink_bandwidth_hz" in out and "-5.0" in out and "greater than or equal to 1" in out


def test_unknown_profile_name(tmp_path: Path) -> None:
    d = base()
    d["workers"]["device"] = "raspberry_pi_9"
    code, out = validate(write(tmp_path, d))
    assert code != 0
    assert "workers.device" in out and "raspberry_pi_9" in out and "raspberry_pi_4" in out  # choices listed


def test_unknown_channel_profile(tmp_path: Path) -> None:
    d = base()
    d["channel"]["profile"] = "moon_base"
    code, out = validate(write(tmp_path, d))
    assert code != 0 and "channel.profile" in out and "moon_base" in out and "umi_street_canyon_nlos" in out


def test_server_profile_used_as_worker(tmp_path: Path) -> None:
    d = base()
    d["workers"]["device"] = "edge_server_fa_asic"
    code, out = validate(write(tmp_path, d))
    assert code != 0 and "is a server profile" in out and "raspberry_pi_4" in out


def test_unknown_scheme(tmp_path: Path) -> None:
    d = base()
    d["compression"] = {"scheme": "gzip"}
    code, out = validate(write(tmp_path, d))
    assert code != 0 and "compression" in out and "gzip" in out and "signsgd" in out


def test_missing_file(tmp_path: Path) -> None:
    code, out = validate(tmp_path / "nope.yaml")
    assert code != 0 and "nope.yaml" in out and "file not found" in out


def test_yaml_syntax_error(tmp_path: Path) -> None:
    code, out = validate(write(tmp_path, "name: x\nworkers: [1, 2\nrounds: 3\n"))
    assert code != 0 and "bad.yaml" in out and "YAML syntax error" in out and "line" in out


def test_missing_required_field(tmp_path: Path) -> None:
    d = base()
    del d["rounds"]
    code, out = validate(write(tmp_path, d))
    assert code != 0 and "rounds" in out and "required" in out


def test_bad_set_override_is_type_checked() -> None:
    code, out = validate(QUICKSTART, "--set", "workers.count=-3")
    assert code != 0 and "workers.count" in out and "-3" in out
    code, out = validate(QUICKSTART, "--set", "workers.count=50", "--set", "channel.uplink_bandwidth_hz=5e6")
    assert code == 0, out
    rs = load_scenario(QUICKSTART, ["workers.count=50", "channel.uplink_bandwidth_hz=5e6"])
    assert rs.scenario.workers.count == 50 and rs.scenario.channel.uplink_bandwidth_hz == 5e6
    assert len(rs.worker_devices) == 50


def test_run_on_bad_scenario_runs_nothing(tmp_path: Path) -> None:
    d = base()
    d["channel"]["uplink_bandwidth_hz"] = -1
    out_dir = tmp_path / "out"
    res = runner.invoke(app, ["run", str(write(tmp_path, d)), "--output", str(out_dir)])
    assert res.exit_code != 0 and not out_dir.exists()


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    d = base()
    d["rounds"] = 0
    d["seed"] = -1
    with pytest.raises(ScenarioError) as ei:
        load_scenario(write(tmp_path, d))
    fields = {p.field for p in ei.value.problems}
    assert {"rounds", "seed"} <= fields


def test_apply_overrides_creates_and_indexes() -> None:
    d = {"a": {"b": [1, {"c": 2}]}}
    out = apply_overrides(d, ["a.b.1.c=5", "a.x.y=true", "z=[1, 2]"])
    assert out == {"a": {"b": [1, {"c": 5}], "x": {"y": True}}, "z": [1, 2]}
    assert d["a"]["b"][1]["c"] == 2  # input untouched
    with pytest.raises(ValueError, match="expected dotted.path=value"):
        apply_overrides(d, ["novalue"])


def test_schema_command_lists_sections() -> None:
    import json

    res = runner.invoke(app, ["schema"])
    assert res.exit_code == 0
    schema = json.loads(res.output)
    assert {"workers", "channel", "compression", "rate_allocation", "model", "gradients"} <= set(schema["properties"])


def test_model_and_gradients_are_exclusive(tmp_path: Path) -> None:
    d = base()
    d["model"] = {"model": "mlp"}
    code, out = validate(write(tmp_path, d))
    assert code != 0 and "exactly one gradient source" in out


def test_missing_onnx_file_and_unsupported_op(tmp_path: Path) -> None:
    d = base()
    del d["gradients"]
    d["model"] = {"model": "nothere.onnx"}
    code, out = validate(write(tmp_path, d))
    assert code != 0 and "model.model" in out and "nothere.onnx" in out and "not found" in out

    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 10])
    w = helper.make_tensor("w", TensorProto.FLOAT, [64, 10], [0.0] * 640)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["h"]),
                           helper.make_node("Sin", ["h"], ["y"], name="weird_sin")], "g", [x], [y], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "sin.onnx")
    d["model"] = {"model": "sin.onnx"}
    code, out = validate(write(tmp_path, d))
    assert code != 0 and "Sin" in out and "weird_sin" in out


def test_names_that_escape_the_results_folder_are_rejected() -> None:
    for bad in ("..", ".", "-x", "a/b"):
        code, out = validate(QUICKSTART, "--set", f"name={bad}")
        assert code != 0 and "name" in out, bad


def test_explicit_placement_count_and_duplicate_overrides() -> None:
    code, out = validate(QUICKSTART, "--set", "workers.placement={layout: explicit, positions_m: [[1, 2], [3, 4]]}")
    assert code != 0 and "2 positions but count is 10" in out
    code, out = validate(QUICKSTART, "--set", "workers.overrides=[{index: 1, device: jetson_nano}, {index: 1}]")
    assert code != 0 and "two overrides for worker 1" in out
    code, out = validate(QUICKSTART, "--set", "channel.uplink_bandwidth_hz=.inf")
    assert code != 0 and "finite" in out


def test_scenario_folder_is_not_a_profile_catalog(tmp_path: Path) -> None:
    d = base()
    (tmp_path / "smartphone.yaml").write_text(yaml.safe_dump(d))  # a scenario named like a profile
    d["workers"]["device"] = "smartphone"
    code, out = validate(write(tmp_path, d))
    assert code == 0, out
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "my_pi.yaml").write_text(
        (Path(__file__).resolve().parents[1] / "devices" / "raspberry_pi_4.yaml").read_text().replace(
            "name: raspberry_pi_4", "name: my_pi"))
    d["workers"]["device"] = "my_pi"
    code, out = validate(write(tmp_path, d))
    assert code == 0, out
