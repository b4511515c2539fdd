"""The round-timing core's pieces against independent references: the compiled loops against
their Python twins, the one-decode server pass against the general one, the deadline cut
against clip_at_deadline row by row, the event loop against hand-computed HARQ-like passes."""

from __future__ import annotations

import numpy as np
from numba import njit
import pytest

from edgefl.radio.access_registry import make_access
from edgefl.radio import access
from edgefl.radio.access import COMPILED_FROM_ROWS, run_python, run_sequential
from edgefl.radio.access_tdma import _serial_starts
from edgefl.radio.link import LinkModel, UploadOutcome
from edgefl.sim.participation import clip_at_deadline
from edgefl.sim.round_timing import (
    Uploads,
    _one_decode_pass,
    cut_at_deadline,
    link_uploads,
    one_decode_pass,
    server_pass,
)


def _case(rng: np.random.Generator, k: int):
    end = np.round(rng.random(k), 2)  # ties on purpose
    late = rng.random(k) < 0.2
    delivered = rng.random(k) < 0.85
    dbits = np.where(rng.random(k) < 0.8, rng.integers(1, 1000, k).astype(float), 0.0)
    return rng.permutation(k), end, late, delivered, dbits


@pytest.mark.parametrize("seed", range(30))
def test_compiled_loops_equal_their_python_twins(seed: int) -> None:
    """Below COMPILED_FROM_ROWS the kernels' own Python source runs on lists: same numbers."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 40))
    order, end, late, delivered, dbits = _case(rng, k)
    assert k < COMPILED_FROM_ROWS  # run_sequential may take the Python source
    req, air = np.round(rng.random(k), 2), rng.random(k) * 0.1
    np.testing.assert_array_equal(_serial_starts(req, air, order), run_python(_serial_starts, req, air, order))
    dec = np.where(dbits > 0, dbits / 1e4, 0.0)
    for has_stop in (False, True):
        for successive in (False, True):
            args = (0.01, 0.5, has_stop, order, end, late, delivered, dec, successive)
            a, b = _one_decode_pass(*args), run_python(_one_decode_pass, *args)
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
            np.testing.assert_array_equal(a[2], b[2])
            assert a[3] == b[3]


def test_small_rounds_run_compiled_once_enough_rows_were_played(monkeypatch) -> None:
    """Small rounds play the kernel's Python source until it has played COMPILED_AFTER_ROWS rows in the process
    (or the kernel was compiled), then the compiled kernel; the numbers are the same either way."""
    @njit
    def kernel(x):
        s = 0.0
        for v in x:
            s = s * 0.5 + v
        return s

    monkeypatch.setattr(access, "COMPILED_AFTER_ROWS", 25)
    x = np.random.default_rng(4).random(10)
    ref = kernel.py_func(x.tolist())
    for _ in range(2):
        assert run_sequential(kernel, x.size, x) == ref and not kernel.signatures  # 10, 20 rows: Python
    assert run_sequential(kernel, x.size, x) == ref and kernel.signatures  # 30 > 25: compiled
    assert run_sequential(kernel, x.size, x) == ref


@pytest.mark.parametrize("seed", range(30))
def test_one_decode_pass_is_the_general_server_pass(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(1, 30))
    order, end, late, delivered, dbits = _case(rng, k)
    for deadline in (None, 0.5):
        for successive in (False, True):
            steps = [[(b, b / 1e4)] if b > 0 else [] for b in dbits.tolist()]
            a = one_decode_pass(0.01, order, end, late, delivered, dbits, 1e4, successive, deadline, 0.003)
            b = server_pass(0.01, order, end, late, delivered, steps, successive, deadline, 0.003)
            assert a.decodes == b.decodes and np.array_equal(a.kept, b.kept)
            assert (a.aggregate_start, a.end) == (b.aggregate_start, b.end)


def test_server_pass_hand_case() -> None:
    """Decoding order 2, 0, 1; upload 0 ends after the deadline 0.5 (t0 = 0): the server decodes 2
    (ends 0.2, decode 0.1 s), waits for 0 until the deadline, cuts; successive keeps [2] only,
    a scheme without side information also decodes 1 (ended 0.3, on time)."""
    end = np.array([0.7, 0.3, 0.2])
    late = end > 0.5
    ok = np.ones(3, dtype=bool)
    steps = [[(10.0, 0.1)]] * 3
    succ = server_pass(0.0, np.array([2, 0, 1]), end, late, ok, steps, True, 0.5, 0.01)
    assert succ.kept.tolist() == [2] and succ.decodes == [(2, 0.2, 0.2 + 0.1, 10.0)]
    assert succ.aggregate_start == 0.5 and succ.end == 0.5 + 0.01
    plain = server_pass(0.0, np.array([2, 0, 1]), end, late, ok, steps, False, 0.5, 0.01)
    assert plain.kept.tolist() == [2, 1] and plain.decodes[1] == (1, 0.5, 0.5 + 0.1, 10.0)


def test_cut_at_deadline_is_clip_at_deadline_per_row() -> None:
    rng = np.random.default_rng(5)
    k = 40
    start = rng.random(k)
    end = start + rng.random(k) * 0.5
    bits = rng.integers(1, 100, k).astype(float)
    single = Uploads(end, end - start, np.ones(k, bool), np.arange(k), start, end, bits)
    # the same uploads as two attempts each (halves), through the general path
    mid = (start + end) / 2
    multi = Uploads(end, end - start, np.ones(k, bool), np.repeat(np.arange(k), 2),
                    np.ravel(np.column_stack([start, mid])), np.ravel(np.column_stack([mid, end])),
                    np.repeat(bits / 2, 2))
    for up in (single, multi):
        cut = cut_at_deadline(up, 0.6)
        for w in range(k):
            rows = up.attempt_row == w
            iv = list(zip(up.attempt_start[rows], up.attempt_end[rows], up.attempt_bits[rows]))
            kept, air, kbits = clip_at_deadline(iv, 0.6)
            got = cut.attempt_row == w
            assert cut.late[w] == (end[w] > 0.6)
            np.testing.assert_array_equal(cut.attempt_end[got], [e for _, e, _ in kept])
            np.testing.assert_array_equal(cut.attempt_bits[got], [b for _, _, b in kept])
            if cut.late[w]:
                assert cut.airtime[w] == air
            assert cut.late_bits[w] == pytest.approx(kbits, rel=1e-15, abs=0)


class TwoPasses(LinkModel):
    """Every upload: a pass of bits / (B x 1 bit/s/Hz), a 1 ms gap, the same pass again."""

    name = "two"

    def spectral_efficiency(self, snr_linear):
        return np.ones_like(np.asarray(snr_linear, dtype=float))

    def upload(self, env, channel, bits, bandwidth_hz, snr_at, rng):
        iv = []
        for j in range(2):
            s, e, _ = yield from self.transmit(env, channel, bits, bandwidth_hz, snr_at)
            iv.append((s, e, bits))
            if j == 0:
                yield env.timeout(1e-3)
        return UploadOutcome(iv[0][0], env.now, 2 * bits / bandwidth_hz, 2, 2 * bits, tuple(iv))


def test_event_loop_queues_second_passes_behind_first_ones() -> None:
    """TDMA, three workers ready at 0 asking in order 0, 1, 2, 10 ms per pass: first passes at 0,
    10, 20 ms; worker 0's second pass asks at 11 ms and waits behind 1 and 2 (FIFO): 30 ms; then
    worker 1's (asked at 21 ms) at 40 ms, worker 2's at 50 ms. FDMA: every worker 0-10, 11-21."""
    bits, bw = np.full(3, 1e4), np.full(3, 1e6)
    snr = [lambda t: 1.0] * 3
    tdma = link_uploads(make_access("tdma"), TwoPasses(), np.zeros(3), np.arange(3), bits, bw, snr, [None] * 3)
    np.testing.assert_allclose(tdma.attempt_start, [0.0, 0.03, 0.01, 0.04, 0.02, 0.05], atol=1e-15)
    np.testing.assert_allclose(tdma.end, [0.04, 0.05, 0.06], atol=1e-15)
    fdma = link_uploads(make_access("fdma"), TwoPasses(), np.zeros(3), np.arange(3), bits, bw, snr, [None] * 3)
    np.testing.assert_allclose(fdma.attempt_start, [0.0, 0.011] * 3, atol=1e-15)


def test_link_draws_are_keyed_by_round_worker_and_upload() -> None:
    """The same (round, worker, upload) gives the same numbers whatever was drawn before; any other
    key gives other numbers."""
    from edgefl.sim.round_timing import keyed_link_rng

    seed = np.random.SeedSequence(9).spawn(4)[2]
    first = keyed_link_rng(seed, 3, 7, 0).random(4)
    for key in [(3, 8, 0), (4, 7, 0), (3, 7, 1)]:
        keyed_link_rng(seed, *key).random(10)  # other uploads drawing in between change nothing
        assert not np.array_equal(keyed_link_rng(seed, *key).random(4), first)
    np.testing.assert_array_equal(keyed_link_rng(seed, 3, 7, 0).random(4), first)
