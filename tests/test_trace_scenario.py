"""channel.trace in a scenario: the environment replays the trace's SNRs exactly at the sample
times (full band; a sub-band scales by B_ul/B), path gains go through the link budget, and a
missing worker or a time past the trace is a clear scenario error."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sim.build import build_simulation, radio_environment

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "quickstart.yaml"
SNR = "channels/traces/example_snr.csv"
GAIN = "channels/traces/example_path_gain.csv"


def _rows(rel):
    lines = [ln for ln in (ROOT / rel).read_text().splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(lines))


def test_environment_replays_trace_snrs_at_sample_times():
    rs = load_scenario(QUICK, [f"channel.trace={SNR}", "workers.count=4"])
    radio = radio_environment(rs)
    bw = rs.scenario.channel.uplink_bandwidth_hz
    for r in _rows(SNR):
        k, t, snr_db = int(r["worker"]), float(r["time_s"]), float(r["snr_db"])
        assert 10 * math.log10(radio.uplink_snr(k, t, 0, bw)) == pytest.approx(snr_db, abs=1e-9)
        # a quarter of the band: same power over a quarter of the noise
        assert 10 * math.log10(radio.uplink_snr(k, t, 0, bw / 4)) == pytest.approx(snr_db + 10 * math.log10(4),
                                                                                   abs=1e-9)
    # the planner's mean SNR is the worker's average trace SNR in dB
    mean = [np.mean([float(r["snr_db"]) for r in _rows(SNR) if int(r["worker"]) == k]) for k in range(4)]
    np.testing.assert_allclose(radio.mean_uplink_snr_db(bw), mean, atol=1e-9)


def test_path_gain_trace_goes_through_the_link_budget():
    rs = load_scenario(QUICK, [f"channel.trace={{file: {GAIN}, interpolation: previous}}", "workers.count=3"])
    radio = radio_environment(rs)
    ch = rs.scenario.channel
    bw = ch.uplink_bandwidth_hz
    noise = -174 + 10 * math.log10(bw) + ch.noise_figure_db
    tx = rs.worker_devices[0].tx_power_dbm
    for r in _rows(GAIN):
        k, t, g = int(r["worker"]), float(r["time_s"]), float(r["path_gain_db"])
        assert 10 * math.log10(radio.uplink_snr(k, t, 0, bw)) == pytest.approx(tx + g - noise, abs=1e-9)


def test_trace_scenario_runs_and_is_deterministic():
    sets = [f"channel.trace={SNR}", "workers.count=4", "rounds=3", "gradients.params=2000",
            "channel.link.model=nr"]
    a, b = build_simulation(load_scenario(QUICK, sets)), build_simulation(load_scenario(QUICK, sets))
    a.run()
    b.run()
    assert [r["latency_s"] for r in a.rounds] == [r["latency_s"] for r in b.rounds]


def test_worker_outside_the_trace_is_a_scenario_error():
    rs = load_scenario(QUICK, [f"channel.trace={SNR}", "workers.count=6"])
    with pytest.raises(ScenarioError, match=r"channel\.trace.*no rows for worker\(s\) \[4, 5\]"):
        radio_environment(rs)


def test_time_past_the_trace_names_its_rows_unless_wrapped():
    rs = load_scenario(QUICK, [f"channel.trace={SNR}", "workers.count=4"])
    radio = radio_environment(rs)
    with pytest.raises(ValueError, match=r"time 12 s is outside the trace of worker 0.*lines 6-25"):
        radio.uplink_snr(0, 12.0, 0, 1e6)
    rs = load_scenario(QUICK, [f"channel.trace={{file: {SNR}, wrap: true}}", "workers.count=4"])
    radio = radio_environment(rs)
    assert radio.uplink_snr(0, 10.0 + 0.5, 0, 2e7) == pytest.approx(radio.uplink_snr(0, 0.5, 0, 2e7), rel=1e-12)


def test_missing_trace_file_is_a_scenario_error():
    rs = load_scenario(QUICK, ["channel.trace=nope.csv"])
    with pytest.raises(ScenarioError, match=r"channel\.trace.*'nope\.csv' not found"):
        radio_environment(rs)
