"""Map a scenario's ``compression.scheme`` to its config model and its Compressor."""

from __future__ import annotations

import importlib
from typing import Annotated, Any, Union

from pydantic import BaseModel, Field

from edgefl.compress.base import Compressor
from edgefl.compress.dsc_config import DSCConfig
from edgefl.compress.rd_ideal import RDIdeal, RDIdealConfig
from edgefl.compress.simple import NoCompression, NoneConfig, SignSGD, SignSGDConfig

#: scheme name -> (config model, compressor class taking that config, or "module:Class" loaded
#: on first use so that heavy coders (numba, scipy) are imported only by the runs that need them)
SCHEMES: dict[str, tuple[type[BaseModel], type[Compressor] | str]] = {
    "none": (NoneConfig, NoCompression),
    "signsgd": (SignSGDConfig, SignSGD),
    "rd-ideal": (RDIdealConfig, RDIdeal),
    "dsc": (DSCConfig, "edgefl.compress.dsc:DSCCompressor"),
}


def compression_config_type() -> Any:
    """The discriminated union of all scheme configs, for the scenario schema."""
    members = tuple(cfg for cfg, _ in SCHEMES.values())
    if len(members) == 1:
        return members[0]
    return Annotated[Union[members], Field(discriminator="scheme")]  # noqa: UP007


def make_compressor(cfg: BaseModel, **kwargs: Any) -> Compressor:
    """Instantiate the compressor for a validated scheme config."""
    _, cls = SCHEMES[cfg.scheme]  # type: ignore[attr-defined]
    if isinstance(cls, str):
        module, name = cls.split(":")
        cls = getattr(importlib.import_module(module), name)
    return cls(cfg, **kwargs)
