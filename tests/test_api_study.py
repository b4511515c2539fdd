"""``edgefl.sweep`` (issue 22): the study's tables as DataFrames equal study.csv and study.parquet,
figures carry units and display names, and a log axis' CI band stays inside the data range."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import edgefl
from edgefl.sweep.plots import line_plot_name, log_band
from edgefl.sweep.study import LinePlot

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"

STUDY = {
    "name": "api_study", "base": str(QUICKSTART), "set": ["rounds=2", "workers.count=3"],
    "axes": {"channel.uplink_bandwidth_hz": [5.0e6, 2.0e7], "compression.scheme": ["none", "signsgd"]},
    "seeds": 2, "metrics": {"latency_p95": "latency_s:p95", "energy": "worker_energy_j:mean"},
    "plots": [{"metric": "latency_p95", "x": "channel.uplink_bandwidth_hz", "lines": "compression.scheme",
               "logy": True}],
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> edgefl.StudyResult:
    return edgefl.sweep(STUDY, out=tmp_path_factory.mktemp("study") / "out", jobs=1)


def test_tables_equal_the_files(result: edgefl.StudyResult) -> None:
    out = result.out_dir
    assert result.report is not None and result.report.ran == 8 and result.report.failed == 0
    assert result.table.shape[0] == 8 and (result.table["status"] == "ok").all()
    pd.testing.assert_frame_equal(result.table, pd.read_csv(out / "study.csv", keep_default_na=False),
                                  check_dtype=False)
    parquet = pd.read_parquet(out / "study.parquet")  # pyarrow is in the test extra: always written here
    pd.testing.assert_frame_equal(result.table, parquet, check_dtype=False)
    summary = pd.read_csv(out / "study_summary.csv")
    pd.testing.assert_frame_equal(result.summary, summary, check_dtype=False)
    # the summary is the mean over seeds of the table (an independent groupby)
    mean = result.table.groupby("point")["latency_p95"].mean().to_numpy()
    np.testing.assert_allclose(result.summary["latency_p95_mean"].to_numpy(), mean, rtol=1e-12)


def test_study_figures_have_units_and_display_names(result: edgefl.StudyResult) -> None:
    fig = result.plot()  # the study file's first plot
    ax = fig.axes[0]
    assert ax.get_xlabel() == "uplink bandwidth [Hz]" and ax.get_ylabel() == "p95 round latency [s]"
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["uncoded", "signSGD"]
    assert legend.get_title().get_text() == "compression scheme"
    fig = result.plot("energy", x="compression.scheme", lines="channel.uplink_bandwidth_hz")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "mean worker energy per round [J]"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["uncoded", "signSGD"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["5 MHz", "20 MHz"]
    hm = result.plot("latency_p95", heatmap=("channel.uplink_bandwidth_hz", "compression.scheme"))
    assert hm.axes[-1].get_ylabel() == "p95 round latency [s]"  # the colour bar
    with pytest.raises(ValueError, match="metric must be one of"):
        result.plot("nope", x="compression.scheme")
    pngs = sorted(p.name for p in (result.out_dir / "plots").glob("*.png"))
    assert pngs == ["latency_p95_vs_uplink_bandwidth_hz_by_scheme.png"]


def test_short_plot_names() -> None:
    spec = LinePlot(metric="latency_p95", x="workers.placement.radius_m", lines="compression.scheme")
    assert line_plot_name(spec) == "latency_p95_vs_radius_m_by_scheme"


def test_log_band_is_clipped_to_the_data_range() -> None:
    y = np.array([1.0, 2.0, 4.0])
    lo = np.array([-0.5, 1.5, 3.0])  # a CI over two seeds reaching below zero
    hi = np.array([3.0, 2.5, 50.0])
    band_lo, band_hi, (bottom, top) = log_band(y, lo, hi)
    assert (bottom, top) == (1.0, 50.0)
    assert band_lo.tolist() == [1.0, 1.5, 3.0] and band_hi.tolist() == hi.tolist()
    assert (band_lo > 0).all() and (band_lo <= y).all() and (band_hi >= y).all()
    _, _, rng = log_band(np.array([math.nan]), np.array([-1.0]), np.array([0.0]))
    assert all(math.isnan(v) for v in rng)  # nothing positive to show


def test_log_axis_limits_follow_the_data(result: edgefl.StudyResult) -> None:
    ax = result.plot().axes[0]
    s = result.summary
    vals = np.concatenate([s[f"latency_p95_{k}"].to_numpy() for k in ("mean", "ci95_low", "ci95_high")])
    pos = vals[np.isfinite(vals) & (vals > 0)]
    assert ax.get_ylim() == pytest.approx((pos.min() / 1.15, pos.max() * 1.15))  # a margin around the data
