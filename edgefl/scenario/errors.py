"""Scenario errors: one :class:`FieldProblem` per bad field (dotted path, value, what is
allowed) and the translation of pydantic's validation errors into them."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError

from edgefl.scenario.preview import preview

MAX_SHOWN = 12  # problems listed in one message: the message fits on one screen

class _Missing:
    """The value of a problem that has none to show (a missing field, a file-level problem)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:  # pickled by name: unpickles as the one MISSING
        return "MISSING"


MISSING: Any = _Missing()  # a problem with no value to show (missing field, file-level problem)


@dataclass(frozen=True)
class FieldProblem:
    """One validation problem: dotted field path, offending value, what is allowed, and the
    file it is in when that is not the scenario itself (a channel or device profile, a dataset)."""

    field: str
    value: Any
    message: str
    file: str | None = None

    def __iter__(self) -> Iterator[Any]:
        """Unpacks as ``(path, value, message)``: ``for path, value, msg in err.problems``."""
        return iter((self.field, self.value, self.message))

    def render(self) -> str:
        val = "" if self.value is MISSING else f" = {preview(self.value)}"
        return f"{self.field or '(top level)'}{val}: {self.message}"


class ScenarioError(ValueError):
    """A scenario that cannot be run; ``problems`` name field, value and what is allowed."""

    def __init__(self, source: str, problems: list[FieldProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: invalid scenario ({len(problems)} problem{'s' * (len(problems) != 1)})"]
        lines += [f"  {p.file or source}: {p.render()}" for p in problems[:MAX_SHOWN]]
        if len(problems) > MAX_SHOWN:
            lines.append(f"  ... and {len(problems) - MAX_SHOWN} more")
        super().__init__("\n".join(lines))


def _model_classes(annotation: Any) -> list[type[BaseModel]]:
    """The BaseModel classes an annotation can hold (through Optional, Union, list, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _model_classes(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, tuple, dict):
        out: list[type[BaseModel]] = []
        for arg in typing.get_args(annotation):
            out += _model_classes(arg)
        return out
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _walk(roots: list[type[BaseModel]], loc: tuple[Any, ...]) -> tuple[str, list[type[BaseModel]]]:
    """Dotted field path for a pydantic error location (union tags dropped) and the models
    that can sit at the parent of the last element."""
    models = list(roots)
    parts: list[str] = []
    parents = models
    for item in loc:
        parents = models
        if isinstance(item, int):
            parts.append(f"[{item}]")
            continue
        fields = [m for m in models if item in m.model_fields]
        if fields:
            parts.append(("." if parts else "") + str(item))
            models = [c for m in fields for c in _model_classes(m.model_fields[item].annotation)]
            continue
        tagged = [m for m in models if any(
            typing.get_args(f.annotation) == (item,) for f in m.model_fields.values()
        )]
        if tagged:  # a discriminated-union tag, not a field
            models = tagged
            continue
        parts.append(("." if parts else "") + str(item))
        models = []
    return "".join(parts), parents


_GOT = {bool: "a boolean", float: "a float", str: "text", list: "a list", dict: "a mapping", type(None): "null"}


def _message(err: dict[str, Any]) -> str:
    """pydantic's message, reworded where it speaks pydantic rather than scenario."""
    etype, msg, ctx = err["type"], err["msg"], err.get("ctx") or {}
    if etype == "union_tag_invalid":
        tags = str(ctx.get("expected_tags", "")).replace("'", "")
        return f"not a known choice; allowed: {tags}"
    if etype == "union_tag_not_found":
        return "required field is missing (it says which variant this section is)"
    if etype == "int_type" and isinstance(err.get("input"), float):
        return ("expected an integer, got a float; write a whole number without a decimal point "
                "or exponent (1000000, not 1e6 or 1000000.0)")
    if etype.endswith("_type") or etype in ("int_from_float", "float_parsing", "int_parsing"):
        got = _GOT.get(type(err.get("input")))
        if got is not None and "got" not in msg:
            msg = f"{msg}, got {got}"
    return msg.removeprefix("Value error, ")


def problems_from_validation(exc: ValidationError, root: type[BaseModel] | list[type[BaseModel]],
                             file: str | None = None) -> list[FieldProblem]:
    """FieldProblems for a ValidationError raised while validating ``root`` (or a union of
    the models listed), located in ``file`` if that is not the scenario."""
    roots = root if isinstance(root, list) else [root]
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        path, parents = _walk(roots, loc)
        etype = err["type"]
        value = err.get("input", MISSING)
        if etype == "extra_forbidden":
            allowed = sorted({f for m in parents for f in m.model_fields})
            msg = f"unknown key; allowed keys here: {', '.join(allowed)}"
        elif etype == "missing":
            value = MISSING
            msg = "required field is missing"
        else:
            msg = _message(err)
        if etype in ("union_tag_invalid", "union_tag_not_found"):  # point at the tag field itself
            ctx = err.get("ctx") or {}
            tag_field = str(ctx.get("discriminator", "")).strip("'")
            path = f"{path}.{tag_field}" if path else tag_field
            value = ctx.get("tag", MISSING)
        if isinstance(value, dict) and etype != "extra_forbidden":
            value = MISSING  # the section's own fields are named by the message
        out.append(FieldProblem(path, value, msg, file))
    return out
