"""``edgefl.whatif`` and ``edgefl.plan``: the answers ``edgefl whatif`` and ``edgefl plan`` print, typed;
``to_dict()`` is what their ``--json`` prints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefl.api.scenario import Overrides, Scenario, as_scenario, override_strings

@dataclass(frozen=True)
class WhatIf:
    """Baseline vs changed scenario at one seed: per-round latency split along the critical path
    (broadcast, compute, upload, decode wait, aggregate), bits, energy and accuracy; ``delta`` is
    changed - baseline and ``relative`` delta / baseline.

    >>> w = edgefl.whatif("scenarios/quickstart.yaml", {"channel.uplink_bandwidth_hz": 5e6},
    ...                   base=["rounds=5"])  # doctest: +SKIP
    >>> w.delta["latency_mean_s"] > 0  # doctest: +SKIP
    True
    """

    scenario: str
    seed: int
    rounds: int
    base: list[str]
    changes: list[str]
    baseline: dict[str, float]
    changed: dict[str, float]
    delta: dict[str, float]
    relative: dict[str, float] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The comparison as ``edgefl whatif --json`` prints it."""
        return {"scenario": self.scenario, "seed": self.seed, "rounds": self.rounds, "base": list(self.base),
                "changes": list(self.changes), "baseline": dict(self.baseline), "changed": dict(self.changed),
                "delta": dict(self.delta), "relative": dict(self.relative)}

    def __str__(self) -> str:
        from edgefl.sweep.whatif import format_whatif

        return format_whatif(self.to_dict())


def whatif(scenario: str | Path | Mapping[str, Any] | Scenario, changes: Overrides, *,
           base: Overrides = None) -> WhatIf:
    """Run ``scenario`` (with ``base`` overrides) and the same with ``changes`` on top at the same seed
    (the same fading draws, so the difference is the change alone) and compare them.

    ``changes`` and ``base``: the CLI's ``--set`` / ``--base`` strings or dicts of dotted paths.

    >>> import edgefl
    >>> w = edgefl.whatif("scenarios/quickstart.yaml", ["channel.uplink_bandwidth_hz=5e6"],
    ...                   base=["rounds=3"])  # doctest: +SKIP
    >>> print(w)  # doctest: +SKIP
    """
    from edgefl.sweep.whatif import check_changes, compare

    new = override_strings(changes)
    fixed = override_strings(base)
    check_changes(new)
    s_base = as_scenario(scenario, fixed)
    s_new = s_base.with_(new)
    label = str(s_base.path) if s_base.path is not None else s_base.source
    rep = compare(s_base.resolved, s_new.resolved, label, new, fixed)
    return WhatIf(**rep)


@dataclass(frozen=True)
class PlanAnswer:
    """The answers of ``edgefl plan`` (keyed by question as its ``--json`` prints them): the P1 rates,
    or round-latency percentiles, the largest worker count / smallest bandwidth meeting a deadline
    and the largest cell radius (``coverage``)."""

    answers: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The answers as ``edgefl plan --json`` prints them."""
        return dict(self.answers)

    def __getitem__(self, question: str) -> Any:
        return self.answers[question]


def plan(scenario: str | Path | Mapping[str, Any] | Scenario, *, set: Overrides = None, D: float | None = None,
         deadline: float | None = None, coverage: bool = False, percentiles: bool = False, draws: int | None = None,
         method: str = "runs", quantile: float = 95.0, resolution: float = 1e-3) -> PlanAnswer:
    """The answers of ``edgefl plan`` for a scenario (no training), with its options: without
    ``deadline`` / ``coverage`` / ``percentiles`` the P1 bandwidth-optimal rates at distortion ``D``;
    with them the round-latency answers, searched over analytic runs (``method="runs"``, ``draws``
    rounds per probe, default 100) or vectorised channel draws (``method="draws"``, default 2000
    draws, ``quantile`` and ``resolution``). ``to_dict()`` equals ``edgefl plan --json``. Raises
    ScenarioError for a bad scenario and ValueError for bad options.

    >>> import edgefl
    >>> p = edgefl.plan("scenarios/quickstart.yaml", deadline=0.5, coverage=True, method="draws")  # doctest: +SKIP
    >>> p.to_dict()["coverage"]["max_radius_m"]  # doctest: +SKIP
    """
    from edgefl.planning import plan_scenario

    if method not in ("runs", "draws"):
        raise ValueError(f"--method = {method!r}: use runs or draws")
    s = as_scenario(scenario, set)
    if not (deadline is not None or coverage or percentiles):
        return PlanAnswer(plan_scenario(s.resolved, D))
    if method == "runs":
        from edgefl.sweep.deadline import plan_deadline

        data = _scenario_data(s)
        base = s.path.parent if s.path is not None else Path.cwd()
        return PlanAnswer(plan_deadline(data, s.source, base, deadline_s=deadline, coverage=coverage,
                                        draws=draws or 100))
    return PlanAnswer(_plan_draws(s, percentiles, deadline, coverage, draws or 2000, quantile, resolution))


def _scenario_data(s: Scenario) -> dict[str, Any]:
    """The scenario's data with its overrides applied (what ``plan_deadline`` re-resolves per probe)."""
    from edgefl import catalog
    from edgefl.scenario import apply_overrides

    raw = catalog.load_yaml(s.path) if s.path is not None else s.data
    return apply_overrides(raw, list(s.overrides))


def _plan_draws(s: Scenario, percentiles: bool, deadline: float | None, coverage: bool, draws: int,
                quantile: float, resolution: float) -> dict[str, Any]:
    """``edgefl plan --method draws``: the answers of :mod:`edgefl.planning`, keyed by question."""
    from edgefl.planning.coverage import max_radius
    from edgefl.planning.deadline import max_workers, min_bandwidth
    from edgefl.planning.percentiles import latency_percentiles

    problem = ("--coverage needs --deadline T" if coverage and deadline is None else
               f"--deadline must be a positive number of seconds, got {deadline}"
               if deadline is not None and not deadline > 0 else
               f"--resolution must be in (0, 1), got {resolution}" if not 0 < resolution < 1 else None)
    if problem:
        raise ValueError(problem)
    rs = s.resolved
    rep: dict[str, Any] = {"scenario": rs.scenario.name, "method": "vectorised timing formulas over independent draws"}
    if percentiles:
        rep["percentiles"] = latency_percentiles(rs, draws)
    if deadline is not None:
        rep["max_workers"] = max_workers(lambda k: s.with_([f"workers.count={k}"]).resolved, deadline, draws, quantile)
        rep["min_bandwidth"] = min_bandwidth(rs, deadline, draws, quantile, resolution)
        if coverage:
            rep["coverage"] = max_radius(rs, deadline, draws, quantile, resolution)
    return rep
