"""``edgefl.whatif`` and ``edgefl.plan``: the answers ``edgefl whatif`` and ``edgefl plan`` print, typed;
``to_dict()`` is what their ``--json`` prints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgefl.api.scenario import Overrides, Scenario, as_scenario, override_strings

if TYPE_CHECKING:
    from edgefl.planning import PlanReport

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
class RatePlan:
    """``edgefl plan`` without a latency question: the P1 bandwidth-optimal rates (RD paper eq. 20)
    against equal rates and uncoded uploads, keyed as ``edgefl plan --json`` prints them."""

    answers: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The report as ``edgefl plan --json`` prints it."""
        return dict(self.answers)

    def __getitem__(self, key: str) -> Any:
        return self.answers[key]


def plan(scenario: str | Path | Mapping[str, Any] | Scenario, *, set: Overrides = None, D: float | None = None,
         deadline: float | None = None, percentiles: bool = False, coverage: bool = False,
         **options: Any) -> PlanReport | RatePlan:
    """The answers of ``edgefl plan`` for a scenario (no training). Without ``deadline`` /
    ``coverage`` / ``percentiles``: the P1 bandwidth-optimal rates at distortion ``D``
    (:class:`RatePlan`). With them: the round-latency answers of :func:`edgefl.planning.plan`
    (:class:`edgefl.planning.PlanReport`, percentiles with 95 % confidence intervals, sampled from
    the simulator's own rounds); ``options`` are that function's (``over``, ``method``,
    ``quantile`` as a fraction, ``resolution``, ``samples``, ``max_samples``,
    ``rounds_per_placement``, ``seed``, ``jobs``: processes, same answers for every value, ...).
    ``to_dict()`` equals ``edgefl plan --json`` with the
    same options. Raises ScenarioError for a bad scenario, :class:`edgefl.planning.PlanError` for
    bad options.

    >>> import edgefl
    >>> p = edgefl.plan("scenarios/quickstart.yaml", deadline=0.5, percentiles=True)  # doctest: +SKIP
    >>> p.to_dict()["percentiles"]["round_latency_s"]["ci95"]["p95"]  # doctest: +SKIP
    """
    import inspect

    from edgefl.planning import check_options, plan_scenario
    from edgefl.planning import plan as plan_resolved

    if deadline is None and not coverage and not percentiles:
        if options:
            raise TypeError(f"{', '.join(sorted(options))}: options of the round-latency questions; ask one "
                            "(deadline=, percentiles=True or coverage=True)")
        return RatePlan(plan_scenario(as_scenario(scenario, set).resolved, D))
    checked = inspect.signature(check_options).parameters
    check_options(deadline=deadline, coverage=coverage, **{k: v for k, v in options.items() if k in checked})
    return plan_resolved(as_scenario(scenario, set).resolved, deadline=deadline, percentiles=percentiles,
                         coverage=coverage, **options)
