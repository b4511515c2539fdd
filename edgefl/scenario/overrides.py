"""``--set dotted.path=value`` overrides applied to a parsed scenario before validation.

A numeric path part indexes a list (``server.position.2=25``, ``workers.groups.0.count=5``);
every other part is a mapping key. A path that cannot be followed (an index out of range, a
key on a list, a number where a section is needed, a list the file does not give) is a
ValueError naming the path, what is there and, for lists, their length. This one function
serves ``run``, ``validate``, ``plan``, ``whatif`` and a study's ``set:`` and axes.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from edgefl.catalog import yaml_error_text
from edgefl.safe_yaml import YAMLLimitError, parse_yaml
from edgefl.scenario.preview import preview


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """Split ``a.b.0.c=value`` into a key path and a YAML-parsed value."""
    if "=" not in text:
        raise ValueError(f"--set {preview(text)}: expected dotted.path=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ValueError(f"--set {preview(key)}: empty field name")
    try:
        value = parse_yaml(raw) if raw.strip() else ""
    except YAMLLimitError as exc:
        raise ValueError(f"--set {key}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"--set {key}: value is not valid YAML ({yaml_error_text(exc)})") from None
    path: list[str | int] = [int(p) if p.isdigit() else p for p in key.split(".")]
    return path, value


def _dotted(path: list[str | int]) -> str:
    return ".".join(map(str, path))


def _list_index(key: str, where: str, items: list[Any], part: str | int) -> int:
    """``part`` as an index into the list at ``where``, or a ValueError naming the list's length."""
    n = len(items)
    if not n:
        raise ValueError(f"--set {key}: {where} is an empty list; give the whole list, e.g. --set {where}=[...]")
    if not isinstance(part, int):
        raise ValueError(f"--set {key}: {where} is a list of {n} item{'s' * (n != 1)}; "
                         f"index it with a number 0..{n - 1}, e.g. {where}.0, not {preview(part)}")
    if part >= n:
        raise ValueError(f"--set {key}: {where} has {n} item{'s' * (n != 1)} (indices 0..{n - 1}); "
                         f"there is no item {part}")
    return part


def _schema_default(path: list[str | int]) -> Any:
    """The scenario schema's default at a path of mapping keys, or None (best effort, for messages)."""
    import typing

    from pydantic import BaseModel

    from edgefl.scenario.schema import Scenario

    model: Any = Scenario
    default: Any = None
    for part in path:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        todo, model = [info.annotation], None
        while todo:  # the first model class inside Optional / Union / Annotated
            t = todo.pop(0)
            if isinstance(t, type) and issubclass(t, BaseModel):
                model = t
                break
            todo += list(typing.get_args(t))
    return default


def set_path(data: dict[str, Any], path: list[str | int], value: Any) -> None:
    """Set ``value`` at ``path`` in ``data`` in place, creating missing sections (mappings)."""
    key = _dotted(path)
    cur: Any = data
    for i, part in enumerate(path):
        where = _dotted(path[:i])
        if isinstance(cur, list):
            part = _list_index(key, where, cur, part)
        elif isinstance(part, int) and part not in cur:
            raise ValueError(f"--set {key}: {where} is a section (keys: {', '.join(map(str, cur)) or 'none'}), "
                             f"not a list; there is no item {part}")
        if i == len(path) - 1:
            cur[part] = value
            return
        nxt = cur[part] if isinstance(cur, list) else cur.get(part)
        here = _dotted(path[: i + 1])
        if nxt is None and isinstance(path[i + 1], int):
            default = _schema_default(path[: i + 1])
            example = (f"--set {here}={list(default)!r}" if isinstance(default, (list, tuple))
                       else f"--set '{here}=[...]'")
            raise ValueError(f"--set {key}: {here} is not given in the scenario, so there is no list to index; "
                             f"give the whole list, e.g. {example}")
        if nxt is None:
            nxt = cur[part] = {}
        if not isinstance(nxt, (dict, list)):
            raise ValueError(f"--set {key}: {here} is {preview(nxt)}, not a section or a list; "
                             f"set it as a whole (--set {here}=...)")
        cur = nxt


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``dotted.path=value`` override applied."""
    data = copy.deepcopy(data)
    for text in overrides:
        path, value = parse_override(text)
        set_path(data, path, value)
    return data
