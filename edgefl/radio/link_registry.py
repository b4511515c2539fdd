"""The link models a scenario can name in ``channel.link`` (see :mod:`edgefl.radio.link`).

One entry per link model: its config (a pydantic model with a ``model`` literal tag) and its
:class:`~edgefl.radio.link.LinkModel` class, or ``"module:Class"`` imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from edgefl.radio.link import LinkModel, ShannonLink, ShannonLinkConfig
from edgefl.radio.nr_config import NRLinkConfig
from edgefl.radio.nr_link import NRLink
from edgefl.tagged_registry import implementation, tagged_union

if TYPE_CHECKING:
    from edgefl.radio.config import ChannelConfig

#: link model tag -> (config model, LinkModel class or "module:Class" imported on first use)
LINK_MODELS: dict[str, tuple[type[BaseModel], type[LinkModel] | str]] = {
    "shannon": (ShannonLinkConfig, ShannonLink),
    "nr": (NRLinkConfig, NRLink),
}


def link_config_type() -> Any:
    """The discriminated union of all link configs (``channel.link`` of a scenario)."""
    return tagged_union((cfg for cfg, _ in LINK_MODELS.values()), "model")


def make_link(channel: ChannelConfig, cfg: BaseModel | None = None) -> LinkModel:
    """The link model of a channel (``cfg`` defaults to ``channel.link``)."""
    cfg = cfg if cfg is not None else channel.link  # type: ignore[attr-defined]
    cls = implementation(LINK_MODELS[cfg.model][1])  # type: ignore[attr-defined]
    return cls.from_config(cfg, channel)  # type: ignore[union-attr]
