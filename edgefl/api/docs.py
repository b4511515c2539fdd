"""The API reference, built from the docstrings with pdoc, and a check of its cross-references.

    python -m edgefl.api.docs -o docs/api      # then open docs/api/index.html

Every module of edgefl is documented (``edgefl`` itself lists the Python API). The build fails
(exit 1) when a module cannot be imported or pdoc warns, and when a docstring's Sphinx-style
reference (a func, class, mod, meth or attr role, absolute, relative to the module, or with a
leading dot relative to the package) names nothing that exists.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: a Sphinx-style cross-reference in a docstring
ROLE = re.compile(r"(?::py)?:(mod|func|data|const|class|meth|attr|exc|obj):`~?([^`<>]+?)`")


def modules() -> list[str]:
    """``edgefl`` and each of its top-level modules and subpackages (pdoc documents their submodules)."""
    import edgefl

    # names in edgefl.__all__ that are subpackages (edgefl.sweep) are documented under edgefl already
    return ["edgefl", *sorted(f"edgefl.{m.name}" for m in pkgutil.iter_modules(edgefl.__path__)
                              if not m.name.startswith("_") and m.name not in edgefl.__all__)]


def _lookup(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if isinstance(obj, type) and (attr in getattr(obj, "model_fields", {})  # a pydantic field
                                          or attr in getattr(obj, "__dataclass_fields__", {})
                                          or attr in getattr(obj, "__annotations__", {})):  # a declared field
                return True
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                return False
        return True
    return False


def resolves(name: str, module: str, qualname: str = "") -> bool:
    """Whether a reference written in ``module`` (inside class ``qualname``) names something: absolute,
    relative to the module, its class, or a package above it (``.x``: relative to the package)."""
    name = name.strip().removesuffix("()")
    if name.startswith("."):
        package = module.rsplit(".", 1)[0] if not _is_package(module) else module
        dots = len(name) - len(name.lstrip("."))
        base = package.rsplit(".", dots - 1)[0] if dots > 1 else package
        return _lookup(f"{base}.{name.lstrip('.')}")
    contexts = [""]
    if qualname:
        contexts.append(f"{module}.{qualname.rsplit('.', 1)[0]}.")
        contexts.append(f"{module}.{qualname}.")
    parts = module.split(".")
    contexts += [".".join(parts[:i]) + "." for i in range(len(parts), 0, -1)]
    return any(_lookup(c + name) for c in contexts)


def _is_package(module: str) -> bool:
    return hasattr(sys.modules.get(module) or importlib.import_module(module), "__path__")


def _docstrings(mod: Any) -> Iterator[tuple[str, str, str]]:
    """(module name, qualname, docstring) of a pdoc Module and every member it documents."""
    import pdoc.doc

    stack: list[Any] = [mod]
    while stack:
        d = stack.pop()
        module, qualname = getattr(d, "taken_from", (d.modulename, ""))  # where a re-exported object lives
        yield module or d.modulename, qualname or getattr(d, "qualname", ""), d.docstring or ""
        if isinstance(d, pdoc.doc.Namespace):
            stack += [m for m in d.own_members if not isinstance(m, pdoc.doc.Module)]
            if isinstance(d, pdoc.doc.Module):
                stack += d.submodules


def load_lazy(names: list[str]) -> list[str]:
    """Import the modules ``names`` and the lazily loaded attributes (PEP 562) they list in ``__all__``,
    so that pdoc finds them as ordinary attributes; returns what failed to import."""
    problems = []
    for name in names:
        try:
            mod = importlib.import_module(name)
            for attr in getattr(mod, "__all__", ()):
                getattr(mod, attr)
        except Exception as exc:  # noqa: BLE001 - any import-time failure is a documentation problem
            problems.append(f"{name}: cannot be imported ({type(exc).__name__}: {exc})")
    return problems


def broken_references(names: list[str]) -> list[str]:
    """Every docstring reference in the modules ``names`` (and their submodules) that names nothing."""
    import pdoc.doc

    out = load_lazy(names)
    for name in names:
        if name not in sys.modules:
            continue
        for module, qualname, text in _docstrings(pdoc.doc.Module(importlib.import_module(name))):
            for _, target in ROLE.findall(text):
                if not resolves(target, module, qualname):
                    out.append(f"{module}{'.' + qualname if qualname else ''}: reference {target!r} names nothing")
    return sorted(set(out))


def build(out: Path, names: list[str] | None = None) -> list[str]:
    """Write the HTML reference of ``names`` (default :func:`modules`) into ``out``; return the problems
    (pdoc's warnings, import errors, broken references). An empty list: a clean build."""
    import pdoc
    import pdoc.render

    names = names or modules()
    imported = load_lazy(names)
    pdoc.render.configure(docformat="restructuredtext", show_source=False,
                          footer_text="edgefl API reference (python -m edgefl.api.docs)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*(n for n in names if n in sys.modules), output_directory=Path(out))
    problems = [f"pdoc: {w.message}" for w in caught if issubclass(w.category, UserWarning)
                and "pdoc" in (w.filename or "")]
    return sorted(set(imported + problems + broken_references(names)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgefl.api.docs", description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=Path("docs/api"), help="output folder (default docs/api)")
    args = ap.parse_args(argv)
    problems = build(args.output)
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{args.output / 'index.html'}: {'built' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
