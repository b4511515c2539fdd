"""Resource estimate before any work (issue 15, item 2): huge requests are refused in
about a second naming the fields that drive them; the estimate tracks measured memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.estimate import FIXED_BYTES, estimate_scenario, parse_memory
from edgefl.scenario import ResourceError, load_scenario
from edgefl.sim.build import build_simulation

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
DIGITS = ROOT / "scenarios" / "digits_mlp.yaml"
runner = CliRunner()


def traced_cli(*args: str) -> tuple[int, str, float]:
    """Exit code, output and peak traced MiB of a CLI call (bounded by memory, not wall time)."""
    tracemalloc.start()
    try:
        res = runner.invoke(app, list(args))
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert "Traceback" not in res.output
    return res.exit_code, res.output, peak


@pytest.mark.parametrize(("path", "setting", "fields"), [
    (QUICKSTART, "workers.count=1000000000", "workers.count x gradients.params"),
    (QUICKSTART, "gradients.params=1000000000000", "workers.count x gradients.params"),
    (QUICKSTART, "workers.count=1000000", "workers.count x gradients.params"),
    (QUICKSTART, "gradients.params=1000000000", "workers.count x gradients.params"),
    (DIGITS, "model.batch_size=1000000000", "model.batch_size"),
])
def test_huge_request_refused_fast_naming_the_fields(path: Path, setting: str, fields: str) -> None:
    code, out, peak = traced_cli("validate", str(path), "--set", setting)
    assert code == 2, out
    assert peak < 100, peak  # refused from the estimate: nothing of the requested size was allocated
    assert f"{path.name}: {fields}: needs ~" in out and "more than the" in out
    assert "estimate: peak memory" in out  # the estimate is shown with the refusal


def test_max_memory_and_estimate_options() -> None:
    code, out, _ = traced_cli("validate", str(QUICKSTART), "--estimate")
    assert code == 0 and "estimate: peak memory" in out and "gradient vectors (signsgd)" in out
    code, out, _ = traced_cli("validate", str(QUICKSTART), "--max-memory", "320M",
                                "--set", "gradients.params=1000000")
    assert code == 2 and "gradient vectors" in out and "gradients.params" in out and "320 MiB allowed" in out
    code, out, _ = traced_cli("validate", str(QUICKSTART), "--max-memory", "lots")
    assert code == 2 and "--max-memory 'lots'" in out
    code, out, _ = traced_cli("run", str(QUICKSTART), "--max-memory", "1G", "--set", "workers.count=100000",
                                "--set", "gradients.params=10000", "-o", "/nonexistent/never")
    assert code == 2 and "needs ~" in out  # refused before the output directory is even made


def test_parse_memory_units() -> None:
    assert parse_memory("4G") == 4 * 2**30 and parse_memory("512MiB") == 512 * 2**20
    assert parse_memory("2e9") == 2e9 and parse_memory("1.5k") == 1536
    for bad in ("", "-1G", "inf", "G"):
        with pytest.raises(ValueError):
            parse_memory(bad)


def test_validate_of_many_workers_stays_fast() -> None:
    code, out, peak = traced_cli("validate", str(QUICKSTART), "--set", "workers.count=100000",
                                 "--set", "gradients.params=10")
    assert code == 0, out
    assert "radio state not built" in out and peak < 200, peak  # no per-worker radio state was made


@pytest.mark.parametrize("sets", [
    ("compression.scheme=none",),
    ("compression.scheme=signsgd", "workers.count=20", "gradients.params=50000"),
    ("compression.scheme=rd-ideal", "rate_allocation.target_distortion=0.5"),
])
def test_estimate_brackets_measured_memory(sets: tuple[str, ...]) -> None:
    """Measured peak (tracemalloc) <= estimated variable part <= 3x measured."""
    rs = load_scenario(QUICKSTART, ["rounds=2", *sets])
    tracemalloc.start()
    try:
        build_simulation(rs).run()
        measured = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    predicted = estimate_scenario(rs.scenario).memory_bytes - FIXED_BYTES
    assert measured <= predicted <= 3 * measured, (measured / 2**20, predicted / 2**20)


def test_estimate_grows_with_each_driving_field() -> None:
    base = load_scenario(QUICKSTART, ["rounds=3"]).scenario
    e0 = estimate_scenario(base)
    for field, update in (("workers", {"workers": base.workers.model_copy(update={"count": 100})}),
                          ("rounds", {"rounds": 300}),
                          ("gradients", {"gradients": base.gradients.model_copy(update={"params": 10**6})})):
        e1 = estimate_scenario(base.model_copy(update=update))
        assert e1.memory_bytes > e0.memory_bytes and e1.wall_s > e0.wall_s, field


def test_resource_error_carries_the_estimate() -> None:
    with pytest.raises(ResourceError) as info:
        load_scenario(QUICKSTART, ["workers.count=1000000000"], max_memory=2**30)
    assert info.value.estimate.memory_bytes > 2**40
