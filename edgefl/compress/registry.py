"""Map a scenario's ``compression.scheme`` to its config model and its Compressor."""

from __future__ import annotations

import importlib.util

from typing import Annotated, Any, Union

from pydantic import BaseModel, Field

from edgefl.compress.base import Compressor
from edgefl.compress.rd_ideal import RDIdeal, RDIdealConfig
from edgefl.compress.simple import NoCompression, NoneConfig, SignSGD, SignSGDConfig

#: scheme name -> (config model, compressor class taking that config)
SCHEMES: dict[str, tuple[type[BaseModel], type[Compressor]]] = {
    "none": (NoneConfig, NoCompression),
    "signsgd": (SignSGDConfig, SignSGD),
    "rd-ideal": (RDIdealConfig, RDIdeal),
}

if importlib.util.find_spec("edgefl.compress.dsc") is not None:
    from edgefl.compress.dsc import DSCCompressor, DSCConfig

    SCHEMES["dsc"] = (DSCConfig, DSCCompressor)


def compression_config_type() -> Any:
    """The discriminated union of all scheme configs, for the scenario schema."""
    members = tuple(cfg for cfg, _ in SCHEMES.values())
    if len(members) == 1:
        return members[0]
    return Annotated[Union[members], Field(discriminator="scheme")]  # noqa: UP007


def make_compressor(cfg: BaseModel, **kwargs: Any) -> Compressor:
    """Instantiate the compressor for a validated scheme config."""
    _, cls = SCHEMES[cfg.scheme]  # type: ignore[attr-defined]
    return cls(cfg, **kwargs)
