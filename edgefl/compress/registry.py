"""Map a scenario's ``compression.scheme`` to its config model and its Compressor."""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel

from edgefl.compress.base import Compressor
from edgefl.compress.dsc_config import DSCConfig
from edgefl.compress.ef_signsgd import EFSignSGDConfig
from edgefl.compress.iade import AIADEConfig, IADEConfig, IADESGDConfig
from edgefl.compress.powersgd import PowerSGDConfig
from edgefl.compress.qsgd import QSGDConfig
from edgefl.compress.rd_ideal import RDIdeal, RDIdealConfig
from edgefl.compress.simple import NoCompression, NoneConfig, SignSGD, SignSGDConfig
from edgefl.compress.sparsify import RandKConfig, TopKConfig
from edgefl.compress.terngrad import TernGradConfig
from edgefl.tagged_registry import implementation, tagged_union

#: scheme name -> (config model, compressor class taking that config, or "module:Class" loaded
#: on first use so that heavy coders (numba, scipy) are imported only by the runs that need them)
SCHEMES: dict[str, tuple[type[BaseModel], type[Compressor] | str]] = {
    "none": (NoneConfig, NoCompression),
    "signsgd": (SignSGDConfig, SignSGD),
    "rd-ideal": (RDIdealConfig, RDIdeal),
    "dsc": (DSCConfig, "edgefl.compress.dsc:DSCCompressor"),
    "iade": (IADEConfig, "edgefl.compress.iade:IADE"),
    "aiade": (AIADEConfig, "edgefl.compress.iade:IADE"),
    "iade-sgd": (IADESGDConfig, "edgefl.compress.iade:IADE"),
    "qsgd": (QSGDConfig, "edgefl.compress.qsgd:QSGD"),
    "terngrad": (TernGradConfig, "edgefl.compress.terngrad:TernGrad"),
    "topk": (TopKConfig, "edgefl.compress.sparsify:Sparsifier"),
    "randk": (RandKConfig, "edgefl.compress.sparsify:Sparsifier"),
    "ef-signsgd": (EFSignSGDConfig, "edgefl.compress.ef_signsgd:EFSignSGD"),
    "powersgd": (PowerSGDConfig, "edgefl.compress.powersgd:PowerSGD"),
}


def compression_config_type() -> Any:
    """The discriminated union of all scheme configs, for the scenario schema."""
    return tagged_union((cfg for cfg, _ in SCHEMES.values()), "scheme")


def make_compressor(cfg: BaseModel, **kwargs: Any) -> Compressor:
    """Instantiate the compressor for a validated scheme config. Keyword arguments the
    constructor does not name (``param_shapes``, ``num_params``, ``problem``, offered to every
    scheme) are dropped (a ``**overrides`` catch-all does not count as naming them)."""
    cls = implementation(SCHEMES[cfg.scheme][1])  # type: ignore[attr-defined]
    named = {name for name, p in inspect.signature(cls.__init__).parameters.items()
             if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)}
    return cls(cfg, **{k: v for k, v in kwargs.items() if k in named})
