"""`edgefl whatif`: the latency breakdown along the round's critical path and the
baseline-vs-changed comparison at one seed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario
from edgefl.sweep.critical_path import PARTS, round_breakdown
from edgefl.sweep.whatif import whatif

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def test_breakdown_of_a_hand_made_tdma_round(tmp_path: Path) -> None:
    # broadcast 0-1; worker1 ready at 2 uploads 2-4; worker0 ready at 3 waits for the channel,
    # uploads 4-6; decodes 4-4.5 and 6-7; aggregate 7-7.1. Critical path: broadcast 1, compute of
    # worker1 1, uploads 2 + 2, decode wait 1, aggregate 0.1.
    rows = [(0, "server", "broadcast", 0, 1), (0, "worker0", "compute", 1, 3), (0, "worker1", "compute", 1, 2),
            (0, "worker1", "upload", 2, 4), (0, "worker0", "upload", 4, 6), (0, "server", "decode", 4, 4.5),
            (0, "server", "decode", 6, 7), (0, "server", "aggregate", 7, 7.1)]
    path = tmp_path / "timeline.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["round", "actor", "phase", "start", "end", "bits"])
        w.writerows([(*r, 0.0) for r in rows])
    (b,) = round_breakdown(path)
    assert b == pytest.approx({"broadcast": 1, "compute": 1, "upload": 4, "decode_wait": 1, "aggregate": 0.1,
                               "latency": 7.1})


def _run(tmp_path: Path, overrides: list[str]) -> Path:
    rs = load_scenario(QUICKSTART, ["rounds=4", *overrides])
    return run_scenario(rs, tmp_path / "run", overwrite=True, progress=False).out_dir


@pytest.mark.parametrize("overrides", [["channel.access=tdma"], ["channel.access=fdma"],
                                       ["compression.scheme=dsc", "server.profile=edge_server_cpu"]])
def test_parts_sum_to_round_latency(tmp_path: Path, overrides) -> None:
    out = _run(tmp_path, overrides)
    parts = round_breakdown(out / "timeline.csv")
    with (out / "rounds.csv").open() as fh:
        lat = [float(r["latency_s"]) for r in csv.DictReader(fh)]
    assert len(parts) == len(lat) == 4
    for b, latency in zip(parts, lat):
        assert min(b[p] for p in PARTS) >= 0
        assert sum(b[p] for p in PARTS) == pytest.approx(latency, rel=1e-12, abs=1e-15)


def test_fast_decoder_wait_is_one_decode(tmp_path: Path) -> None:
    # DSC paper Sec. IV-E: when the decoder outpaces the uplink only the last decode adds delay
    out = _run(tmp_path, ["compression.scheme=dsc", "server.profile=edge_server_fa_asic"])
    parts = round_breakdown(out / "timeline.csv")
    with (out / "timeline.csv").open() as fh:
        decodes = [r for r in csv.DictReader(fh) if r["phase"] == "decode"]
    for r, b in enumerate(parts):
        last = max((d for d in decodes if int(d["round"]) == r), key=lambda d: float(d["end"]))
        assert b["decode_wait"] == pytest.approx(float(last["bits"]) / 588e9, rel=1e-6)


def test_decoder_change_moves_only_the_decode_wait() -> None:
    rep = whatif(QUICKSTART, ["server.profile=edge_server_cpu"], ["compression.scheme=dsc", "rounds=4"])
    d = rep["delta"]
    # same seed, same fading draws: everything before the server's decoder is unchanged
    for key in ("broadcast_s", "compute_s", "upload_s", "bits_per_round", "energy_compute_per_round_j",
                "energy_transmit_per_round_j", "energy_receive_per_round_j"):
        assert abs(d[key]) <= 1e-12 * max(1.0, abs(rep["baseline"][key])), key
    assert d["energy_idle_per_round_j"] > 0  # workers idle while the slow decoder finishes the round
    assert d["decode_wait_s"] > 0
    assert d["latency_mean_s"] == pytest.approx(d["decode_wait_s"], rel=1e-9)
    # the CPU decoder (3 Mbit/s) is slower than the uplink: the wait is more than one decode
    assert rep["changed"]["decode_wait_s"] > 100 * rep["baseline"]["decode_wait_s"]


def test_bandwidth_change_shows_in_uploads() -> None:
    rep = whatif(QUICKSTART, ["channel.uplink_bandwidth_hz=5.0e6"], ["rounds=3"])
    assert rep["delta"]["upload_s"] > 0 and rep["delta"]["broadcast_s"] == 0
    assert rep["delta"]["bits_per_round"] == 0  # signSGD sends 1 bit per parameter either way


def test_cli_json_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["whatif", str(QUICKSTART), "--base", "rounds=2", "--set", "workers.count=5", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["changes"] == ["workers.count=5"] and rep["seed"] == 1
    assert np.isfinite(rep["delta"]["latency_mean_s"])
    res = runner.invoke(app, ["whatif", str(QUICKSTART), "--set", "seed=3"])
    assert res.exit_code == 2 and "same fading draws" in res.output
    res = runner.invoke(app, ["whatif", str(QUICKSTART), "--set", "channel.uplink_bandwidth_hz=-1"])
    assert res.exit_code == 2 and "channel.uplink_bandwidth_hz" in res.output
    res = runner.invoke(app, ["whatif", str(QUICKSTART), "--base", "rounds=2", "--set", "workers.count=5"])
    assert res.exit_code == 0 and "decode wait" in res.output and "upload" in res.output


def test_model_scenario_reports_accuracy() -> None:
    rep = whatif(ROOT / "scenarios" / "digits_mlp.yaml", ["compression.scheme=signsgd"],
                 ["rounds=2", "model.eval_every=1"])
    for key in ("final_test_accuracy", "final_train_loss"):
        assert 0 <= rep["baseline"][key] < np.inf and key in rep["delta"]
    assert rep["delta"]["bits_per_param"] < -30  # 32-bit floats -> about 1 bit per parameter
