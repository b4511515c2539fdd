"""The compressor interface: encode and server costs become timeline intervals, downlink_bits
sets the next broadcast, RoundContext.workers names the rows, and a new scheme is one file
(tests/toy_scheme.py) plus one registry line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from pydantic import TypeAdapter
from toy_scheme import Half16, Half16Config

from edgefl.compress import registry
from edgefl.compress.base import Compressor
from edgefl.scenario import load_scenario
from edgefl.sim.build import build_simulation

QUICK = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
P = 2000


def test_default_costs_are_zero() -> None:
    class Bare(Compressor):
        def compress(self, grads, order, ctx):
            raise NotImplementedError

    assert Bare().encode_flops(10) == 0.0 and Bare().server_flops(3, 10) == 0.0


def test_new_scheme_is_one_file_plus_one_registry_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.SCHEMES, "half16", (Half16Config, Half16))  # the one line
    cfg = TypeAdapter(registry.compression_config_type()).validate_python({"scheme": "half16"})
    rs = load_scenario(QUICK, [f"gradients.params={P}", "rounds=3", "workers.compute_jitter=0"])
    rs = dataclasses.replace(rs, scenario=rs.scenario.model_copy(update={"compression": cfg}))
    sim = build_simulation(rs)
    assert isinstance(sim.compressor, Half16)
    sim.run()
    flops = rs.worker_devices[0].flops_per_s
    for r in range(3):
        ev = [e for e in sim.events if e.round == r]
        enc = [e for e in ev if e.phase == "encode"]
        assert len(enc) == 10 and all(e.end - e.start == pytest.approx(P / flops, rel=1e-12) for e in enc)
        (rc,) = [e for e in ev if e.phase == "rate_control"]
        assert rc.end - rc.start == pytest.approx(1e9 / rs.server_profile.flops_per_s, rel=1e-12)
        (bc,) = [e for e in ev if e.phase == "broadcast"]
        # round t broadcasts what round t-1 announced; round 0 the float32 model
        assert bc.bits == (32.0 if r == 0 else 16.0) * P
        assert sim.rounds[r]["downlink_bits"] == bc.bits
        # the workers encode once they have the model, their gradient and the server's rates
        comp = {e.actor: e for e in ev if e.phase == "compute"}
        for e in enc:
            assert e.start == pytest.approx(max(comp[e.actor].end, rc.end), rel=1e-12)
    np.testing.assert_array_equal(sim.compressor.seen_workers[0], np.arange(10))
