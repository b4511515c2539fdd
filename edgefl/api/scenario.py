"""``edgefl.load``: a scenario from a file, a YAML string or a dict, validated like the CLI does it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgefl.scenario.errors import MISSING, FieldProblem, ScenarioError

if TYPE_CHECKING:
    from edgefl.estimate import Estimate
    from edgefl.scenario.resolve import ResolvedScenario
    from edgefl.scenario.schema import Scenario as ScenarioModel

#: ``set=``: the CLI's ``--set`` strings (``"a.b=c"``) or a mapping of dotted paths to values
Overrides = Sequence[str] | Mapping[str, Any] | None

_YAML_SUFFIXES = (".yaml", ".yml")


def override_strings(overrides: Overrides) -> list[str]:
    """``set=`` as the CLI's ``dotted.path=value`` strings. A mapping's values are written as JSON,
    which the override parser reads back (JSON is YAML) as the same value.

    >>> override_strings({"rounds": 3, "channel.access": "fdma"})
    ['rounds=3', 'channel.access="fdma"']
    """
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping):
        out = []
        for key, value in overrides.items():
            try:
                text = json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                text = json.dumps(str(value))
            out.append(f"{key}={text}")
        return out
    return [str(o) for o in overrides]


def _is_path(source: str | Path) -> bool:
    if isinstance(source, Path):
        return True
    if "\n" in source or not source.strip() or len(source) > 4096:  # text, not a file name
        return False
    if source.lower().endswith(_YAML_SUFFIXES) or ":" not in source:
        return True
    try:
        return Path(source).exists()
    except (OSError, ValueError):  # a name the OS cannot take (too long, NUL): text
        return False


def _parse_text(text: str, source: str) -> Any:
    import yaml

    from edgefl.catalog import yaml_error_text
    from edgefl.safe_yaml import YAMLLimitError, parse_yaml

    try:
        return parse_yaml(text)
    except YAMLLimitError as exc:
        raise ScenarioError(source, [FieldProblem("", MISSING, str(exc))]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [FieldProblem("", MISSING, yaml_error_text(exc))]) from None


class Scenario:
    """A validated scenario: what :func:`load` returns and :func:`edgefl.run` runs.

    Immutable: :meth:`with_` returns a changed, re-validated copy.

    >>> import edgefl
    >>> s = edgefl.load("scenarios/quickstart.yaml", set=["rounds=3"])
    >>> s.name, s.config.rounds
    ('quickstart', 3)
    >>> s.with_(**{"channel.uplink_bandwidth_hz": 5e6}).config.channel.uplink_bandwidth_hz
    5000000.0
    """

    def __init__(self, reload: Callable[[list[str]], ResolvedScenario], source: str, overrides: Sequence[str],
                 resolved: ResolvedScenario, path: Path | None = None, data: Any = None) -> None:
        self._reload = reload  # the scenario with these overrides, validated again
        self._data = data
        self._source = source
        self._overrides = tuple(overrides)
        self._resolved = resolved
        self._path = path

    @property
    def resolved(self) -> ResolvedScenario:
        """The resolved scenario the simulator runs (device profiles looked up, files checked)."""
        return self._resolved

    @property
    def config(self) -> ScenarioModel:
        """The validated scenario fields (a pydantic model: ``config.channel.uplink_bandwidth_hz``)."""
        return self._resolved.scenario

    @property
    def name(self) -> str:
        """The scenario's ``name``."""
        return self._resolved.scenario.name

    @property
    def source(self) -> str:
        """Where the scenario came from, as error messages and summary.json name it."""
        return self._source

    @property
    def path(self) -> Path | None:
        """The scenario file, if it was loaded from one."""
        return self._path

    @property
    def data(self) -> Any:
        """The parsed YAML (or dict) it was loaded from, before overrides; None for a file (see :attr:`path`)."""
        return self._data

    @property
    def overrides(self) -> tuple[str, ...]:
        """The ``dotted.path=value`` overrides applied so far (``set=`` and :meth:`with_`)."""
        return self._overrides

    def with_(self, changes: Mapping[str, Any] | Sequence[str] | None = None, /, **fields: Any) -> Scenario:
        """A copy with fields changed (dotted paths) and validated again (a scenario from a file reads
        the file again, as the CLI does); raises :class:`ScenarioError`.

        >>> s2 = s.with_(**{"workers.count": 20, "compression.scheme": "dsc"})  # doctest: +SKIP
        """
        overrides = [*self._overrides, *override_strings(changes), *override_strings(fields)]
        return Scenario(self._reload, self._source, overrides, self._reload(overrides), self._path, self._data)

    def to_yaml(self) -> str:
        """The validated scenario (defaults filled in, the channel profile merged in) as YAML text;
        ``edgefl.load(s.to_yaml())`` gives the same scenario."""
        import yaml

        data = self.config.model_dump(mode="json", exclude_none=True)
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=True)

    def estimate(self) -> Estimate:
        """Memory and wall-time estimate of running it (made before anything is allocated);
        ``print("\\n".join(s.estimate().lines()))`` shows the terms."""
        if self._resolved.estimate is not None:
            return self._resolved.estimate
        from edgefl.estimate import estimate_scenario

        return estimate_scenario(self.config, self._resolved.base_dir)

    def __repr__(self) -> str:
        s = self.config
        return (f"<edgefl.Scenario {s.name!r} from {self._source}: {s.workers.count} workers, {s.rounds} rounds, "
                f"compression {s.compression.scheme}, {s.channel.access}>")


def _from_data(data: Any, source: str, overrides: list[str], max_memory: float | None) -> Scenario:
    from edgefl.scenario.resolve import resolve

    base_dir = Path.cwd()

    def reload(ov: list[str]) -> ResolvedScenario:
        return resolve(data, source, base_dir, ov, max_memory)

    return Scenario(reload, source, overrides, reload(overrides), None, data)


def _from_file(path: Path, overrides: list[str], max_memory: float | None) -> Scenario:
    from edgefl.scenario.loader import load_scenario

    def reload(ov: list[str]) -> ResolvedScenario:  # the CLI's own loader: the same checks and messages
        return load_scenario(path, ov, max_memory)

    return Scenario(reload, str(path), overrides, reload(overrides), path)


def load(source: str | Path | Mapping[str, Any] | Scenario, *, set: Overrides = None,
         max_memory: float | None = None) -> Scenario:
    """Load and validate a scenario: a file path, YAML text or a dict (of the YAML's structure).

    ``set`` takes the CLI's ``--set`` strings (``["rounds=3", "workers.count=50"]``) or a dict of
    dotted paths (``{"rounds": 3}``). Validation and messages are those of ``edgefl validate``: a
    bad scenario raises :class:`ScenarioError`, whose ``problems`` list every bad field as
    (path, value, message). ``max_memory`` (bytes): refuse scenarios estimated above it
    (default: the available memory).

    >>> import edgefl
    >>> s = edgefl.load("scenarios/quickstart.yaml", set={"rounds": 3})
    >>> s.config.workers.count
    10
    """
    overrides = override_strings(set)
    if isinstance(source, Scenario):
        return source.with_(overrides) if overrides else source
    if isinstance(source, Mapping):
        return _from_data(dict(source), "<dict>", overrides, max_memory)
    if not isinstance(source, (str, Path)):
        raise TypeError(f"edgefl.load: expected a path, YAML text or a dict, got {type(source).__name__}")
    if _is_path(source):
        return _from_file(Path(source), overrides, max_memory)
    return _from_data(_parse_text(str(source), "<string>"), "<string>", overrides, max_memory)


def as_scenario(scenario: str | Path | Mapping[str, Any] | Scenario, overrides: Overrides = None) -> Scenario:
    """What the API's functions accept as a scenario, loaded (with ``set`` overrides on top)."""
    return load(scenario, set=overrides)
