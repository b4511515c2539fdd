"""The one pydantic base class of every configuration section (scenario, channel, device,
model, compression): unknown keys are errors, NaN/inf are errors, instances are frozen,
and numbers are not silently coerced.

Pydantic's lax mode turns ``true`` into 1, ``3.0`` or ``1e9`` into an integer and the
text ``"20"`` into a number. In a scenario file each of those is almost always a mistake
(``rounds: true`` ran one round), so validation is strict: an integer field takes only
integers, a number field integers or floats, never booleans or text. The only lax step
kept is the one YAML needs: a list where a tuple is declared, text where a path is.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, model_validator

Converter = Callable[[Any], Any]


def _converter(annotation: Any) -> Converter | None:
    """How to turn YAML's list/str into the tuple/Path ``annotation`` declares (None: leave as is)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _converter(args[0])
    if origin in (Union, types.UnionType):
        convs = [c for c in map(_converter, args) if c is not None]
        return convs[0] if convs else None  # union members here share one container kind
    if origin is tuple:
        return lambda v: tuple(v) if isinstance(v, list) else v
    if origin is list and args:
        inner = _converter(args[0])
        if inner is not None:
            return lambda v: [inner(x) for x in v] if isinstance(v, list) else v
        return None
    if annotation is Path:
        return lambda v: Path(v) if isinstance(v, str) else v
    return None


@cache
def _converters(model: type[BaseModel]) -> dict[str, Converter]:
    out = {}
    for name, info in model.model_fields.items():
        conv = _converter(info.annotation)
        if conv is not None:
            out[name] = conv
    return out


class StrictModel(BaseModel):
    """Base of every configuration section: ``extra="forbid"``, no NaN/inf, frozen, strict
    numbers (no bool -> int, float -> int or text -> number)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _yaml_containers(cls, data: Any) -> Any:
        convs = _converters(cls)
        if not convs or not isinstance(data, dict) or not any(k in convs for k in data):
            return data
        return {k: convs[k](v) if k in convs else v for k, v in data.items()}
