"""Warnings about a scenario that runs but departs from what the models or theorems assume
(a step size outside a theorem's condition, a fixed 38.901 h_E outside its range, ...).

They are ordinary Python warnings, printed once per run; ``edgefl run --strict`` and
``edgefl validate --strict`` turn every :class:`ScenarioWarning` into an error (exit 2).
"""

from __future__ import annotations


class ScenarioWarning(UserWarning):
    """A scenario setting that is allowed but outside what a model or a theorem assumes."""
