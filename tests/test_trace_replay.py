"""Channel and device traces: exact replay at sample times, interpolation, wrap, clear errors."""

import csv
from pathlib import Path

import numpy as np
import pytest

from edgefl.device_trace import DeviceTrace
from edgefl.radio.trace import ChannelTrace
from edgefl.trace_table import TraceError

ROOT = Path(__file__).resolve().parents[1]
SNR_TRACE = ROOT / "channels" / "traces" / "example_snr.csv"
GAIN_TRACE = ROOT / "channels" / "traces" / "example_path_gain.csv"
DEVICE_TRACE = ROOT / "devices" / "traces" / "example_availability.csv"


def _rows(path):
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(lines))


@pytest.mark.parametrize("path", [SNR_TRACE, GAIN_TRACE])
@pytest.mark.parametrize("interpolation", ["linear", "previous"])
@pytest.mark.parametrize("wrap", [False, True])
def test_replay_reproduces_every_sample_exactly(path, interpolation, wrap):
    rows = _rows(path)
    workers = {int(r["worker"]) for r in rows}
    tr = ChannelTrace.read(path, len(workers), interpolation, wrap)
    col = tr.kind
    for r in rows:
        assert tr.value_db(int(r["worker"]), float(r["time_s"])) == float(r[col])


def _write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_linear_and_previous_between_samples_and_wrap_period(tmp_path):
    p = _write(tmp_path, "time_s,worker,snr_db\n0,0,0\n1,0,10\n2,0,4\n")
    lin = ChannelTrace.read(p, 1, "linear")
    prev = ChannelTrace.read(p, 1, "previous")
    assert lin.value_db(0, 0.25) == pytest.approx(2.5)
    assert lin.value_db(0, 1.5) == pytest.approx(7.0)
    assert prev.value_db(0, 1.5) == 10.0
    wrapped = ChannelTrace.read(p, 1, "linear", wrap=True)  # period 3 s: 2 -> 3 runs from 4 back to 0
    assert wrapped.value_db(0, 2.5) == pytest.approx(2.0)
    assert wrapped.value_db(0, 3.25) == pytest.approx(2.5)
    assert wrapped.value_db(0, 3 * 7 + 1.0) == pytest.approx(10.0)


def test_time_outside_the_trace_names_the_rows(tmp_path):
    p = _write(tmp_path, "# comment\ntime_s,worker,snr_db\n0,0,1\n0,1,2\n5,0,3\n5,1,4\n")
    tr = ChannelTrace.read(p, 2)
    with pytest.raises(TraceError, match=r"time 6 s is outside the trace of worker 1.*\[0, 5\].*lines 4-6"):
        tr.value_db(1, 6.0)


def test_worker_outside_the_trace_is_an_error(tmp_path):
    p = _write(tmp_path, "time_s,worker,snr_db\n0,0,1\n0,1,2\n")
    with pytest.raises(TraceError, match=r"no rows for worker\(s\) \[2, 3\]"):
        ChannelTrace.read(p, 4)
    with pytest.raises(TraceError, match="worker 9 has no rows"):
        ChannelTrace.read(p, 2).value_db(9, 0.0)


@pytest.mark.parametrize("text, match", [
    ("time_s,worker,snr\n0,0,1\n", r"t.csv:1: header.*unknown \['snr'\]"),
    ("time_s,snr_db\n0,1\n", r"missing \['worker'\]"),
    ("time_s,worker,snr_db\n0,0,abc\n", r"t.csv:2: non-numeric"),
    ("time_s,worker,snr_db\n0,0,1\n1,0\n", r"t.csv:3: 2 fields, the header has 3"),
    ("time_s,worker,snr_db\n0,0,1\n1,0,2\n1,0,3\n", r"t.csv:4: time_s 1 of worker 0 is not after.*line 3"),
    ("time_s,worker,snr_db\n-1,0,1\n", r"t.csv:2: time_s must be finite and >= 0"),
    ("time_s,worker,snr_db\n0,1.5,1\n", r"t.csv:2: worker must be an integer"),
    ("time_s,worker,path_gain_db\n0,0,12\n", r"t.csv:2: path_gain_db must be finite in \[-300, 0\]"),
    ("time_s,worker,snr_db,path_gain_db\n0,0,1,-90\n", r"exactly one of"),
    ("# only a comment\n", r"empty trace"),
])
def test_malformed_trace_is_a_clear_error(tmp_path, text, match):
    with pytest.raises(TraceError, match=match):
        ChannelTrace.read(_write(tmp_path, text), 1)


def test_snr_trace_gain_is_reciprocal_link_budget():
    tr = ChannelTrace.read(SNR_TRACE, 4)
    snr = tr.value_db(2, 1.0)
    g = tr.gain_db(2, 1.0, worker_tx_dbm=23.0, uplink_noise_full_band_dbm=-100.0)
    assert 23.0 + g - (-100.0) == pytest.approx(snr)  # uplink SNR over the full band is the trace


def test_device_trace_holds_state_and_finds_the_next_window():
    tr = DeviceTrace.read(DEVICE_TRACE, 4)
    assert tr.speed_factor(0, 29.9) == 1.0 and tr.speed_factor(0, 30.0) == 0.5
    assert tr.available(1, 10.0) and not tr.available(1, 20.0) and tr.available(1, 45.0)
    assert tr.next_available(1, 25.0) == 40.0
    assert tr.next_available(2, 0.0) == 10.0
    assert tr.next_available(3, 50.0) == np.inf
    wrapped = DeviceTrace.read(DEVICE_TRACE, 4, wrap=True)  # worker 3: period 60 + 10 s, on again at 70
    assert wrapped.next_available(3, 60.0) == 70.0
    assert wrapped.next_available(3, 130.0) == 140.0
    with pytest.raises(TraceError, match="outside the trace of worker 3"):
        tr.available(3, 61.0)


def test_device_trace_rejects_fractional_availability(tmp_path):
    p = _write(tmp_path, "time_s,worker,available\n0,0,0.5\n")
    with pytest.raises(TraceError, match=r"t.csv:2: available must be 0 or 1"):
        DeviceTrace.read(p, 1)
