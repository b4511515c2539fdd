"""Load a scenario file: read and parse it, then resolve (see :mod:`edgefl.scenario.resolve`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgefl import catalog
from edgefl.scenario.errors import MISSING, FieldProblem, ScenarioError
from edgefl.scenario.resolve import ResolvedScenario, resolve


def read_scenario_file(path: str | Path) -> Any:
    """The parsed YAML of a scenario file; a missing, unreadable or malformed file raises
    :class:`ScenarioError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(str(path), [FieldProblem("", MISSING, "file not found" if not path.exists()
                                                     else "not a regular file")])
    try:
        return catalog.load_yaml(path)
    except catalog.CatalogError as exc:
        msg = str(exc)
        prefix = f"{path}: "
        raise ScenarioError(str(path), [FieldProblem("", MISSING, msg.removeprefix(prefix))])


def load_scenario(path: str | Path, overrides: list[str] | None = None,
                  max_memory: float | None = None) -> ResolvedScenario:
    """Load, override, validate and resolve a scenario file (``max_memory``: see :func:`resolve`)."""
    path = Path(path)
    return resolve(read_scenario_file(path), str(path), path.parent, overrides, max_memory)
