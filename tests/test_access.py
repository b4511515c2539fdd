"""Access schemes behind one interface (edgefl.radio.access): the registry matches the schema,
TDMA's closed-form queue against the reference recursion, FDMA's shares, the RD-paper upload
figures against edgefl.theory, and a new scheme is one class plus one registry entry that the
SimPy engine and the round-timing core both play the same way."""

from __future__ import annotations

import typing

import numpy as np
import pytest
from pipeline_reference import serial_pipeline
from toy_link import LossyLink

from edgefl import theory as th
from edgefl.compress.base import CompressionResult, Compressor
from edgefl.radio import access_registry
from edgefl.radio.access import AccessScheme
from edgefl.radio.access_registry import ACCESS_SCHEMES, make_access
from edgefl.radio.config import ChannelConfig
from edgefl.sim.ceo_source import GaussianCEOSource
from edgefl.sim.engine import Simulation
from edgefl.sim.fast_path import FastSimulation
from edgefl.sim.network import Network, SimOptions


def test_registry_names_are_the_schema_values() -> None:
    values = typing.get_args(ChannelConfig.model_fields["access"].annotation)
    assert sorted(values) == sorted(ACCESS_SCHEMES)
    for name in ACCESS_SCHEMES:
        assert make_access(name).name == name
    with pytest.raises(ValueError, match="access must be one of"):
        make_access("cdma")


def test_tdma_serves_in_order_fdma_in_parallel() -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        k = int(rng.integers(1, 12))
        ready, air = rng.random(k), rng.random(k) * 0.3
        order = rng.permutation(k)
        tdma, fdma = make_access("tdma"), make_access("fdma")
        want, _, _ = serial_pipeline(ready, order, air, np.zeros(k))
        np.testing.assert_array_equal(tdma.serve(ready, air, order), want)
        np.testing.assert_array_equal(fdma.serve(ready, air, order), ready)
        # a shared band: worker order[i] asks once order[i-1] has asked
        asked = tdma.request_times(ready, order)
        np.testing.assert_array_equal(asked[order], np.maximum.accumulate(ready[order]))
        np.testing.assert_array_equal(fdma.request_times(ready, order), ready)
        np.testing.assert_array_equal(tdma.shares(np.ones(k)), np.ones(k))
        np.testing.assert_allclose(fdma.shares(np.ones(k)), np.full(k, 1 / k), rtol=0, atol=0)
        np.testing.assert_array_equal(fdma.shares(np.ones(k), lambda b: b / b.sum()), np.ones(k) / k)


def test_ideal_upload_is_the_rd_paper_linear_cost() -> None:
    bits, alpha = np.array([1e5, 2e5, 5e4]), np.array([0.2, 0.1, 0.4])
    air, lat, key = make_access("tdma").ideal_upload(bits, alpha, 1e6)
    assert key == "airtime_s" and lat == pytest.approx(float(np.sum(alpha * bits)) / 1e6, rel=1e-14)
    np.testing.assert_allclose(air, th.tdma_airtime(bits, alpha, 1e6), rtol=0)
    band, lat_f, key_f = make_access("fdma").ideal_upload(bits, alpha, 1e6)
    assert key_f == "bandwidth_hz" and lat_f == pytest.approx(lat, rel=1e-14)  # all end together
    np.testing.assert_allclose(band.sum(), 1e6, rtol=1e-14)


class Pairs(AccessScheme):
    """Two uploads at once on halves of the band (a stand-in for a resource-block scheme)."""

    name, capacity = "pairs", 2

    def shares(self, bits, rule=None):
        return np.full(np.asarray(bits).shape[0], 0.5)

    def ideal_upload(self, bits, alpha, bandwidth_hz):
        raise NotImplementedError

    def serve(self, requested, airtime, order):  # first come first served on two servers
        free = [-np.inf, -np.inf]
        start = np.empty(len(requested))
        for w in order:
            j = int(np.argmin(free))
            start[w] = max(requested[w], free[j])
            free[j] = start[w] + airtime[w]
        return start


class FixedBits(Compressor):
    name = "fixed"

    def compress(self, grads, order, ctx) -> CompressionResult:
        k = grads.shape[0]
        return CompressionResult(np.full(k, 2e4), np.zeros(k), grads.mean(axis=0))


def test_new_scheme_is_one_class_plus_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(access_registry.ACCESS_SCHEMES, "pairs", Pairs)
    k = 5
    runs = []
    for cls in (Simulation, FastSimulation):
        net = Network(num_workers=k, worker_flops=np.full(k, 1e9), worker_compute_power_w=np.ones(k),
                      worker_radio_power_w=np.ones(k), server_flops=1e12, decoder_bps=1e9, uplink_bandwidth_hz=1e6,
                      access="pairs", uplink_snr=lambda w, t, r, bw: 3.0, downlink_rate=lambda t, r: 1e7,
                      link=LossyLink(loss=0.4, feedback_s=1e-3), snr_depends_on_time=False)
        sim = cls(net, GaussianCEOSource(k, 10, 1.0, 1.0, 1e6, seed=0), FixedBits(), SimOptions(rounds=3), 2)
        sim.run()
        runs.append(sim)
    ref, fast = runs
    assert isinstance(ref.net.access, Pairs) and fast.engine_path == "fast"
    assert ref.events == fast.events and ref.rounds == fast.rounds
    ups = sorted((e for e in ref.events if e.phase == "upload"), key=lambda e: e.start)
    # never more than two uploads on the air at once, and sometimes two
    edges = sorted([(e.start, 1) for e in ups] + [(e.end, -1) for e in ups], key=lambda x: (x[0], x[1]))
    on_air = np.cumsum([d for _, d in edges])
    assert on_air.max() == 2
