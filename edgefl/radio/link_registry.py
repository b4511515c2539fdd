"""The link models a scenario can name in ``channel.link`` (see :mod:`edgefl.radio.link`).

One entry per link model: its config (a pydantic model with a ``model`` literal tag) and its
:class:`~edgefl.radio.link.LinkModel` class, or ``"module:Class"`` imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import BaseModel, Field

from edgefl.radio.link import LinkModel, ShannonLink, ShannonLinkConfig
from edgefl.radio.nr_config import NRLinkConfig
from edgefl.radio.nr_link import NRLink

if TYPE_CHECKING:
    from edgefl.radio.config import ChannelConfig

#: link model tag -> (config model, LinkModel class or "module:Class" imported on first use)
LINK_MODELS: dict[str, tuple[type[BaseModel], type[LinkModel] | str]] = {
    "shannon": (ShannonLinkConfig, ShannonLink),
    "nr": (NRLinkConfig, NRLink),
}


def link_config_type() -> Any:
    """The discriminated union of all link configs (``channel.link`` of a scenario)."""
    members = tuple(cfg for cfg, _ in LINK_MODELS.values())
    if len(members) == 1:
        return members[0]
    return Annotated[Union[members], Field(discriminator="model")]  # noqa: UP007


def make_link(channel: ChannelConfig, cfg: BaseModel | None = None) -> LinkModel:
    """The link model of a channel (``cfg`` defaults to ``channel.link``)."""
    cfg = cfg if cfg is not None else channel.link  # type: ignore[attr-defined]
    _, cls = LINK_MODELS[cfg.model]  # type: ignore[attr-defined]
    if isinstance(cls, str):
        module, name = cls.split(":")
        cls = getattr(importlib.import_module(module), name)
    return cls.from_config(cfg, channel)  # type: ignore[union-attr]
