"""Find channel and device profiles by name on a search path.

Profiles are YAML data files, one profile per file, the file stem being the
profile name. They are looked up, first match wins, in:

1. the ``channels/`` or ``devices/`` sub-folder of each directory the caller
   passes (a scenario's own folder),
2. the same sub-folders of every directory of the ``EDGEFL_PATH`` environment
   variable (``os.pathsep`` separated),
3. the catalogs shipped with edgefl (the repository's ``channels/`` and
   ``devices/`` in a development install, ``edgefl/_catalog/`` in a wheel).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from edgefl import safe_yaml

Kind = Literal["channels", "devices", "scenarios"]

_PACKAGE_DIR = Path(__file__).resolve().parent


class CatalogError(LookupError):
    """A profile name that is not on the search path, or a profile file that is not YAML."""


def builtin_dir(kind: Kind) -> Path:
    """Directory of the catalog shipped with edgefl for ``kind``."""
    for cand in (_PACKAGE_DIR.parent / kind, _PACKAGE_DIR / "_catalog" / kind):
        if cand.is_dir():
            return cand
    return _PACKAGE_DIR.parent / kind


def search_path(kind: Kind, extra_dirs: Iterable[Path] = ()) -> list[Path]:
    """The ordered directories searched for profiles of ``kind``."""
    # only the kind's own sub-folder: a scenario's folder holds scenarios, not profiles
    dirs = [Path(d) / kind for d in extra_dirs]
    dirs += [Path(e) / kind for e in os.environ.get("EDGEFL_PATH", "").split(os.pathsep) if e]
    dirs.append(builtin_dir(kind))
    seen: set[Path] = set()
    out = []
    for d in dirs:
        r = d.resolve()
        if r not in seen and r.is_dir():
            seen.add(r)
            out.append(r)
    return out


def available(kind: Kind, extra_dirs: Sequence[Path] = ()) -> list[str]:
    """Sorted names of all profiles of ``kind`` on the search path."""
    names = {p.stem for d in search_path(kind, extra_dirs) for p in d.glob("*.yaml")}
    return sorted(names)


def find_profile(kind: Kind, name: str, extra_dirs: Sequence[Path] = ()) -> Path:
    """Path of the profile file ``name`` of ``kind``; raise CatalogError listing the choices."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise CatalogError(f"{name!r} is not a profile name")
    for d in search_path(kind, extra_dirs):
        p = d / f"{name}.yaml"
        if p.is_file():
            return p
    choices = ", ".join(available(kind, extra_dirs)) or "(none found)"
    raise CatalogError(f"unknown {kind[:-1]} profile {name!r}; available: {choices}")


def load_yaml(path: Path, what: str = "file") -> Any:
    """Parse a YAML file within the limits of :mod:`edgefl.safe_yaml`; missing, special (FIFO,
    device, directory), unreadable, oversized, binary or non-UTF-8 files, syntax errors,
    duplicate keys and alias bombs become one-line CatalogErrors (with line and column where
    there is one). ``what`` names the file in messages (``"study file"``)."""
    from edgefl.file_checks import FileArgError, check_input_file

    try:
        check_input_file(path, what, safe_yaml.MAX_BYTES, "scenario, study and profile files")
    except FileArgError as exc:
        raise CatalogError(str(exc)) from None
    try:
        return safe_yaml.parse_yaml(safe_yaml.read_yaml_text(Path(path)))
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read file ({exc.strerror})") from exc
    except safe_yaml.YAMLLimitError as exc:
        raise CatalogError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: {yaml_error_text(exc)}") from None


def yaml_error_text(exc: yaml.YAMLError) -> str:
    """One line for a PyYAML error: what and where."""
    where = ""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        where = f" at line {mark.line + 1}, column {mark.column + 1}"
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"YAML syntax error{where}: {problem}"


def load_profile(kind: Kind, name: str, extra_dirs: Sequence[Path] = ()) -> dict[str, Any]:
    """Load the profile ``name`` of ``kind`` as a dict (its ``name`` key set to the file stem)."""
    path = find_profile(kind, name, extra_dirs)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: a profile must be a YAML mapping, got {type(data).__name__}")
    data = dict(data)
    data.setdefault("name", name)
    return data
