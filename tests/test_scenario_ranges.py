"""Numbers that make no physical sense are refused before a run (issue 15, item 3): field
ranges keep every derived quantity finite, p1 needs its target, summary.json is strict JSON,
and errors raised inside the radio/coding/learning code name the scenario fields behind them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.radio.link_registry import make_link
from edgefl.radio.rate import spectral_efficiency
from edgefl.results.writer import write_json
from edgefl.scenario import load_scenario
from edgefl.scenario.blame import blame
from edgefl.sim.build import radio_environment

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
runner = CliRunner()


def validate(*sets: str) -> tuple[int, str]:
    args = ["validate", str(QUICKSTART), "--set", "rounds=3"]
    for s in sets:
        args += ["--set", s]
    res = runner.invoke(app, args)
    return res.exit_code, res.output


@pytest.mark.parametrize("setting", [
    "workers.compute_jitter=1e6",
    "channel.uplink_bandwidth_hz=1e300",
    "channel.uplink_bandwidth_hz=1e-300",
    "channel.tx_power_dbm=1e6",
    "channel.snr_gap_db=1e6",
    "channel.noise_figure_db=1e6",
    "channel.shadowing_sigma_db=1e6",
    "channel.carrier_hz=1e300",
    "server.position=[1e300, 0, 10]",
    "workers.placement.radius_m=1e300",
    "gradients.sigma_x2=1e300",
])
def test_unphysical_number_is_refused_naming_the_field(setting: str) -> None:
    code, out = validate(setting)
    field = setting.split("=")[0]
    assert code == 2, out
    assert "Traceback" not in out and "quickstart.yaml" in out and field in out
    assert "less than or equal" in out or "greater than or equal" in out


def test_extremes_of_the_ranges_keep_the_link_finite() -> None:
    """Corners of the allowed ranges: every worker's SNR stays a finite positive float. (A rate
    that rounds to 0 at a tiny SNR is caught by the estimate before the run: test_estimate.)"""
    for sets in (["channel.tx_power_dbm=-100", "channel.noise_figure_db=50", "channel.snr_gap_db=50",
                  "channel.uplink_bandwidth_hz=1e11", "workers.placement.radius_m=1e6"],
                 ["channel.tx_power_dbm=80", "channel.noise_figure_db=0", "channel.uplink_bandwidth_hz=1",
                  "workers.placement.radius_m=1"]):
        rs = load_scenario(QUICKSTART, sets)
        ch = rs.scenario.channel
        snr = 10 ** (np.asarray(radio_environment(rs).mean_uplink_snr_db(ch.uplink_bandwidth_hz)) / 10)
        rate = make_link(ch).rate_bps(ch.uplink_bandwidth_hz, snr)
        assert np.all(np.isfinite(snr)) and np.all(snr > 0) and np.all(np.isfinite(1 / snr))
        assert np.all(np.isfinite(rate))


def test_p1_without_target_is_an_error() -> None:
    code, out = validate("rate_allocation.scheme=p1")
    assert code == 2
    assert "rate_allocation.scheme p1 needs rate_allocation.target_distortion" in out
    code, out = validate("rate_allocation.scheme=p1", "rate_allocation.target_distortion=0.5")
    assert code == 0, out


def test_summary_json_is_strict(tmp_path: Path) -> None:
    write_json(tmp_path / "s.json", {"a": math.nan, "b": [1.0, math.inf], "c": np.float64(-np.inf), "d": 2.5})
    text = (tmp_path / "s.json").read_text()

    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    assert json.loads(text, parse_constant=refuse) == {"a": None, "b": [1.0, None], "c": None, "d": 2.5}


def test_error_inside_radio_code_names_the_scenario_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    from edgefl.radio import link_state  # the per-worker path loss is computed there (issue 17)

    def broken(*args, **kwargs):
        raise ValueError("snr_linear must be positive and finite")

    monkeypatch.setattr(link_state, "pathloss_db", broken)
    code, out = validate()
    assert code == 2
    assert "Traceback" not in out and "snr_linear must be positive" in out
    assert "quickstart.yaml" in out and "channel.*" in out and "--debug" in out
    res = runner.invoke(app, ["--debug", "validate", str(QUICKSTART)])
    assert isinstance(res.exception, ValueError)  # --debug lets the traceback through


def test_blame_picks_the_innermost_edgefl_module() -> None:
    try:
        spectral_efficiency(-1.0)
    except ValueError as exc:
        what, fields = blame(exc)
        assert "radio link" in what and "channel.*" in fields
    else:
        pytest.fail("negative bandwidth accepted")
    assert blame(ValueError("not raised")) is None


def test_run_refuses_before_making_the_results_folder(tmp_path: Path) -> None:
    """Issue row: tx_power_dbm 1e6 used to stop mid-run naming no field and leave an empty folder."""
    out = tmp_path / "r"
    res = runner.invoke(app, ["run", str(QUICKSTART), "-o", str(out), "--no-progress",
                              "--set", "channel.tx_power_dbm=1e6"])
    assert res.exit_code == 2 and "channel.tx_power_dbm" in res.output and "Traceback" not in res.output
    assert not out.exists()
