"""The batched NR upload kernel (edgefl.radio.nr_batch) against the per-upload HARQ processes on the
round-timing core's event loop (edgefl.sim.round_timing.link_uploads): the same attempts, ends, air
times and deliveries bit for bit on random rounds, and the radio's fading streams left in the same
state; plus its building blocks against numpy/scipy (keyed draws, J0)."""

from __future__ import annotations

import copy
import heapq
import zlib
import warnings
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from scipy.special import j0 as scipy_j0

from edgefl.radio.bessel_native import j0
from edgefl.radio.keyed_draws import KeyedDraws, entropy_prefix, next_double, seed_state
from edgefl.radio.nr_batch import _by_request_time, stable_order_by_row
from edgefl.scenario import load_scenario
from edgefl.sim import round_timing as rt
from edgefl.sim.build import build_simulation

ROOT = Path(__file__).resolve().parents[1]


def test_keyed_draws_are_numpys_doubles():
    rng = np.random.default_rng(7)
    for trial in range(60):
        entropy = int(rng.integers(0, 2**63)) * (2**40 if trial % 5 == 0 else 1)
        spawn = tuple(int(v) for v in rng.integers(0, 2**33, size=trial % 4))
        a, b, c = (int(v) for v in rng.integers(0, 2**32, size=3))
        ref = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(*spawn, a, b, c))).random(9)
        st = np.empty(4, dtype=np.uint64)
        seed_state(entropy_prefix(entropy, spawn), a, b, c, st)
        assert np.array_equal(ref, [next_double(st) for _ in range(9)])


@njit
def _j0_many(x):
    out = np.empty(x.size)
    for i in range(x.size):
        out[i] = j0(x[i])
    return out


def test_first_requests_leave_in_the_heaps_order():
    """The kernel's sorted list of first requests pops them as a heap of (time, position in order) does."""
    rng = np.random.default_rng(5)
    for n in (0, 1, 2, 7, 50, 400):
        for sorted_times in (False, True):
            requested = rng.choice([0.0, 1e-3, 2e-3], size=n) + rng.choice([0.0, 1.0], size=n) * rng.random(n)
            order = rng.permutation(n)
            if sorted_times:
                order = order[np.argsort(requested[order], kind="stable")]
            heap = [(requested[w], j, w) for j, w in enumerate(order.tolist())]
            heapq.heapify(heap)
            ref = [heapq.heappop(heap)[2] for _ in range(n)]
            assert _by_request_time(requested, order.astype(np.int64)).tolist() == ref


def test_attempts_by_row_is_a_stable_argsort():
    rng = np.random.default_rng(8)
    for n, k in ((0, 1), (1, 1), (30, 3), (2000, 1000), (500, 7)):
        row = rng.integers(0, k, size=n)
        assert np.array_equal(stable_order_by_row(row, k), np.argsort(row, kind="stable"))


def test_compiled_j0_is_scipys():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.exponential(1e-2, 2000), rng.uniform(0, 12, 2000), rng.uniform(0, 3e3, 2000)])
    assert np.array_equal(_j0_many(x), scipy_j0(x))


CASES = {  # quickstart variants: fading, access, HARQ and message sizes that exercise every branch
    "gm_rayleigh_tdma_deadline": ["channel.correlation.kind=gauss_markov", "channel.correlation.doppler_hz=40"],
    "gm_rician_fdma": ["channel.correlation.kind=gauss_markov", "channel.correlation.doppler_hz=5",
                       "channel.fading={model: rician, k_factor_db: 3}", "channel.access=fdma"],
    "block_round_chase_tdma": ["channel.link={model: nr, harq: chase, max_harq: 2, max_rlc_retx: 1}"],
    "no_fading_fdma": ["channel.fading={model: none}", "channel.access=fdma"],
}


def _radio_and_net(sets: list[str]):
    rs = load_scenario(ROOT / "scenarios" / "quickstart.yaml",
                       ["workers.count=40", "channel.link.model=nr", "output.plots=false", *sets])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = build_simulation(rs, "fast")
    return sim.net.uplink_snr.__self__, sim.net


@pytest.mark.parametrize("name", sorted(CASES))
def test_batched_nr_uploads_equal_the_processes(name: str, monkeypatch):
    monkeypatch.setattr(rt, "BATCHED_FROM_ROWS", 1)
    radio0, net = _radio_and_net(CASES[name])
    seed = np.random.SeedSequence(11, spawn_key=(2,))
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    tb = float(net.link.cfg.transport_block_bits)
    k = 40
    attempts = retx = 0
    for r in range(6):  # rounds on the same radio: the streams carry over
        sel = np.sort(rng.choice(radio0.n_workers, size=k, replace=False)) if r % 2 else np.arange(k)
        bits = rng.choice([0.0, 1.0, 0.5 * tb, tb, 3 * tb + 17.25, 12 * tb + 0.125], size=k)
        requested = 100.0 * r + rng.uniform(0, 2e-3, size=k)
        requested[rng.random(k) < 0.3] = 100.0 * r + 1e-3  # ties
        # upload order by completion, or by index (FDMA: request times out of order, ties among them)
        order = np.argsort(requested, kind="stable") if r % 3 else rng.permutation(k)
        requested = net.access.request_times(requested, order)
        share = np.full(k, 1.0 / k) if net.access.capacity is None else np.ones(k)
        bw = rng.choice([0.2e6, 2e6, 40e6]) * share  # from deep fades below MCS 0 to easy
        deadline = None if r == 0 else 100.0 * r + float(rng.choice([1e-3, 5e-3, 0.05]))
        radio_a, radio_b = copy.deepcopy(radio0), copy.deepcopy(radio0)
        snr_at = [rt.snr_reader(radio_a.uplink_snr, int(w), r, float(b), deadline) for w, b in zip(sel, bw)]
        rngs = [rt.keyed_link_rng(seed, r, int(w), 0) for w in sel]
        ref = rt.link_uploads(net.access, net.link, requested, order, bits, bw, snr_at, rngs, deadline)
        got = rt.batched_link_uploads(net.access, net.link, requested, order, bits, bw,
                                      lambda reads: radio_b.uplink_snr_batch(sel, r, bw, reads),
                                      lambda: KeyedDraws.of(seed, r, sel, 0), deadline)
        assert got is not None
        for f in ("end", "airtime", "delivered", "attempt_row", "attempt_start", "attempt_end", "attempt_bits"):
            assert np.array_equal(getattr(ref, f), getattr(got, f)), (name, r, f)
        attempts += ref.attempt_row.size
        retx += int(np.sum(np.bincount(ref.attempt_row, minlength=k) > 1))
        # the streams were left where the processes left them: the next reads agree
        t_next = 100.0 * r + 60.0  # after every upload of the round
        for w in range(radio0.n_workers):
            assert radio_a.uplink_snr(w, t_next, r, 1e6) == radio_b.uplink_snr(w, t_next, r, 1e6)
        radio0 = radio_a
    assert attempts > k and retx > 0  # uploads took place, with retransmissions


def test_small_rounds_and_traces_keep_the_processes(monkeypatch):
    """Below BATCHED_FROM_ROWS, and for a radio that cannot hand its SNRs over, no batch."""
    radio, net = _radio_and_net(CASES["gm_rayleigh_tdma_deadline"])
    k = 3
    args = (net.access, net.link, np.zeros(k), np.arange(k), np.full(k, 100.0), np.full(k, 1e6))
    draws = lambda: KeyedDraws.of(np.random.SeedSequence(1), 0, np.arange(k), 0)  # noqa: E731
    snr = lambda reads: radio.uplink_snr_batch(np.arange(k), 0, np.full(k, 1e6), reads)  # noqa: E731
    assert rt.batched_link_uploads(*args, snr, draws, None) is None
    monkeypatch.setattr(rt, "BATCHED_FROM_ROWS", 1)
    assert rt.batched_link_uploads(*args, snr, draws, None) is not None
    assert rt.batched_link_uploads(*args, lambda reads: None, draws, None) is None
