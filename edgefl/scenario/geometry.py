"""The scenario's antenna heights against its 38.901 channel, at load time.

:func:`apply_nominal_heights` gives a scenario that names a 3GPP TR 38.901 channel but no
server height (``server.position``) or worker height (``workers.placement.height_m``) the
model's nominal evaluation heights (:func:`edgefl.radio.heights.nominal_heights_m`): a
planner who picks the UMi profile and places no BS gets the 10 m UMi BS, not the schema's
generic 25 m. Heights the scenario gives are used as given.

:func:`check_geometry` turns :func:`edgefl.radio.heights.check_heights` into scenario
problems (errors) naming the field the height came from and the channel profile file whose
model it violates, and into :class:`~edgefl.radio.heights.HeightWarning` warnings.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from edgefl.radio.heights import HeightWarning, check_heights, link_heights_m, nominal_heights_m
from edgefl.scenario.errors import FieldProblem
from edgefl.scenario.schema import Scenario


def apply_nominal_heights(scn: Scenario) -> Scenario:
    """``scn`` with the channel's nominal 38.901 heights where the scenario sets none."""
    nominal = nominal_heights_m(scn.channel)
    if nominal is None:
        return scn
    h_bs, h_ut = nominal
    update = {}
    if "position" not in scn.server.model_fields_set:
        x, y, _ = scn.server.position
        update["server"] = scn.server.model_copy(update={"position": (x, y, h_bs)})
    pl = scn.workers.placement
    if "height_m" not in pl.model_fields_set:
        update["workers"] = scn.workers.model_copy(update={"placement": pl.model_copy(update={"height_m": h_ut})})
    return scn.model_copy(update=update) if update else scn


def worker_heights(scn: Scenario) -> tuple[np.ndarray, list[str]]:
    """(K,) worker z (m), known before the random placement, and the field each comes from."""
    w = scn.workers
    pl = w.placement
    z = np.full(w.count, float(pl.height_m))
    fields = ["workers.placement.height_m"] * w.count
    if pl.layout == "explicit":
        for i, p in enumerate(pl.positions_m):
            if len(p) == 3:
                z[i], fields[i] = float(p[2]), f"workers.placement.positions_m[{i}]"
    for j, ov in enumerate(w.overrides):
        if ov.position is not None:
            z[ov.index], fields[ov.index] = float(ov.position[2]), f"workers.overrides[{j}].position"
    return z, fields


def check_geometry(scn: Scenario, channel_file: str,
                   pinned_in: dict[str, tuple[str, str | None]]) -> list[FieldProblem]:
    """Height errors of the scenario for its 38.901 channel (warnings are emitted).

    ``channel_file``: the profile file (or the scenario) that defines the channel's model;
    ``pinned_in``: for ``h_bs_m`` / ``h_ut_m`` pinned by the channel, the field and file that
    set it (``channel.pathloss.h_ut_m`` in the scenario, ``pathloss.h_ut_m`` in a profile)."""
    ch = scn.channel
    z, fields = worker_heights(scn)
    h_bs, h_ut = link_heights_m(ch, scn.server.position[2], z)
    problems = []
    pl = scn.workers.placement
    # the placement's indoor share over the channel's default, as edgefl.radio.link_state.resolve_indoor
    # (not imported: it would load scipy into `edgefl validate`)
    floors = ch.o2i is not None and ch.o2i.indoor_height == "floors" and (
        ch.o2i.indoor_fraction if pl.indoor_fraction is None else pl.indoor_fraction) > 0
    for issue in check_heights(ch, h_bs, h_ut, floors):
        key = "h_bs_m" if issue.end == "bs" else "h_ut_m"
        pin = ch.pathloss.h_bs_m if issue.end == "bs" else ch.pathloss.h_ut_m
        if pin is not None:
            field, file = pinned_in[key]
            where = [(field, pin, file)]
        elif issue.end == "bs":
            where = [("server.position", list(scn.server.position), None)]
        else:
            seen: dict[str, list[int]] = {}
            for i in issue.workers:
                seen.setdefault(fields[i], []).append(i)
            where = [(f, float(h_ut[ws[0]]), None) for f, ws in seen.items()]
        for field, value, file in where:
            workers = ""
            if issue.end == "ut" and pin is None:
                ws = [i for i in issue.workers if fields[i] == field]
                workers = f" (worker{'s' * (len(ws) > 1)} {', '.join(map(str, ws[:8]))}{', ...' * (len(ws) > 8)})"
            text = f"{issue.message}; channel model {ch.pathloss.model!r} from {channel_file}{workers}"
            if issue.error:
                problems.append(FieldProblem(field, value, text, file))
            else:
                warnings.warn(f"{field} = {value}: {text}", HeightWarning, stacklevel=4)
    return problems


def channel_source(data_channel: object, profile_path: Path | None,
                   source: str) -> tuple[str, dict[str, tuple[str, str | None]]]:
    """Where the channel's model and its height pins come from: (file, {pin: (field, file)})."""
    inline = (data_channel.get("pathloss") or {}) if isinstance(data_channel, dict) else {}
    inline = inline if isinstance(inline, dict) else {}
    file = str(profile_path) if profile_path is not None and "model" not in inline else source
    pins = {}
    for key in ("h_bs_m", "h_ut_m"):
        if key in inline or profile_path is None:
            pins[key] = (f"channel.pathloss.{key}", None)
        else:
            pins[key] = (f"pathloss.{key}", str(profile_path))
    return file, pins
