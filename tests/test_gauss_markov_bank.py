"""GaussMarkovBank (arrays, compiled) against K separate FadingStream objects (the reference): the
same gains, states and draws bit for bit, whatever the order and grouping of the calls."""

from __future__ import annotations

import numpy as np
import pytest

from edgefl.radio.config import CorrelationConfig, FadingConfig
from edgefl.radio.fading import FadingStream
from edgefl.radio.gauss_markov import GaussMarkovBank, SeedList

FADINGS = {"rayleigh": {"model": "rayleigh"}, "rician": {"model": "rician", "k_factor_db": 4.0},
           "nakagami": {"model": "nakagami", "m": 2.0}}


@pytest.mark.parametrize("name", sorted(FADINGS))
def test_bank_equals_streams(name: str):
    fading = FadingConfig(**FADINGS[name])
    corr = CorrelationConfig(kind="gauss_markov", doppler_hz=30.0)
    k = 12
    seeds = SeedList(5, 100 + len(name), k)
    for _ in range(2):  # the second bank of the same seeds takes its first batches from the memo of the first
        bank = GaussMarkovBank(fading, corr, seeds, ahead=40)
        streams = [FadingStream(fading, corr, seeds[i]) for i in range(k)]
        rng = np.random.default_rng(0)
        t = 0.0
        for step in range(700):  # past several batches of draws per worker
            t += float(rng.choice([0.0, 1e-4, 3e-3, 0.2]))
            how = step % 4
            if how == 0:  # all workers' states
                ref = np.array([s.raw(t, step) for s in streams], dtype=complex)
                assert np.array_equal(bank.raw(t, step), ref)
            elif how == 1:  # one worker
                w = int(rng.integers(k))
                assert bank.gain(w, t, step) == streams[w].gain(t, step)
            else:  # a few distinct workers, some draws taken ahead first
                ws = rng.choice(k, size=int(rng.integers(1, k)), replace=False)
                if how == 3:
                    bank.lookahead(ws, int(rng.integers(1, 41)))
                ref = np.array([streams[w].gain(t, step) for w in ws])
                assert np.array_equal(bank.gains(ws, t, step), ref)
        assert np.all(bank._taken >= 2)  # past the first batch (memo), into the generator


def test_time_going_back_is_refused():
    bank = GaussMarkovBank(FadingConfig(model="rayleigh"), CorrelationConfig(kind="gauss_markov", doppler_hz=5.0),
                           SeedList(1, 1, 2))
    bank.gain(0, 1.0, 0)
    with pytest.raises(ValueError, match="must not decrease"):
        bank.gain(0, 0.5, 0)
    with pytest.raises(ValueError, match="finite"):
        bank.gain(1, float("inf"), 0)


def test_banks_sharing_memoised_batches_draw_each_workers_own_sequence():
    """With the planner's memo of several batches per worker, banks of the same seeds taking batches in
    any interleaving (some from the memo, some from their own generator, past a memo that grew
    meanwhile) draw each worker's sequence: the batches of its generator alone."""
    from edgefl.radio import gauss_markov as gm
    from edgefl.radio.fading import complex_normal

    seeds = SeedList(9, 4242, 3)
    def own(w: int) -> np.ndarray:
        rng = np.random.default_rng(seeds[w])
        return np.concatenate([complex_normal(rng, gm._BATCH) for _ in range(6)])

    alone = [own(w) for w in range(3)]
    before = gm.MEMO_BATCHES
    try:
        gm.memo_batches(3)
        fading = FadingConfig(model="rayleigh")
        corr = CorrelationConfig(kind="gauss_markov", doppler_hz=10.0)
        banks = [GaussMarkovBank(fading, corr, seeds) for _ in range(3)]
        got: list[list[list[np.ndarray]]] = [[[] for _ in range(3)] for _ in banks]
        order = np.random.default_rng(3).integers(0, 3, size=(40, 2))
        for b, w in order:
            if len(got[b][w]) < 6:
                got[b][w].append(banks[b]._next_batch(int(w)).copy())
        for b, bank in enumerate(banks):
            for w in range(3):
                while len(got[b][w]) < 6:
                    got[b][w].append(bank._next_batch(w).copy())
                assert np.array_equal(np.concatenate(got[b][w]), alone[w])
    finally:
        gm.memo_batches(before)


def test_interleaved_banks_with_a_memo_of_several_batches_equal_streams():
    """The planner's case: banks of the same seeds played in turns while the memo keeps four batches per
    worker, each bank reading its windows of draws from the memo's first and later batches, from its own
    copies and from its generator set past the memoised batches: every bank's gains are its streams'."""
    from edgefl.radio import gauss_markov as gm

    fading = FadingConfig(model="rayleigh")
    corr = CorrelationConfig(kind="gauss_markov", doppler_hz=30.0)
    k = 3
    seeds = SeedList(6, 77, k)
    before = gm.MEMO_BATCHES
    try:
        gm.memo_batches(4)
        banks = [GaussMarkovBank(fading, corr, seeds, ahead=20) for _ in range(3)]
        streams = [[FadingStream(fading, corr, seeds[i]) for i in range(k)] for _ in banks]
        rng = np.random.default_rng(1)
        t = [0.0] * len(banks)
        for step in range(5000):
            b = int(rng.choice(len(banks), p=[0.4, 0.4, 0.2]))  # banks at different paces
            t[b] += float(rng.choice([1e-4, 3e-3]))
            ws = np.sort(rng.choice(k, size=int(rng.integers(1, k + 1)), replace=False))
            banks[b].lookahead(ws, int(rng.integers(1, 21)))
            ref = np.array([streams[b][w].gain(t[b], step) for w in ws])
            assert np.array_equal(banks[b].gains(ws, t[b], step), ref), (step, b)
        assert all(np.all(bank._taken >= 5) for bank in banks[:2])  # past the memo, into the generators
    finally:
        gm.memo_batches(before)
