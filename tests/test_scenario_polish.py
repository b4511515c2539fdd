"""First-run polish (issue 15, item 7): plan wording, the final accuracy line, fast start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.planning import _change

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_plan_savings_read_naturally() -> None:
    assert _change("bits_per_round", -16.1) == "16.1 % more bits per round"
    assert _change("round_latency_s", 4.1) == "4.1 % less round time"
    assert _change("bits_per_round", 97.2) == "97.2 % fewer bits per round"
    assert _change("latency_s", 0.01) == "same upload time*"
    res = runner.invoke(app, ["plan", str(ROOT / "scenarios" / "quickstart.yaml"), "--D", "0.2"])
    assert res.exit_code == 0 and "% more bits per round" in res.output and "saving" not in res.output.lower()


def test_model_run_prints_final_accuracy(tmp_path: Path, monkeypatch) -> None:
    """The end-of-run line shows the final test accuracy (run_scenario stubbed: the line is the unit)."""
    import edgefl.runner
    from edgefl.runner import RunOutcome

    totals = {"mean_round_latency_s": 1.0, "mean_bits_per_param": 32.0, "mean_distortion": 0.0,
              "final_test_accuracy": 0.9375}
    monkeypatch.setattr(edgefl.runner, "run_scenario", lambda rs, out, **kw: RunOutcome(
        tmp_path, True, 2, {"totals": totals}))
    res = runner.invoke(app, ["run", str(ROOT / "scenarios" / "digits_mlp.yaml"), "--set", "rounds=2"])
    assert res.exit_code == 0, res.output
    assert "final test accuracy 0.9375" in res.output
    totals["final_test_accuracy"] = None  # strict summary.json: a non-finite accuracy is null
    res = runner.invoke(app, ["run", str(ROOT / "scenarios" / "quickstart.yaml")])
    assert res.exit_code == 0 and "accuracy" not in res.output


def test_help_and_validate_do_not_import_the_numerical_stack() -> None:
    """--help and the scenario loader of validate load neither onnx/onnxruntime nor scipy/numba.
    (`bound` still does: edgefl.theory.report imports the numba P1 kernel at module level.)"""
    code = ("import sys; from edgefl.cli import app; import edgefl.scenario, edgefl.estimate; "
            "heavy = [m for m in ('onnx', 'onnxruntime', 'numba', 'scipy.special') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
