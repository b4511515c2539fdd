"""The analytic fast path (edgefl.sim.fast_path) against the SimPy engine, the reference:
same rounds.csv bytes and the same timeline (to 1e-9 s, in fact identical) on every shipped
scenario that qualifies and on TDMA/FDMA/P1/DSC/jitter variants; and it declines what it
cannot replay."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from edgefl.runner import run_scenario
from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sim.build import build_simulation
from toy_link import LossyLink

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
QUICK = ROOT / "scenarios" / "quickstart.yaml"
SMALL = {"quickstart": ["gradients.params=2000", "rounds=3"], "digits_mlp": ["rounds=2"]}

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
    "dsc_bit_true_fdma": ["compression.scheme=dsc", "fidelity=bit-true", "gradients.params=2400",
                          "channel.access=fdma", "rounds=2"],
}


def _run(path: Path, overrides: list[str], out: Path, engine: str):
    rs = load_scenario(path, ["output.plots=false", "output.timeline=true", *overrides])
    return run_scenario(rs, out, engine=engine, progress=False)


def _timeline(path: Path) -> list[list[str]]:
    with open(path) as f:
        return list(csv.reader(f))


def _assert_same(tmp_path: Path, path: Path, overrides: list[str]) -> None:
    ref = _run(path, overrides, tmp_path / "simpy", "simpy")
    fast = _run(path, overrides, tmp_path / "fast", "auto")
    assert ref.summary["engine_path"] == "simpy"
    assert fast.summary["engine_path"] == "fast", fast.summary["fast_path_declined"]
    assert (ref.out_dir / "rounds.csv").read_bytes() == (fast.out_dir / "rounds.csv").read_bytes()
    a, b = _timeline(ref.out_dir / "timeline.csv"), _timeline(fast.out_dir / "timeline.csv")
    assert len(a) == len(b) and a[0] == b[0]
    for ra, rb in zip(a[1:], b[1:]):
        assert ra[:3] == rb[:3]
        np.testing.assert_allclose(np.array(ra[3:], float), np.array(rb[3:], float), rtol=0, atol=1e-9)
    assert a == b  # the same floating-point operations: identical, not only close


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_match_simpy(tmp_path: Path, path: Path) -> None:
    overrides = SMALL.get(path.stem, ["rounds=2"])
    sim = build_simulation(load_scenario(path, ["output.plots=false", *overrides]))
    if sim.engine_path == "simpy":  # declined: it must say why, and SimPy runs it
        assert sim.fast_path_declined
        pytest.skip(f"fast path declined: {'; '.join(sim.fast_path_declined)}")
    _assert_same(tmp_path, path, overrides)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variants_match_simpy(tmp_path: Path, name: str) -> None:
    _assert_same(tmp_path, QUICK, ["gradients.params=2000", "rounds=3", *VARIANTS[name]])


def test_timeline_off_keeps_no_events_and_same_rounds(tmp_path: Path) -> None:
    on = _run(QUICK, ["gradients.params=500", "rounds=2"], tmp_path / "on", "auto")
    off = _run(QUICK, ["gradients.params=500", "rounds=2", "output.timeline=false"], tmp_path / "off", "auto")
    assert (on.out_dir / "rounds.csv").read_bytes() == (off.out_dir / "rounds.csv").read_bytes()
    sim = build_simulation(load_scenario(QUICK, ["gradients.params=500", "rounds=2", "output.timeline=false"]))
    sim.run()
    assert sim.events == [] and len(sim.rounds) == 2


@pytest.mark.parametrize("overrides, reason", [
    (["channel.correlation.kind=gauss_markov", "channel.correlation.doppler_hz=5"], "gauss_markov"),
    (["workers.device=smartphone"], "battery_capacity_j"),  # workers can drop out mid-run
])
def test_declines_what_it_cannot_replay(overrides: list[str], reason: str) -> None:
    rs = load_scenario(QUICK, ["gradients.params=200", "rounds=1", *overrides])
    sim = build_simulation(rs)
    assert sim.engine_path == "simpy" and any(reason in p for p in sim.fast_path_declined)
    with pytest.raises(ScenarioError, match=reason):
        build_simulation(rs, "fast")


def test_declines_retransmitting_link_and_unknown_engine_option() -> None:
    from edgefl.sim.engine import SimOptions
    from edgefl.sim.fast_path import fast_path_problems

    rs = load_scenario(QUICK, ["gradients.params=200", "rounds=1"])
    sim = build_simulation(rs)
    net = sim.net
    lossy = type(net)(**{**net.__dict__, "link": LossyLink(0.5, 1e-3)})
    assert any("retransmissions" in p for p in fast_path_problems(rs, lossy, sim.opt))
    assert fast_path_problems(rs, net, sim.opt) == []
    assert fast_path_problems(rs, net, SimOptions(rounds=1, timeline=False)) == []


@pytest.mark.parametrize("kind, model", [("block_round", "rayleigh"), ("block_upload", "rician"),
                                         ("block_round", "nakagami"), ("block_round", "none"),
                                         ("gauss_markov", "rayleigh")])
def test_fading_bank_gives_each_worker_its_stream(kind: str, model: str) -> None:
    """FadingBank (all workers at once) against one FadingStream per worker, over more than one
    refill batch, with workers skipping rounds (no bits, no draw)."""
    from edgefl.radio.config import CorrelationConfig, FadingConfig
    from edgefl.radio.fading import FadingBank, FadingStream

    fad = FadingConfig(model=model, **({"k_factor_db": 3.0} if model == "rician" else {}),
                       **({"m": 2.0} if model == "nakagami" else {}))
    corr = CorrelationConfig(kind=kind, **({"doppler_hz": 5.0} if kind == "gauss_markov" else {}))
    seeds = [np.random.SeedSequence(3, spawn_key=(1, i)) for i in range(5)]
    bank = FadingBank(fad, corr, seeds)
    ref = [FadingStream(fad, corr, s) for s in seeds]
    rng = np.random.default_rng(0)
    for r in range(600):  # > 2 batches of 256
        workers = np.flatnonzero(rng.random(5) < 0.8)
        t = 0.01 * r
        # vector and scalar (the SimPy engine's) calls interleaved on the same state
        got = bank.gains(workers, t, r) if r % 3 else [bank.gain(int(w), t, r) for w in workers]
        want = [ref[w].gain(t, r) for w in workers]
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(bank.gains(workers, t, r), got if kind != "block_upload"
                                      else [ref[w].gain(t, r) for w in workers])
    if kind == "block_round" and model != "none":
        with pytest.raises(ValueError, match="must not decrease"):
            bank.gains(np.arange(5), 0.0, 3)


def test_uplink_snr_many_equals_uplink_snr() -> None:
    rs = load_scenario(QUICK, ["gradients.params=100", "workers.count=20"])
    from edgefl.sim.build import radio_environment

    a, b = radio_environment(rs), radio_environment(rs)
    bw = np.linspace(1e5, 2e7, 20)
    for r in range(3):
        many = a.uplink_snr_many(np.arange(20), 0.0, r, bw)
        assert many == [b.uplink_snr(w, 0.0, r, float(bw[w])) for w in range(20)]


def test_cli_run_engine_flag(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from edgefl.cli import app

    runner = CliRunner()
    base = ["run", str(QUICK), "--set", "gradients.params=100", "--set", "rounds=1", "--set", "output.plots=false"]
    res = runner.invoke(app, [*base, "-o", str(tmp_path / "a"), "--engine", "simpy"])
    assert res.exit_code == 0 and "engine path: simpy (forced SimPy)" in res.output
    res = runner.invoke(app, [*base, "-o", str(tmp_path / "b")])
    assert res.exit_code == 0 and "engine path: fast" in res.output
    res = runner.invoke(app, [*base, "-o", str(tmp_path / "c"), "--engine", "fast", "--set",
                              "channel.correlation.kind=gauss_markov", "--set", "channel.correlation.doppler_hz=5"])
    assert res.exit_code == 2 and "--engine" in res.output and "gauss_markov" in res.output
    res = runner.invoke(app, [*base, "--engine", "warp"])
    assert res.exit_code == 2 and "auto, simpy, fast" in res.output
