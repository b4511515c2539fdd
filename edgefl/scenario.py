"""The scenario schema (pydantic v2) and its loader.

A scenario is one YAML file. Loading it: parse the YAML, apply ``--set
dotted.path=value`` overrides, merge the named channel profile under the inline
channel fields, validate everything against :class:`Scenario` (unknown keys are
errors), then resolve device profile names. Every problem is reported as
``file: field = value: what is allowed`` through :class:`ScenarioError`, before
any simulation work starts.
"""

from __future__ import annotations

import copy
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    model_validator,
)

from edgefl import catalog
from edgefl.compress.registry import compression_config_type
from edgefl.devices import ServerProfile, WorkerProfile, parse_device_profile
from edgefl.learning.config import ModelConfig
from edgefl.learning.convex_source import ConvexConfig
from edgefl.radio.config import ChannelConfig
from edgefl.radio.placement import PlacementConfig

_MISSING = object()


class StrictModel(BaseModel):
    """Base of every scenario section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


Position = tuple[float, float, float]


class WorkerGroup(StrictModel):
    """``count`` workers sharing one device profile."""

    count: PositiveInt
    device: str


class WorkerOverride(StrictModel):
    """Per-worker exceptions to the group settings."""

    index: NonNegativeInt
    device: str | None = None
    position: Position | None = None


class WorkersConfig(StrictModel):
    """The K workers: how many, where, on which devices."""

    count: PositiveInt
    placement: PlacementConfig
    device: str | None = Field(None, description="device profile of every worker (or use groups)")
    groups: list[WorkerGroup] | None = Field(None, description="device profile per group; counts sum to count")
    overrides: list[WorkerOverride] = Field(default_factory=list)
    compute_jitter: NonNegativeFloat = Field(
        0.0, description="sigma of a lognormal factor on each worker's compute time per round (stragglers)"
    )

    @model_validator(mode="after")
    def _devices_given(self) -> WorkersConfig:
        if (self.device is None) == (self.groups is None):
            raise ValueError("give exactly one of 'device' (one profile for all) or 'groups'")
        if self.groups is not None:
            total = sum(g.count for g in self.groups)
            if total != self.count:
                raise ValueError(f"group counts sum to {total}, but count is {self.count}")
        seen: set[int] = set()
        for ov in self.overrides:
            if ov.index >= self.count:
                raise ValueError(f"override index {ov.index} out of range 0..{self.count - 1}")
            if ov.index in seen:
                raise ValueError(f"two overrides for worker {ov.index}; merge them into one")
            seen.add(ov.index)
        n_pos = len(getattr(self.placement, "positions_m", ()) or ())
        if getattr(self.placement, "layout", None) == "explicit" and n_pos != self.count:
            raise ValueError(f"placement lists {n_pos} positions but count is {self.count}")
        return self


class ServerConfig(StrictModel):
    """The parameter server: position (metres) and compute/decoder profile."""

    position: Position = (0.0, 0.0, 25.0)
    profile: str


class GaussianCEOConfig(StrictModel):
    """Synthetic gradients from the RD paper's CEO model: Y_k = X + N_k (RD paper Section II),
    X ~ N(0, sigma_x2 I_P) drawn afresh each round, N_k ~ N(0, sigma_n2 I_P) independent."""

    source: Literal["gaussian-ceo"] = "gaussian-ceo"
    params: PositiveInt = Field(..., description="P, parameters per gradient")
    sigma_x2: PositiveFloat
    sigma_n2: PositiveFloat
    flops_per_gradient: PositiveFloat = Field(1e8, description="FLOPs one worker spends per local gradient")


class RateAllocationConfig(StrictModel):
    """How rates, decoding order and FDMA bandwidth shares are allocated (RD paper problem P1, eq. 20)."""

    scheme: Literal["equal", "p1"] = "equal"
    target_distortion: PositiveFloat | None = Field(
        None, description="D of the aggregate per parameter; sets the rates of the rd-ideal scheme")
    snr: Literal["mean", "current"] = Field(
        "mean", description="SNR behind alpha_k = 1/log2(1+SNR_k): mean link budget or the fading state at round start")
    update: Literal["round", "once"] = Field("round", description="re-solve every round or once per run")
    initial_sigma_x2: PositiveFloat | None = Field(
        None, description="sigma_X^2 the server assumes before its first estimate (learning sources)")
    initial_sigma_n2: PositiveFloat | None = Field(None, description="sigma_N^2 assumed before the first estimate")


class OutputConfig(StrictModel):
    """Where results go. ``dir`` defaults to ``results/<name>`` under the current directory."""

    dir: str | None = None
    timeline: bool = True
    plots: bool = True


CompressionConfig = compression_config_type()


class Scenario(StrictModel):
    """One edgefl scenario."""

    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                      description="letters, digits, _ . - ; starts with a letter or digit (names the results folder)")
    seed: NonNegativeInt = 0
    rounds: PositiveInt
    workers: WorkersConfig
    server: ServerConfig
    channel: ChannelConfig
    gradients: Annotated[Union[GaussianCEOConfig, ConvexConfig], Field(discriminator="source")] | None = Field(  # noqa: UP007
        None, description="synthetic CEO gradients or the convex test bed (or use 'model')")
    model: ModelConfig | None = Field(None, description="real learning with an ONNX model (or use 'gradients')")
    compression: CompressionConfig = Field(default_factory=lambda: {"scheme": "none"})  # type: ignore[valid-type]
    rate_allocation: RateAllocationConfig = Field(default_factory=RateAllocationConfig)
    fidelity: Literal["analytic", "bit-true"] = "analytic"
    upload_order: Literal["completion", "index"] = Field(
        "completion", description="TDMA upload order: as workers finish (DSC paper Sec. IV-D) or by index"
    )
    output: OutputConfig = Field(default_factory=OutputConfig)

    @model_validator(mode="after")
    def _one_gradient_source(self) -> Scenario:
        if (self.gradients is None) == (self.model is None):
            raise ValueError("give exactly one gradient source: 'gradients' (synthetic gaussian-ceo) "
                             "or 'model' (ONNX model trained on data)")
        ra = self.rate_allocation
        if self.compression.scheme == "rd-ideal" and ra.target_distortion is None:
            raise ValueError("compression.scheme rd-ideal needs rate_allocation.target_distortion")
        if ra.target_distortion is not None and isinstance(self.gradients, GaussianCEOConfig):
            d_min = self.gradients.sigma_n2 / self.workers.count
            if ra.target_distortion <= d_min:
                raise ValueError(
                    f"rate_allocation.target_distortion = {ra.target_distortion!r} is not achievable: it must exceed "
                    f"sigma_n2 / K = {d_min!r} (RD paper Corollary 2)")
        if self.model is not None and ra.target_distortion is not None and (
                ra.initial_sigma_x2 is None or ra.initial_sigma_n2 is None):
            raise ValueError("with a model and a target_distortion, give rate_allocation.initial_sigma_x2 "
                             "and initial_sigma_n2 (the server's statistics before its first estimate)")
        return self


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class FieldProblem:
    """One validation problem: dotted field path, offending value, what is allowed."""

    field: str
    value: Any
    message: str

    def render(self) -> str:
        val = "" if self.value is _MISSING else f" = {self.value!r}"
        return f"{self.field or '(top level)'}{val}: {self.message}"


class ScenarioError(ValueError):
    """A scenario that cannot be run; ``problems`` name field, value and what is allowed."""

    def __init__(self, source: str, problems: list[FieldProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: invalid scenario ({len(problems)} problem{'s' * (len(problems) != 1)})"]
        lines += [f"  {source}: {p.render()}" for p in problems]
        super().__init__("\n".join(lines))


def _model_classes(annotation: Any) -> list[type[BaseModel]]:
    """The BaseModel classes an annotation can hold (through Optional, Union, list, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _model_classes(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, tuple, dict):
        out: list[type[BaseModel]] = []
        for arg in typing.get_args(annotation):
            out += _model_classes(arg)
        return out
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _walk(loc: tuple[Any, ...]) -> tuple[str, list[type[BaseModel]]]:
    """Dotted field path for a pydantic error location (union tags dropped) and the models
    that can sit at the parent of the last element."""
    models: list[type[BaseModel]] = [Scenario]
    parts: list[str] = []
    parents = models
    for item in loc:
        parents = models
        if isinstance(item, int):
            parts.append(f"[{item}]")
            continue
        fields = [m for m in models if item in m.model_fields]
        if fields:
            parts.append(("." if parts else "") + str(item))
            models = [c for m in fields for c in _model_classes(m.model_fields[item].annotation)]
            continue
        tagged = [m for m in models if any(
            typing.get_args(f.annotation) == (item,) for f in m.model_fields.values()
        )]
        if tagged:  # a discriminated-union tag, not a field
            models = tagged
            continue
        parts.append(("." if parts else "") + str(item))
        models = []
    return "".join(parts), parents


def _lookup(data: Any, loc: tuple[Any, ...]) -> Any:
    cur = data
    for item in loc:
        if isinstance(cur, dict) and item in cur:
            cur = cur[item]
        elif isinstance(cur, list) and isinstance(item, int) and 0 <= item < len(cur):
            cur = cur[item]
        else:
            continue  # union tags are in loc but not in the data
    return cur


def _problems_from_validation(exc: ValidationError) -> list[FieldProblem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        path, parents = _walk(loc)
        msg = err["msg"]
        etype = err["type"]
        value = err.get("input", _MISSING)
        if etype == "extra_forbidden":
            allowed = sorted({f for m in parents for f in m.model_fields})
            msg = f"unknown key; allowed keys here: {', '.join(allowed)}"
        elif etype == "missing":
            value = _MISSING
            msg = "required field is missing"
        elif etype == "union_tag_invalid":
            msg = msg.replace("Input tag", "scheme")
        if isinstance(value, dict) and etype != "extra_forbidden" and len(repr(value)) > 120:
            value = _MISSING
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        out.append(FieldProblem(path, value, msg))
    return out


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """Split ``a.b.0.c=value`` into a key path and a YAML-parsed value."""
    if "=" not in text:
        raise ValueError(f"--set {text!r}: expected dotted.path=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ValueError(f"--set {text!r}: empty field name in {key!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ValueError(f"--set {text!r}: value is not valid YAML ({exc})") from exc
    path: list[str | int] = [int(p) if p.isdigit() else p for p in key.split(".")]
    return path, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``dotted.path=value`` override applied."""
    data = copy.deepcopy(data)
    for text in overrides:
        path, value = parse_override(text)
        cur: Any = data
        for i, part in enumerate(path[:-1]):
            nxt = path[i + 1]
            if isinstance(cur, list):
                if not isinstance(part, int) or part >= len(cur):
                    raise ValueError(f"--set {text!r}: no list item {part!r}")
                cur = cur[part]
                continue
            if part not in cur or cur[part] is None:
                cur[part] = [] if isinstance(nxt, int) else {}
            cur = cur[part]
            if not isinstance(cur, (dict, list)):
                raise ValueError(f"--set {text!r}: {'.'.join(map(str, path[: i + 1]))} is not a section")
        last = path[-1]
        if isinstance(cur, list):
            if not isinstance(last, int) or last >= len(cur):
                raise ValueError(f"--set {text!r}: no list item {last!r}")
        cur[last] = value
    return data


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


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class ResolvedScenario:
    """A validated scenario with its catalog names resolved to profiles."""

    scenario: Scenario
    source: str  # file the scenario came from (for messages), or "<dict>"
    base_dir: Path
    worker_devices: tuple[WorkerProfile, ...]  # one per worker
    server_profile: ServerProfile


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
        detail = "; ".join(p.render() for p in _plain_problems(exc))
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


def _plain_problems(exc: ValidationError) -> list[FieldProblem]:
    return [
        FieldProblem(".".join(map(str, e["loc"])), e.get("input", _MISSING), e["msg"])
        for e in exc.errors(include_url=False)
    ]


def resolve(data: Any, source: str = "<dict>", base_dir: Path | None = None,
            overrides: list[str] | None = None) -> ResolvedScenario:
    """Validate a scenario given as parsed YAML; raise ScenarioError naming every problem."""
    base_dir = Path(base_dir or ".").resolve()
    if not isinstance(data, dict):
        raise ScenarioError(source, [FieldProblem("", type(data).__name__, "a scenario must be a YAML mapping")])
    try:
        data = apply_overrides(data, overrides or [])
    except ValueError as exc:
        raise ScenarioError(source, [FieldProblem("--set", _MISSING, str(exc))]) from exc
    dirs = [base_dir]
    problems = _resolve_channel(data, dirs)
    if problems:
        raise ScenarioError(source, problems)
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _problems_from_validation(exc)) from exc

    problems = []
    w = scn.workers
    names: list[str] = []
    if w.groups is not None:
        for g in w.groups:
            names += [g.device] * g.count
    else:
        names = [w.device] * w.count  # type: ignore[list-item]
    fields = ["workers.device" if w.groups is None else f"workers.groups.device" for _ in names]
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


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> ResolvedScenario:
    """Load, override, validate and resolve a scenario file."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(str(path), [FieldProblem("", _MISSING, "file not found" if not path.exists()
                                                     else "not a regular file")])
    try:
        data = catalog.load_yaml(path)
    except catalog.CatalogError as exc:
        msg = str(exc)
        prefix = f"{path}: "
        raise ScenarioError(str(path), [FieldProblem("", _MISSING, msg[len(prefix):] if msg.startswith(prefix) else msg)])
    return resolve(data, str(path), path.parent, overrides)


def json_schema() -> dict[str, Any]:
    """JSON Schema of a scenario file."""
    return Scenario.model_json_schema()
