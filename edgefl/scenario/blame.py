"""Which scenario fields fed a computation that failed.

Radio, coding, learning and allocation code validate their own arguments (``snr_linear
must be positive and finite``) but do not know which scenario field the argument came
from. When such an error escapes to the command line, :func:`blame` names the part of
the code that raised it (the innermost edgefl module on the traceback) and the scenario
fields that feed that part, so the message points the user at their file instead of at
a traceback.
"""

from __future__ import annotations

import traceback

#: module prefix -> (what was being computed, scenario fields that feed it); longest prefix wins
FEEDS: dict[str, tuple[str, str]] = {
    "edgefl.radio": ("the radio link (path loss, fading, SNR, rates)",
                     "channel.*, workers.placement, server.position, the devices' tx_power_dbm"),
    "edgefl.coding": ("the distributed source coder", "compression.*"),
    "edgefl.compress": ("the gradient compressor", "compression.*, rate_allocation.target_distortion"),
    "edgefl.learning": ("the learning model or its data", "model.*"),
    "edgefl.learning.convex": ("the convex test bed", "gradients.*, workers.count"),
    "edgefl.theory": ("the rate allocation (RD paper P1)",
                      "rate_allocation.*, gradients.sigma_x2, gradients.sigma_n2, channel.*"),
    "edgefl.sim.allocation": ("the rate allocation (RD paper P1)",
                              "rate_allocation.*, gradients.sigma_x2, gradients.sigma_n2, channel.*"),
    "edgefl.sim.ceo_source": ("the synthetic gradients", "gradients.*, workers.count"),
    "edgefl.sim.participation": ("the round's participants or its deadline",
                                 "workers.count, workers.per_round, workers.sampling, the availability "
                                 "weights, round_deadline_s"),
    "edgefl.sim": ("the round timing", "workers.*, rounds, round_deadline_s, the device profiles"),
    "edgefl.planning": ("the plan", "rate_allocation.*, channel.*, gradients.*"),
}


def blame(exc: BaseException) -> tuple[str, str] | None:
    """(what was computed, fields feeding it) for the innermost edgefl frame of ``exc``'s traceback."""
    modules = [f.filename for f in traceback.extract_tb(exc.__traceback__)]
    for filename in reversed(modules):
        mod = _module_name(filename)
        if mod is None:
            continue
        best = max((p for p in FEEDS if mod == p or mod.startswith(p + ".")), key=len, default=None)
        if best is not None:
            return FEEDS[best]
    return None


def _module_name(filename: str) -> str | None:
    parts = filename.replace("\\", "/").removesuffix(".py").split("/")
    if "edgefl" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("edgefl")
    return ".".join(parts[i:])


def explain(exc: BaseException, source: str) -> str:
    """One-screen message for an unexpected error while building or running ``source``."""
    text = str(exc).strip().splitlines()
    first = text[0][:300] if text else ""
    msg = f"{source}: {type(exc).__name__}: {first}"
    found = blame(exc)
    if found is not None:
        what, fields = found
        msg += f"\n  raised while computing {what}; check the scenario fields {fields}"
    return msg + "\n  (run 'edgefl --debug ...' for the traceback)"
