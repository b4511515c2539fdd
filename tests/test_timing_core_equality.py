"""The vectorised path (edgefl.sim.fast_path over edgefl.sim.round_timing) against the SimPy
engine, the reference: identical rounds.csv and timeline.csv bytes on every shipped scenario and
on variants switching on each feature the engine has (NR HARQ, Gauss-Markov fading, channel and
device traces, batteries, partial participation, deadlines, DSC analytic and bit-true with
retries and feedback, P1 and equal allocation, TDMA and FDMA)."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario
from edgefl.sim.build import build_simulation

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
QUICK = ROOT / "scenarios" / "quickstart.yaml"
NR_CELL = ROOT / "scenarios" / "nr_cell.yaml"
SHORT = {"quickstart": ["gradients.params=2000", "rounds=3"], "nr_cell": ["rounds=6"],
         "partial_participation": ["rounds=4"]}

GM = ["channel.correlation.kind=gauss_markov", "channel.correlation.doppler_hz=5"]
NR = ["channel.link.model=nr"]
TRACES = ["workers.count=4", "channel.trace={file: channels/traces/example_snr.csv, wrap: true}",
          "workers.trace={file: devices/traces/example_availability.csv, wrap: true}"]
#: the single LDPCA ladder (default before issue 23), whose round 1 has the two retries the variants rely on
FEEDBACK = ["compression.scheme=dsc", "fidelity=bit-true", "gradients.params=4800", "compression.ldpca_ladder=single"]
#: quickstart variants (gradients.params=2000, rounds=3 unless overridden), one or more features each
VARIANTS: dict[str, list[str]] = {
    "tdma_index": ["upload_order=index", "workers.count=7"],
    "fdma": ["channel.access=fdma"],
    "fdma_block_upload": ["channel.access=fdma", "channel.correlation.kind=block_upload"],
    "no_fading_uncoded": ["channel.fading.model=none", "compression.scheme=none", "workers.compute_jitter=0"],
    "p1_tdma_dsc": ["compression.scheme=dsc", "rate_allocation.scheme=p1", "gradients.params=1200"],
    "p1_fdma_rd_ideal": ["channel.access=fdma", "compression.scheme=rd-ideal", "rate_allocation.scheme=p1",
                         "rate_allocation.target_distortion=0.2"],
    "p1_current_snr_block_upload": ["channel.access=fdma", "compression.scheme=rd-ideal", "rate_allocation.scheme=p1",
                                    "rate_allocation.target_distortion=0.2", "rate_allocation.snr=current",
                                    "channel.correlation.kind=block_upload"],
    "gauss_markov_tdma": GM,
    "gauss_markov_fdma_index": [*GM, "channel.access=fdma", "upload_order=index"],
    "nr_harq_tdma": [*NR, "rounds=4"],
    "nr_harq_fdma": [*NR, "channel.access=fdma", "rounds=4"],
    "nr_harq_gauss_markov_deadline": [*NR, *GM, "round_deadline_s=0.12", "rounds=4"],
    "nr_p1_fdma": [*NR, "channel.access=fdma", "compression.scheme=rd-ideal", "rate_allocation.scheme=p1",
                   "rate_allocation.target_distortion=0.2"],
    "traces_tdma": TRACES,
    "traces_fdma_nr": [*TRACES, *NR, "channel.access=fdma"],
    "partial_tdma": ["workers.count=12", "workers.per_round=5", "rounds=5"],
    "partial_fdma_deadline": ["workers.count=12", "workers.per_round=5", "rounds=5", "channel.access=fdma",
                              "round_deadline_s=0.1"],
    "deadline_tdma_none": ["round_deadline_s=0.08", "compression.scheme=none"],
    "deadline_fdma_gm": ["round_deadline_s=0.08", "channel.access=fdma", *GM],
    "deadline_dsc_successive": ["round_deadline_s=0.1", "compression.scheme=dsc", "gradients.params=1200"],
    "dsc_analytic_asic": ["compression.scheme=dsc", "server.profile=edge_server_sbf_asic"],
    "dsc_bit_true_fdma": ["compression.scheme=dsc", "fidelity=bit-true", "gradients.params=2400",
                          "channel.access=fdma", "rounds=2"],
    # round 1 asks for two retries: a feedback round (the server on the core's event loop)
    "dsc_bit_true_feedback": FEEDBACK,
    "dsc_bit_true_feedback_fdma_nr_gm": [*FEEDBACK, "channel.access=fdma", *NR, *GM],
    "dsc_bit_true_feedback_deadline": [*FEEDBACK, "round_deadline_s=0.3"],
    # late uploads and two retries in round 1; then a deadline that cuts round 1's retry on the air
    "dsc_bit_true_feedback_deadline_drops": [*FEEDBACK, "round_deadline_s=0.145"],
    "dsc_bit_true_feedback_deadline_mid_retry": [*FEEDBACK, "round_deadline_s=0.1402995"],
    "timing_only": ["output.timing_only=true", "workers.count=12", "workers.per_round=6"],
    "nr_fdma_deep_fades": [*NR, "channel.access=fdma", "workers.count=8", "rounds=6"],
}


def _run(path: Path, overrides: list[str], out: Path, engine: str):
    rs = load_scenario(path, ["output.plots=false", "output.timeline=true", *overrides])
    outcome = run_scenario(rs, out, engine=engine, progress=False)
    assert outcome.complete, outcome.error
    return outcome


def assert_same_outputs(tmp_path: Path, path: Path, overrides: list[str]) -> None:
    """SimPy run vs ``--engine auto`` run: the auto run takes the vectorised path and both
    write the same rounds.csv and timeline.csv bytes."""
    ref = _run(path, overrides, tmp_path / "simpy", "simpy")
    fast = _run(path, overrides, tmp_path / "fast", "auto")
    assert ref.summary["engine_path"] == "simpy"
    assert fast.summary["engine_path"] == "fast", fast.summary["fast_path_declined"]
    for name in ("rounds.csv", "timeline.csv"):
        a = (ref.out_dir / name).read_text()
        b = (fast.out_dir / name).read_text()
        assert a.count("\n") > 1 and a == b, f"{name} differs"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_match_simpy(tmp_path: Path, path: Path) -> None:
    assert_same_outputs(tmp_path, path, SHORT.get(path.stem, ["rounds=2"]))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_feature_variants_match_simpy(tmp_path: Path, name: str) -> None:
    assert_same_outputs(tmp_path, QUICK, ["gradients.params=2000", "rounds=3", *VARIANTS[name]])


@pytest.mark.parametrize("sets", [["channel.access=fdma"], []], ids=["fdma", "tdma"])
def test_nr_cell_variants_match_simpy(tmp_path: Path, sets: list[str]) -> None:
    """The NR cell (HARQ, channel and device traces, deadline, 10 of 100 per round) with drops."""
    assert_same_outputs(tmp_path, NR_CELL, ["rounds=5", "workers.per_round=20", *sets])


def test_nr_cell_with_workers_out_of_coverage_matches_simpy(tmp_path: Path) -> None:
    """A 400 m cell without traces: workers out of coverage are excluded from sampling."""
    assert_same_outputs(tmp_path, NR_CELL, ["rounds=4", "workers.placement.radius_m=400", "channel.trace=null",
                                            "workers.trace=null", "channel.out_of_coverage=exclude", *GM])


def test_feedback_rounds_and_late_uploads_really_happen(tmp_path: Path) -> None:
    """The variants exercise what they claim: DSC feedback retries, dropped uploads, lost uploads."""
    from edgefl.sweep.tables import read_rounds_columns

    fb = _run(QUICK, ["gradients.params=4800", "rounds=3", *VARIANTS["dsc_bit_true_feedback"]], tmp_path / "fb",
              "auto")
    assert "upload_retry" in (fb.out_dir / "timeline.csv").read_text()
    assert fb.summary["engine_path"] == "fast" and fb.summary["rounds_on_simpy"] == 0
    fb_dl = _run(QUICK, ["gradients.params=4800", "rounds=3", *VARIANTS["dsc_bit_true_feedback_deadline"]],
                 tmp_path / "fb_dl", "auto")
    assert "upload_retry" in (fb_dl.out_dir / "timeline.csv").read_text()
    assert fb_dl.summary["engine_path"] == "fast" and fb_dl.summary["rounds_on_simpy"] == 0
    cut = _run(QUICK, ["gradients.params=4800", "rounds=3", *VARIANTS["dsc_bit_true_feedback_deadline_mid_retry"]],
               tmp_path / "cut", "simpy")
    retry = [r for r in csv.DictReader(open(cut.out_dir / "timeline.csv")) if r["phase"] == "upload_retry"]
    start_1 = read_rounds_columns(cut.out_dir / "rounds.csv")["start_s"][1]
    assert len(retry) == 1 and float(retry[0]["end"]) == pytest.approx(start_1 + 0.1402995, abs=1e-12)
    dl = _run(QUICK, ["gradients.params=2000", "rounds=3", *VARIANTS["deadline_tdma_none"]], tmp_path / "dl", "auto")
    assert sum(read_rounds_columns(dl.out_dir / "rounds.csv")["dropped"]) > 0
    nr = _run(NR_CELL, ["rounds=5", "workers.per_round=20"], tmp_path / "nr", "auto")
    cols = read_rounds_columns(nr.out_dir / "rounds.csv")
    assert sum(cols["dropped"]) > 0 and nr.summary["engine_path"] == "fast"


def test_batteries_running_out_match_simpy() -> None:
    """Workers whose battery empties stop being sampled: both paths drop the same workers in the
    same rounds and play the same rounds after."""
    rs = load_scenario(QUICK, ["gradients.params=500", "rounds=6", "workers.count=6", "output.plots=false"])
    runs = []
    for engine in ("simpy", "fast"):
        sim = build_simulation(rs, engine)
        en = sim.net.energy
        cap = np.array([1e9, 0.05, 1e9, 0.1, 1e9, 1e9])  # J: workers 1 and 3 run out after a round or two
        sim.net = dataclasses.replace(sim.net, energy=dataclasses.replace(en, battery_capacity_j=cap))
        sim.energy = sim.net.energy
        from edgefl.energy import Batteries

        sim.batteries = Batteries(cap)
        sim.run()
        runs.append(sim)
    ref, fast = runs
    assert fast.engine_path == "fast" and ref.engine_path == "simpy"
    assert sum(r.battery_dropouts for r in ref.rounds) == 2
    assert ref.rounds == fast.rounds
    assert ref.events == fast.events
