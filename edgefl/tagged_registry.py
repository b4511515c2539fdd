"""The two pieces every tag -> (config, implementation) registry of edgefl shares (compression
schemes in :mod:`edgefl.compress.registry`, link models in :mod:`edgefl.radio.link_registry`):
the discriminated union of the configs for the scenario schema, and implementations named as
``"module:Class"`` imported on first use (so heavy coders load only in the runs that need them)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Annotated, Any, Union

from pydantic import BaseModel, Field


def tagged_union(configs: Iterable[type[BaseModel]], tag: str) -> Any:
    """The union of ``configs`` discriminated by their ``tag`` literal field (one config: itself)."""
    members = tuple(configs)
    if len(members) == 1:
        return members[0]
    return Annotated[Union[members], Field(discriminator=tag)]  # noqa: UP007


def implementation(entry: type | str) -> type:
    """A registry entry's class: the class itself, or ``"module:Class"`` imported now."""
    if isinstance(entry, str):
        module, name = entry.split(":")
        return getattr(importlib.import_module(module), name)
    return entry
