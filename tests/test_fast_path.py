"""The vectorised path (edgefl.sim.fast_path): timeline off, what it declines, a link with its
own upload process, the radio's many-worker SNR call, the CLI flag. Its equality with the SimPy
engine on every shipped scenario and feature is tests/test_timing_core_equality.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario
from edgefl.sim.build import build_simulation
from toy_link import LossyLink

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "quickstart.yaml"
GM = ["channel.correlation.kind=gauss_markov", "channel.correlation.doppler_hz=5"]


def _run(path: Path, overrides: list[str], out: Path, engine: str):
    rs = load_scenario(path, ["output.plots=false", "output.timeline=true", *overrides])
    return run_scenario(rs, out, engine=engine, progress=False)


def test_timeline_off_keeps_no_events_and_same_rounds(tmp_path: Path) -> None:
    on = _run(QUICK, ["gradients.params=500", "rounds=2"], tmp_path / "on", "auto")
    off = _run(QUICK, ["gradients.params=500", "rounds=2", "output.timeline=false"], tmp_path / "off", "auto")
    assert (on.out_dir / "rounds.csv").read_bytes() == (off.out_dir / "rounds.csv").read_bytes()
    sim = build_simulation(load_scenario(QUICK, ["gradients.params=500", "rounds=2", "output.timeline=false"]))
    sim.run()
    assert sim.events == [] and len(sim.rounds) == 2


def test_declines_an_unknown_engine_option_and_a_queue_it_cannot_replay() -> None:
    """Everything the engine offers today takes the vectorised path (tests/test_timing_core_equality.py);
    what it declines is an engine option it does not know and a shared band of capacity > 1 read
    attempt by attempt."""
    from edgefl.radio.access import AccessScheme
    from edgefl.sim.fast_path import fast_path_problems
    from edgefl.sim.network import SimOptions

    rs = load_scenario(QUICK, ["gradients.params=200", "rounds=1", *GM])
    sim = build_simulation(rs)
    assert sim.engine_path == "fast" and sim.fast_path_declined == []

    @dataclasses.dataclass
    class Options(SimOptions):
        warp: float = 0.0

    assert any("warp" in p for p in fast_path_problems(sim.net, Options(rounds=1, warp=2.0)))
    assert fast_path_problems(sim.net, Options(rounds=1)) == []

    class TwoAtOnce(AccessScheme):
        name, capacity = "two", 2

        def shares(self, bits, rule=None):
            return np.ones(len(bits))

        def serve(self, requested, airtime, order):
            raise NotImplementedError

        def ideal_upload(self, bits, alpha, bandwidth_hz):
            raise NotImplementedError

    two = dataclasses.replace(sim.net, access=TwoAtOnce())
    assert any("capacity 2" in p for p in fast_path_problems(two, sim.opt))
    # block fading, no deadline: the scheme's own closed-form queue (serve) applies
    assert fast_path_problems(dataclasses.replace(two, snr_depends_on_time=False), sim.opt) == []
    # a link with its own upload process runs on the core's event loop, which serves any capacity
    assert fast_path_problems(dataclasses.replace(two, link=LossyLink(0.5, 1e-3)), sim.opt) == []


def test_retransmitting_link_takes_the_vectorised_path(tmp_path: Path) -> None:
    """A link with its own upload process (the test-only lossy link) is played by the core's event loop."""
    rs = load_scenario(QUICK, ["gradients.params=200", "rounds=3", "output.plots=false"])
    runs = []
    for engine in ("simpy", "fast"):
        sim = build_simulation(rs, engine)
        sim.net = dataclasses.replace(sim.net, link=LossyLink(0.5, 1e-3))
        sim.run()
        runs.append(sim)
    assert runs[0].rounds == runs[1].rounds and runs[0].events == runs[1].events
    assert sum(1 for e in runs[1].events if e.phase == "upload") > 3 * 10  # some attempts were lost and sent again


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
    assert res.exit_code == 0 and "engine path: fast" in res.output
    res = runner.invoke(app, [*base, "--engine", "warp"])
    assert res.exit_code == 2 and "auto, simpy, fast" in res.output


@pytest.mark.parametrize("sets", [[], ["channel.correlation.kind=gauss_markov", "channel.correlation.doppler_hz=5"]])
def test_downlink_snr_of_the_receivers_only(sets: list[str]) -> None:
    """Partial participation draws the downlink fading of the round's receivers only: each worker's
    stream is its own, so a worker listed every round sees the values the all-worker call gives it."""
    rs = load_scenario(QUICK, ["gradients.params=100", "workers.count=20", *sets])
    from edgefl.sim.build import radio_environment

    a, b = radio_environment(rs), radio_environment(rs)
    listed = np.array([1, 4, 5, 17])
    for r in range(4):
        np.testing.assert_array_equal(a.downlink_snr(0.1 * r, r, 1e7)[listed], b.downlink_snr(0.1 * r, r, 1e7, listed))
