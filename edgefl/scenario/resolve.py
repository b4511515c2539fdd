"""Turn parsed scenario data into a :class:`ResolvedScenario`: apply ``--set`` overrides,
merge the named channel profile under the inline channel fields, validate against
:class:`~edgefl.scenario.schema.Scenario`, then resolve device profile names and check
that referenced model and data files exist."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edgefl import catalog
from edgefl.devices import ServerProfile, WorkerProfile, parse_device_profile
from edgefl.estimate import Estimate, available_memory, estimate_scenario, npy_shape, over_limit
from edgefl.learning.config import ModelConfig
from edgefl.radio.config import ChannelConfig
from edgefl.scenario.errors import (
    MISSING,
    FieldProblem,
    ScenarioError,
    problems_from_validation,
)
from edgefl.scenario.geometry import apply_nominal_heights, channel_source, check_geometry
from edgefl.scenario.overrides import apply_overrides
from edgefl.scenario.schema import Scenario


@dataclass(frozen=True)
class ResolvedScenario:
    """A validated scenario with its catalog names resolved to profiles."""

    scenario: Scenario
    source: str  # file the scenario came from (for messages), or "<dict>"
    base_dir: Path
    worker_devices: tuple[WorkerProfile, ...]  # one per worker
    server_profile: ServerProfile
    estimate: Estimate | None = None  # memory and wall time, computed before anything was allocated


_TAGS = ("kind", "model", "layout", "scheme")


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, recursively; a sub-section whose tag (kind/model/...) changes is
    replaced whole, since the old variant's parameters do not apply to the new one."""
    out = dict(base)
    for k, v in top.items():
        old = out.get(k)
        same_variant = isinstance(old, dict) and isinstance(v, dict) and all(
            v.get(t, old.get(t)) == old.get(t) for t in _TAGS)
        out[k] = _deep_merge(old, v) if same_variant else v
    return out


def _resolve_channel(data: dict[str, Any], dirs: list[Path]) -> list[FieldProblem]:
    """Merge the profile named by ``channel.profile`` under the inline channel fields. The
    profile file is validated on its own first, so a mistake inside it is reported against
    that file and its field, not against the scenario."""
    ch = data.get("channel")
    if not isinstance(ch, dict) or "profile" not in ch:
        return []
    name = ch["profile"]
    try:
        prof = catalog.load_profile("channels", name, dirs)
    except catalog.CatalogError as exc:
        return [FieldProblem("channel.profile", name, str(exc))]
    try:
        ChannelConfig.model_validate(prof)
    except ValidationError as exc:
        path = str(catalog.find_profile("channels", name, dirs))
        return [_in_profile(p, "channel.profile", name) for p in problems_from_validation(exc, ChannelConfig, path)]
    for meta in ("name", "description"):
        prof.pop(meta, None)
    inline = {k: v for k, v in ch.items() if k != "profile"}
    data["channel"] = _deep_merge(prof, inline)
    return []


def _in_profile(problem: FieldProblem, field: str, name: str) -> FieldProblem:
    """A problem inside a profile file, saying which scenario field named the profile."""
    return FieldProblem(problem.field, problem.value, f"{problem.message} (profile {name!r}, named by {field})",
                        problem.file)


def _device(name: str, field: str, kind: str, dirs: list[Path], problems: list[FieldProblem]) -> Any:
    try:
        raw = catalog.load_profile("devices", name, dirs)
        prof = parse_device_profile(raw)
    except catalog.CatalogError as exc:
        problems.append(FieldProblem(field, name, str(exc)))
        return None
    except ValidationError as exc:
        path = str(catalog.find_profile("devices", name, dirs))
        found = problems_from_validation(exc, [WorkerProfile, ServerProfile], path)
        problems.extend(_in_profile(p, field, name) for p in found)
        return None
    if prof.kind != kind:
        allowed = [n for n in catalog.available("devices", dirs) if _profile_kind(n, dirs) == kind]
        problems.append(FieldProblem(field, name, f"is a {prof.kind} profile; {kind} profiles: {', '.join(allowed)}"))
        return None
    return prof


def _profile_kind(name: str, dirs: list[Path]) -> str | None:
    try:
        return catalog.load_profile("devices", name, dirs).get("kind")
    except catalog.CatalogError:  # a broken file elsewhere on the path must not hide this error
        return None


def _check_model_files(cfg: ModelConfig, base_dir: Path) -> list[FieldProblem]:
    """The ONNX model and the .npz data named by the scenario exist and can be read; a
    problem names the file and the scenario field that referenced it."""
    out = []
    if cfg.model.endswith(".onnx"):
        path = base_dir / cfg.model
        if not path.exists():
            out.append(FieldProblem("model.model", cfg.model, f"ONNX file not found (relative to {base_dir})"))
        else:
            problem = _special_file(path, "ONNX model") or _onnx_problem(path)
            if problem:
                out.append(FieldProblem("model.model", cfg.model, f"{path}: {problem}"))
    data = getattr(cfg.data, "path", None)
    if data is not None:
        path = base_dir / data
        if not path.exists():
            out.append(FieldProblem("model.data.path", str(data), f"data file not found (relative to {base_dir})"))
        else:
            problem = _special_file(path, "data file") or _npz_problem(path)
            if problem:
                out.append(FieldProblem("model.data.path", str(data), f"{path}: {problem}"))
    return out


def _special_model_files(cfg: ModelConfig, base_dir: Path) -> list[FieldProblem]:
    """The model's ONNX and .npz files that exist but are not regular files (FIFO, device, directory)."""
    out = []
    for field, value, what in (("model.model", cfg.model if cfg.model.endswith(".onnx") else None, "ONNX model"),
                               ("model.data.path", getattr(cfg.data, "path", None), "data file")):
        if value is not None and (base_dir / value).exists():
            problem = _special_file(base_dir / value, what)
            if problem:
                out.append(FieldProblem(field, str(value), f"{base_dir / value}: {problem}"))
    return out


def _special_file(path: Path, what: str) -> str | None:
    """Why ``path`` is not a regular file (a FIFO, a device, a directory), before anything opens it."""
    from edgefl.file_checks import FileArgError, check_input_file

    try:
        check_input_file(path, what)
    except FileArgError as exc:
        return exc.reason
    return None


def _npz_problem(path: Path) -> str | None:
    """Why ``path`` is not an .npz with arrays X and y of equal length (reads headers only)."""
    import zipfile
    import zlib

    import numpy as np

    if not zipfile.is_zipfile(path):
        return "not an .npz file (not a zip archive; truncated or another format?)"
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = sorted({"X", "y"} - set(npz.files))
            if missing:
                return f"lacks array(s) {', '.join(missing)}; it has {', '.join(npz.files) or 'none'}"
            n_x, n_y = ((shape or (None,))[0] for shape in (npy_shape(npz.zip, name) for name in ("X", "y")))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
        return f"not a readable .npz file ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})"
    if n_x is not None and n_y is not None and (n_x != n_y or n_x < 2):
        return f"X has {n_x} rows and y {n_y}; need the same number, at least 2"
    return _npz_sizes_problem(path)


def _npz_sizes_problem(path: Path) -> str | None:
    """A member whose .npy header declares more data than the archive stores (numpy would
    allocate the declared size before finding out)."""
    from edgefl.file_sizes import InputFileError, npz_members

    try:
        npz_members(path)
    except InputFileError as exc:
        return str(exc).removeprefix(f"{path}: ")
    except Exception:  # noqa: BLE001 - unreadable archives were reported above
        pass
    return None


def _onnx_problem(path: Path) -> str | None:
    """Why ``path`` is not a loadable ONNX model."""
    import onnx

    try:
        onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several unrelated types on garbage
        return f"not a readable ONNX model ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})"
    return None


class ResourceError(ScenarioError):
    """A valid scenario whose estimated memory exceeds the limit; ``estimate`` has the terms."""

    def __init__(self, source: str, problems: list[FieldProblem], estimate: Estimate) -> None:
        super().__init__(source, problems)
        self.estimate = estimate


def resolve(data: Any, source: str = "<dict>", base_dir: Path | None = None,
            overrides: list[str] | None = None, max_memory: float | None = None) -> ResolvedScenario:
    """Validate a scenario given as parsed YAML; raise ScenarioError naming every problem.

    Before anything per worker is allocated, the run's memory is estimated
    (:mod:`edgefl.estimate`); above ``max_memory`` bytes (default: the machine's available
    memory) a :class:`ResourceError` names the fields that drive it."""
    base_dir = Path(base_dir or ".").resolve()
    if not isinstance(data, dict):
        raise ScenarioError(source, [FieldProblem("", type(data).__name__, "a scenario must be a YAML mapping")])
    try:
        data = apply_overrides(data, overrides or [])
    except ValueError as exc:
        raise ScenarioError(source, [FieldProblem("--set", MISSING, str(exc).removeprefix("--set "))]) from exc
    dirs = [base_dir]
    inline_channel = data.get("channel")
    problems = _resolve_channel(data, dirs)
    if problems:
        raise ScenarioError(source, problems)
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, problems_from_validation(exc, Scenario)) from exc
    problems = _special_model_files(scn.model, base_dir) if scn.model is not None else []
    if problems:  # before the estimate opens them: a FIFO would block it forever
        raise ScenarioError(source, problems)
    est = estimate_scenario(scn, base_dir)
    limit = available_memory() if max_memory is None else max_memory
    why = over_limit(est, limit)
    if why is not None:
        top = max(est.memory, key=lambda t: t.amount)
        raise ResourceError(source, [FieldProblem(top.fields, MISSING, why)], est)
    # heights after the memory check: they are per worker
    scn = apply_nominal_heights(scn)
    profile = inline_channel.get("profile") if isinstance(inline_channel, dict) else None
    problems = check_geometry(scn, *channel_source(
        inline_channel, catalog.find_profile("channels", profile, dirs) if profile else None, source))
    if problems:
        raise ScenarioError(source, problems)

    problems = []
    w = scn.workers
    names: list[str] = []
    fields: list[str] = []
    if w.groups is not None:
        for gi, g in enumerate(w.groups):
            names += [g.device] * g.count
            fields += [f"workers.groups[{gi}].device"] * g.count
    else:
        names = [w.device] * w.count  # type: ignore[list-item]
        fields = ["workers.device"] * w.count
    for oi, ov in enumerate(w.overrides):  # the path names the entry of the overrides list
        if ov.device is not None:
            names[ov.index] = ov.device
            fields[ov.index] = f"workers.overrides[{oi}].device"
    cache: dict[str, Any] = {}
    devices = []
    for name, field in zip(names, fields):
        if name not in cache:
            cache[name] = _device(name, field, "worker", dirs, problems)
        devices.append(cache[name])
    server = _device(scn.server.profile, "server.profile", "server", dirs, problems)
    if scn.model is not None:
        problems += _check_model_files(scn.model, base_dir)
    if problems:
        raise ScenarioError(source, problems)
    return ResolvedScenario(scn, source, base_dir, tuple(devices), server, est)
