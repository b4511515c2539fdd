"""One digest of everything a run's numbers depend on, for resuming a run and naming sweep points.

The resolved scenario (as JSON), the device profile of every worker and of the server, the
edgefl version, and the sha256 of every file the scenario reads (channel and device traces,
the ONNX model, an .npz data set): a changed trace or model file gives a new digest, so a
sweep never reuses a point computed from the old file and a resume refuses to mix them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from edgefl import __version__, strict_json
from edgefl.scenario.resolve import ResolvedScenario


def referenced_files(rs: ResolvedScenario) -> dict[str, Path]:
    """Scenario field -> the file it reads (files that cannot be found are left out: resolving
    the scenario has already reported them)."""
    from edgefl.trace_table import TraceError, find_trace

    scn, out = rs.scenario, {}
    for field, cfg, kind in (("channel.trace", getattr(scn.channel, "trace", None), "channels"),
                             ("workers.trace", getattr(scn.workers, "trace", None), "devices")):
        if cfg is not None:
            try:
                out[field] = find_trace(cfg.file, rs.base_dir, kind)
            except TraceError:
                pass
    if scn.model is not None:
        from edgefl.learning.config import SHIPPED_MODELS

        name = scn.model.model
        if name not in SHIPPED_MODELS:  # shipped models are part of the edgefl version
            path = Path(name) if Path(name).is_absolute() else rs.base_dir / name
            if path.is_file():
                out["model.model"] = path
        data = scn.model.data
        if getattr(data, "kind", None) == "npz":
            p = data.path if data.path.is_absolute() else rs.base_dir / data.path
            if p.is_file():
                out["model.data.path"] = p
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_digest(rs: ResolvedScenario, scenario_json: dict[str, Any] | None = None) -> str:
    """sha256 (hex) of the run's inputs (module docstring); ``scenario_json`` replaces the scenario's
    own JSON (a sweep drops the output settings it controls)."""
    blob = {
        "scenario": rs.scenario.model_dump(mode="json") if scenario_json is None else scenario_json,
        "workers": [d.model_dump(mode="json") for d in rs.worker_devices],
        "server": rs.server_profile.model_dump(mode="json"),
        "files": {field: _sha256(path) for field, path in sorted(referenced_files(rs).items())},
        "edgefl": __version__,
    }
    return hashlib.sha256(strict_json.dumps(blob, sort_keys=True).encode()).hexdigest()
