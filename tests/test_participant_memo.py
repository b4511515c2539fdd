"""The planner's shared participant draws (DrawMemo) give every simulation exactly the participants it
draws alone: against simulations without the memo, in any interleaving of rounds and with streams
evicted."""

from __future__ import annotations

import numpy as np
import pytest

from edgefl.sim.participation import DrawMemo, sample_workers


def _alone(seed: int, rounds: int, population: int, k: int, weights=None) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [sample_workers(rng, population, k, weights) for _ in range(rounds)]


class _Sim:
    """The engine's use of the memo (Simulation._participants), reduced to the sampling stream."""

    def __init__(self, memo: DrawMemo, seed: int, population: int, k: int, weights=None) -> None:
        self.memo, self.rng, self.n, self.k, self.w = memo, np.random.default_rng(seed), population, k, weights
        self.key = (seed, population, k)
        self.drawn, self.behind = 0, None

    def next(self) -> np.ndarray:
        ids, self.behind = self.memo.draw(self.key, self.drawn, self.rng, self.behind, self.n, self.k, self.w)
        self.drawn += 1
        return ids


@pytest.mark.parametrize("weights", [None, "ramp"])
def test_interleaved_simulations_draw_what_they_draw_alone(weights) -> None:
    n, k, rounds = 300, 30, 40
    w = None if weights is None else np.linspace(1.0, 3.0, n)
    ref = _alone(7, rounds, n, k, w)
    memo = DrawMemo(keep=2)
    sims = [_Sim(memo, 7, n, k, w) for _ in range(3)]
    got: list[list[np.ndarray]] = [[] for _ in sims]
    order = np.random.default_rng(1).integers(0, 3, size=3 * rounds)
    for i in order:
        if len(got[i]) < rounds:
            got[i].append(sims[i].next())
    for i, s in enumerate(sims):
        while len(got[i]) < rounds:
            got[i].append(s.next())
        if i == 1:  # other streams come and go: this one is evicted half way
            for other in (11, 12, 13):
                _Sim(memo, other, n, k, w).next()
    for g in got:
        assert all(np.array_equal(a, b) for a, b in zip(g, ref))


def test_each_simulation_gets_its_own_array() -> None:
    memo = DrawMemo()
    first = _Sim(memo, 5, 100, 10).next()
    first[:] = -1
    assert np.array_equal(_Sim(memo, 5, 100, 10).next(), _alone(5, 1, 100, 10)[0])


def test_planner_variants_sharing_participants_play_the_same_rounds() -> None:
    """Two bandwidth variants of a partial-participation scenario, played interleaved with a shared memo,
    have the rounds each plays alone (latency, participants' energy: every rounds.csv number)."""
    from pathlib import Path

    from edgefl.planning.samples import build, play, timing_run, variant
    from edgefl.scenario import load_scenario

    root = Path(__file__).resolve().parents[1]
    rs = load_scenario(root / "scenarios" / "nr_cell.yaml", ["channel.trace=null", "workers.trace=null"])
    bws = [f"channel.uplink_bandwidth_hz={b!r}" for b in (20e6, 40e6)]

    def sims(memo):
        out = [build(timing_run(variant(rs, [b]), 30), "auto") for b in bws]
        for s in out:
            s.participant_memo = memo
        return out

    shared = sims(DrawMemo())
    play(shared[0], 12)
    play(shared[1], 20)
    play(shared[0], 30)
    play(shared[1], 30)
    for s, alone in zip(shared, sims(None)):
        play(alone, 30)
        assert [dict(r) for r in s.rounds] == [dict(r) for r in alone.rounds]
