"""--strict turns scenario warnings (edgefl.diagnostics.ScenarioWarning) into errors (issue 12:
step-size conditions of the AIADE paper's theorems: a warning in the run, an error with --strict)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.diagnostics import ScenarioWarning

ROOT = Path(__file__).resolve().parents[1]
CONVEX = ROOT / "scenarios" / "convex_iade.yaml"
# a step twice the largest one Theorem 3.1 allows: eta must be below 2/(L + mu)
BAD = ["--set", "gradients.lr=10.0", "--set", "rounds=2"]


def test_step_size_violation_warns_without_strict() -> None:
    with pytest.warns(ScenarioWarning, match="Theorem 3.1.*gradients.lr"):
        res = CliRunner().invoke(app, ["validate", str(CONVEX), *BAD])
    assert res.exit_code == 0, res.output


def test_step_size_violation_is_an_error_with_strict(tmp_path: Path) -> None:
    for cmd in (["validate", str(CONVEX)], ["run", str(CONVEX), "-o", str(tmp_path / "r"), "--no-progress"]):
        res = CliRunner().invoke(app, [*cmd, *BAD, "--strict"])
        assert res.exit_code == 2, res.output
        assert "error (--strict)" in res.output and "gradients.lr" in res.output
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_strict_without_violation_runs(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["run", str(CONVEX), "--set", "rounds=2", "-o", str(tmp_path / "ok"),
                                   "--no-progress", "--strict"])
    assert res.exit_code == 0, res.output
