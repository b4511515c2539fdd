"""edgefl: emulate federated / distributed learning on wireless edge devices.

The Python interface (imported on first use, so ``import edgefl`` stays fast)::

    import edgefl

    s = edgefl.load("scenarios/quickstart.yaml", set=["rounds=5"])   # validated like `edgefl validate`
    r = edgefl.run(s)                                                 # no files unless out= is given
    r.rounds["latency_s"].mean()                                      # pandas DataFrames: rounds, timeline, workers
    r.plot_round(0)                                                   # matplotlib Figure of round 0's timing
    r2 = edgefl.run(s.with_(**{"channel.uplink_bandwidth_hz": 5e6}))
    r.save("results/quickstart")                                      # what `edgefl run -o` writes

* :func:`load`, :class:`Scenario`, :class:`ScenarioError`: scenarios;
* :func:`run`, :class:`RunResult`, :class:`RunError`: one run;
* :func:`sweep`, :class:`StudyResult`: a study (grid of scenarios x seeds);
* :func:`whatif`, :func:`plan`: the answers of ``edgefl whatif`` and ``edgefl plan``.
"""

import importlib
from typing import Any

from edgefl.lazy import lazy_attributes

__version__ = "0.1.0"

_API = {
    "load": "edgefl.api.scenario", "Scenario": "edgefl.api.scenario",
    "ScenarioError": "edgefl.scenario.errors", "FieldProblem": "edgefl.scenario.errors",
    "run": "edgefl.api.run", "RunResult": "edgefl.api.run", "RunError": "edgefl.api.run",
    "StudyResult": "edgefl.api.study",
    "whatif": "edgefl.api.answers", "WhatIf": "edgefl.api.answers", "plan": "edgefl.api.answers",
}

__all__ = sorted([*_API, "sweep"])

_getattr, __dir__ = lazy_attributes(__name__, globals(), _API)


def __getattr__(name: str) -> Any:
    if name == "sweep":  # the subpackage edgefl.sweep, which is callable: edgefl.sweep("study.yaml")
        return importlib.import_module("edgefl.sweep")
    return _getattr(name)
