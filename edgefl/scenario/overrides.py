"""``--set dotted.path=value`` overrides applied to a parsed scenario before validation."""

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


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``dotted.path=value`` override applied."""
    data = copy.deepcopy(data)
    for text in overrides:
        path, value = parse_override(text)
        key = ".".join(map(str, path))
        cur: Any = data
        for i, part in enumerate(path[:-1]):
            nxt = path[i + 1]
            if isinstance(cur, list):
                if not isinstance(part, int) or part >= len(cur):
                    raise ValueError(f"--set {key}: no list item {part!r}")
                cur = cur[part]
                continue
            if part not in cur or cur[part] is None:
                cur[part] = [] if isinstance(nxt, int) else {}
            cur = cur[part]
            if not isinstance(cur, (dict, list)):
                raise ValueError(f"--set {key}: {'.'.join(map(str, path[: i + 1]))} is not a section")  # noqa: TRY004
        last = path[-1]
        if isinstance(cur, list) and (not isinstance(last, int) or last >= len(cur)):
            raise ValueError(f"--set {key}: no list item {last!r}")
        cur[last] = value
    return data
