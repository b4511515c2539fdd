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
from edgefl.learning.config import ModelConfig
from edgefl.scenario.errors import (
    MISSING,
    FieldProblem,
    ScenarioError,
    plain_problems,
    problems_from_validation,
)
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
    ch = data.get("channel")
    if not isinstance(ch, dict) or "profile" not in ch:
        return []
    name = ch["profile"]
    try:
        prof = catalog.load_profile("channels", name, dirs)
    except catalog.CatalogError as exc:
        return [FieldProblem("channel.profile", name, str(exc))]
    for meta in ("name", "description"):
        prof.pop(meta, None)
    inline = {k: v for k, v in ch.items() if k != "profile"}
    data["channel"] = _deep_merge(prof, inline)
    return []


def _device(name: str, field: str, kind: str, dirs: list[Path], problems: list[FieldProblem]) -> Any:
    try:
        raw = catalog.load_profile("devices", name, dirs)
        prof = parse_device_profile(raw)
    except catalog.CatalogError as exc:
        problems.append(FieldProblem(field, name, str(exc)))
        return None
    except ValidationError as exc:
        path = catalog.find_profile("devices", name, dirs)
        detail = "; ".join(p.render() for p in plain_problems(exc))
        problems.append(FieldProblem(field, name, f"profile file {path} is invalid: {detail}"))
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
    out = []
    if cfg.model.endswith(".onnx") and not (base_dir / cfg.model).is_file():
        out.append(FieldProblem("model.model", cfg.model, f"ONNX file not found (relative to {base_dir})"))
    path = getattr(cfg.data, "path", None)
    if path is not None and not (base_dir / path).is_file():
        out.append(FieldProblem("model.data.path", str(path), f"data file not found (relative to {base_dir})"))
    return out


def resolve(data: Any, source: str = "<dict>", base_dir: Path | None = None,
            overrides: list[str] | None = None) -> ResolvedScenario:
    """Validate a scenario given as parsed YAML; raise ScenarioError naming every problem."""
    base_dir = Path(base_dir or ".").resolve()
    if not isinstance(data, dict):
        raise ScenarioError(source, [FieldProblem("", type(data).__name__, "a scenario must be a YAML mapping")])
    try:
        data = apply_overrides(data, overrides or [])
    except ValueError as exc:
        raise ScenarioError(source, [FieldProblem("--set", MISSING, str(exc))]) from exc
    dirs = [base_dir]
    problems = _resolve_channel(data, dirs)
    if problems:
        raise ScenarioError(source, problems)
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, problems_from_validation(exc, Scenario)) from exc

    problems = []
    w = scn.workers
    names: list[str] = []
    if w.groups is not None:
        for g in w.groups:
            names += [g.device] * g.count
    else:
        names = [w.device] * w.count  # type: ignore[list-item]
    fields = ["workers.device" if w.groups is None else "workers.groups.device" for _ in names]
    for ov in w.overrides:
        if ov.device is not None:
            names[ov.index] = ov.device
            fields[ov.index] = f"workers.overrides[{ov.index}].device"
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
    return ResolvedScenario(scn, source, base_dir, tuple(devices), server)
