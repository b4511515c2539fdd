"""Round-latency samples of a scenario, produced by the simulator itself.

The planner has no timing model of its own: every sample is the ``latency_s`` of a round played
by the engine that ``edgefl run`` uses (:func:`edgefl.sim.build.build_simulation`: the
vectorised fast path where it applies, else SimPy; timeline off, nothing written to disk), so
every scheme, allocation, link, access scheme, participation rule, deadline and trace the
simulator supports is planned for exactly as it is simulated. ``method`` only chooses the engine
path: ``auto`` (as ``edgefl run``), ``fast`` (require the fast path) or ``simpy`` (the reference).
There is no ``runs`` method any more: probe runs written to disk answered nothing these samples
do not (they are the same rounds, read from the engine instead of rounds.csv), and the old
``draws`` method was a second copy of the round's timing diagram, now gone.

Two populations of samples (issue 20, item 4):

* :class:`RoundSamples` (``--over fading``): the rounds of one run of the scenario at its seed -
  its placement, shadowing, LOS and O2I draws fixed, fading, stragglers and participation drawn
  per round: the distribution a long ``edgefl run`` shows (its first n rounds *are* the samples).
* :class:`PlacementSamples` (``--over placements``): ``rounds_per_placement`` rounds for each of
  many seeds derived from ``seed`` (``SeedSequence(seed, spawn_key=(PLAN, i))``): placement,
  shadowing, LOS and O2I redrawn with every seed, the distribution a coverage planner uses.

Both grow on demand (:meth:`take`), so a search can add samples where its answer is uncertain;
the same (scenario, seed, n) always give the same samples. Where the scenario allows it, the
planner computes the ``--over placements`` samples of every radius at once from draws made once
per placement (:mod:`edgefl.planning.placement_batch`: the same numbers as
:class:`PlacementSamples`, which stays the reference and the path of every other scenario).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import warnings
from typing import Protocol

import numpy as np

from edgefl.scenario import ResolvedScenario, ScenarioError, resolve
from edgefl.radio.gauss_markov import memo_batches
from edgefl.sim.participation import DrawMemo

METHODS = ("auto", "fast", "simpy")
OVER = ("fading", "placements")
_PLAN = 0x504C  # spawn-key root of the planner's placement seeds
PARTICIPANTS = DrawMemo()  # the participants drawn by the planner's simulations, by sampling stream
FADING_BATCHES = 4  # batches of 256 Gauss-Markov draws per worker kept for the next variant (~1 k rounds each)


class Samples(Protocol):
    """A growing set of round-latency samples of one scenario variant."""

    #: the samples are one run's consecutive rounds, dependent at short lags (intervals by batch
    #: means over the series, :func:`edgefl.planning.stats.series_ci`)
    series: bool

    #: samples per cluster of dependent samples (1: no clusters; see :mod:`edgefl.planning.stats`)
    def cluster_size(self, n: int) -> int: ...

    def take(self, n: int) -> np.ndarray: ...

    @property
    def engine_paths(self) -> set[str]: ...

    #: rounds the simulator has played for this point so far (progress: :mod:`edgefl.planning.progress`)
    @property
    def drawn(self) -> int: ...


def variant(rs: ResolvedScenario, overrides: list[str], max_memory: float | None = None) -> ResolvedScenario:
    """``rs`` with ``--set``-style overrides, validated and resolved again (a ScenarioError names the field)
    as the planner plays it: timing only (:func:`timing_run`), so the memory bound counts what its rounds
    hold, not the gradient vectors of a full run (a worker search may reach thousands of workers)."""
    if not overrides:
        return rs
    data = rs.scenario.model_dump(mode="json", exclude_unset=True)
    if "timing_only" in type(rs.scenario.output).model_fields:
        data.setdefault("output", {})["timing_only"] = True
    return resolve(data, rs.source, rs.base_dir, overrides, max_memory)


def timing_run(rs: ResolvedScenario, rounds: int, seed: int | None = None) -> ResolvedScenario:
    """``rs`` for a timing-only run of ``rounds`` rounds (timeline and plots off), at ``seed``."""
    scn = rs.scenario
    flags = {"timeline": False, "plots": False}
    if "timing_only" in type(scn.output).model_fields:  # no gradients drawn where the bits do not need them
        flags["timing_only"] = True
    out = scn.output.model_copy(update=flags)
    update = {"rounds": int(rounds), "output": out}
    if seed is not None:
        update["seed"] = int(seed)
    return dataclasses.replace(rs, scenario=scn.model_copy(update=update))


def build(rs: ResolvedScenario, method: str):
    """The simulation ``edgefl run`` would play for ``rs`` (its timing-only flag set by :func:`timing_run`)."""
    from edgefl.sim.build import build_simulation

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    with warnings.catch_warnings():  # workers out of coverage: the plan reports them (PlanReport.out_of_coverage)
        cls = getattr(importlib.import_module("edgefl.sim.coverage"), "CoverageWarning", None) \
            if importlib.util.find_spec("edgefl.sim.coverage") else None
        if cls is not None:
            warnings.simplefilter("ignore", cls)
        sim = build_simulation(rs, method)
    sim.participant_memo = PARTICIPANTS  # variants drawing the same participants share them (same numbers)
    memo_batches(FADING_BATCHES)  # and their Gauss-Markov fading draws (same numbers)
    return sim


class _Enough(Exception):
    """Stops :meth:`Simulation.run` once enough rounds are played (finished rounds are kept)."""


def play(sim, rounds: int) -> np.ndarray:
    """Play ``sim`` until it has ``rounds`` rounds (continuing where it stopped); their latencies."""
    def stop(_r: int, _row) -> None:
        if len(sim.rounds) >= rounds:
            raise _Enough

    if len(sim.rounds) < rounds:
        try:
            sim.run(stop)
        except _Enough:
            pass
    return np.array([row["latency_s"] for row in sim.rounds[:rounds]], dtype=float)


def rounds_independent(rs: ResolvedScenario) -> bool:
    """Whether successive rounds of a run are independent draws: block fading redrawn per round or
    per upload, no channel or device trace, no batteries (whose charge carries over)."""
    scn = rs.scenario
    ch = scn.channel
    batteries = any(d.battery_capacity_j is not None for d in rs.worker_devices)
    return (ch.correlation.kind in ("block_round", "block_upload") and ch.trace is None
            and scn.workers.trace is None and not batteries)


class RoundSamples:
    """``--over fading``: the rounds of one timing-only run of ``rs`` (see the module docstring)."""

    def __init__(self, rs: ResolvedScenario, method: str, max_samples: int) -> None:
        self.rs = rs
        self.sim = build(timing_run(rs, max_samples), method)
        self.series = not rounds_independent(rs)

    def cluster_size(self, n: int) -> int:
        return 1  # no clusters; dependent rounds are a series (``series``)

    def take(self, n: int) -> np.ndarray:
        if n > self.sim.opt.rounds:
            raise ValueError(f"{n} samples asked of a run built for {self.sim.opt.rounds} rounds")
        return play(self.sim, n)

    @property
    def engine_paths(self) -> set[str]:
        return {self.sim.engine_path}

    @property
    def drawn(self) -> int:
        return len(self.sim.rounds)


def placement_seed(seed: int, i: int) -> int:
    """Seed of the ``i``-th placement drawn by ``--over placements`` from ``seed``."""
    return int(np.random.SeedSequence(int(seed), spawn_key=(_PLAN, i)).generate_state(1)[0])


class PlacementSamples:
    """``--over placements``: ``per_placement`` rounds at each of the seeds :func:`placement_seed`
    derives from ``seed``; for each placement also the workers out of coverage
    (:func:`edgefl.planning.coverage.out_of_coverage`)."""

    series = False  # clusters of dependent rounds (the placements), independent of each other

    def __init__(self, rs: ResolvedScenario, method: str, per_placement: int, seed: int) -> None:
        if per_placement < 1:
            raise ValueError(f"rounds per placement must be >= 1, got {per_placement}")
        self.rs, self.method, self.m, self.seed = rs, method, int(per_placement), int(seed)
        self._lat: list[np.ndarray] = []
        self.placed: list[int] = []  # workers placed, per placement
        self.out: list[np.ndarray] = []  # ids out of coverage, per placement
        self.distances: list[np.ndarray] = []  # their distances from the server (m)
        self.path_list: list[str] = []  # the engine path of each placement

    def cluster_size(self, n: int) -> int:
        return self.m

    def _add_placement(self) -> None:
        """Draw the next placement: its rounds' latencies (inf when no round can end: every worker
        out of coverage, or a build that refuses those out of coverage) and its coverage."""
        from edgefl.planning.coverage import from_build, out_of_coverage

        rs_i = timing_run(self.rs, self.m, placement_seed(self.seed, len(self._lat)))
        try:
            sim = build(rs_i, self.method)
        except ScenarioError:
            oc = out_of_coverage(rs_i)
            if oc.workers.size == 0:
                raise
            # every worker out of coverage, or a build that refuses those out of coverage: no round ends
            self._note(oc)
            self._lat.append(np.full(self.m, np.inf))
            self.path_list.append("none (workers out of coverage: no round can end)")
            return
        oc = from_build(sim, rs_i)
        self._note(oc if oc is not None else out_of_coverage(rs_i))
        self.path_list.append(sim.engine_path)
        self._lat.append(play(sim, self.m))

    def _note(self, oc) -> None:
        self.placed.append(oc.placed)
        self.out.append(oc.workers)
        self.distances.append(oc.distances_m)

    def take(self, n: int) -> np.ndarray:
        while len(self._lat) * self.m < n:
            self._add_placement()
        return np.concatenate(self._lat)[:n]

    @property
    def engine_paths(self) -> set[str]:
        return set(self.path_list)

    @property
    def drawn(self) -> int:
        return len(self._lat) * self.m

    def out_of_coverage_share(self) -> float:
        """Workers out of coverage over workers placed, over the placements drawn so far."""
        placed = sum(self.placed)
        return float(sum(o.size for o in self.out) / placed) if placed else float("nan")
