"""Load a scenario file: read and parse it, then resolve (see :mod:`edgefl.scenario.resolve`)."""

from __future__ import annotations

from pathlib import Path

from edgefl import catalog
from edgefl.scenario.errors import MISSING, FieldProblem, ScenarioError
from edgefl.scenario.resolve import ResolvedScenario, resolve


def load_scenario(path: str | Path, overrides: list[str] | None = None,
                  max_memory: float | None = None) -> ResolvedScenario:
    """Load, override, validate and resolve a scenario file (``max_memory``: see :func:`resolve`)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(str(path), [FieldProblem("", MISSING, "file not found" if not path.exists()
                                                     else "not a regular file")])
    try:
        data = catalog.load_yaml(path)
    except catalog.CatalogError as exc:
        msg = str(exc)
        prefix = f"{path}: "
        raise ScenarioError(str(path), [FieldProblem("", MISSING, msg.removeprefix(prefix))])
    return resolve(data, str(path), path.parent, overrides, max_memory)
