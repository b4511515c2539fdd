"""Load a scenario file: read and parse it, then resolve (see :mod:`edgefl.scenario.resolve`)."""

from __future__ import annotations

from pathlib import Path

from edgefl import catalog
from edgefl.scenario.errors import MISSING, FieldProblem, ScenarioError
from edgefl.scenario.resolve import ResolvedScenario, resolve


def load_scenario(path: str | Path, overrides: list[str] | None = None,
                  max_memory: float | None = None) -> ResolvedScenario:
    """Load, override, validate and resolve a scenario file (``max_memory``: see :func:`resolve`)."""
    from edgefl.file_checks import FileArgError, check_input_file
    from edgefl.safe_yaml import MAX_BYTES

    path = Path(path)
    try:
        check_input_file(path, "scenario file", MAX_BYTES, "scenario, study and profile files")
    except FileArgError as exc:
        raise ScenarioError(str(path), [FieldProblem("", MISSING, exc.reason)]) from None
    try:
        data = catalog.load_yaml(path, "scenario file")
    except catalog.CatalogError as exc:
        msg = str(exc)
        prefix = f"{path}: "
        raise ScenarioError(str(path), [FieldProblem("", MISSING, msg.removeprefix(prefix))])
    return resolve(data, str(path), path.parent, overrides, max_memory)
