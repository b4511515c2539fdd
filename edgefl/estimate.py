"""Memory and wall-time estimate of a scenario, from its fields alone, before any work.

A scenario asking for 10^9 workers or 10^12 parameters used to run for a minute and then
die with MemoryError; :func:`estimate_scenario` answers in microseconds from the numbers
in the file, and :func:`over_limit` turns an estimate above the limit (the machine's
available memory or ``--max-memory``) into an error naming the fields that drive it.

The model is a sum of terms, each ``coefficient x product of scenario numbers``:

=========================  ================================================  ===========
term                       bytes                                             fields
=========================  ================================================  ===========
per-worker state           K x 8 KiB (SimPy processes, radio and device      workers.count
                           state)
gradient vectors           c_scheme x K x P x 8 (float64 local gradients,    workers.count,
                           compressor and aggregation temporaries)           P
round records              rounds x K x 512 (timeline intervals, rows)       rounds, K
training data (models)     3 x N x F x 8 (train/test split, reshaped copy)   model.data
minibatch activations      3 x B x (F + A) x 8, A = activations per sample   model.batch_size
=========================  ================================================  ===========

plus a fixed 300 MiB for the interpreter and libraries (numpy, scipy, numba,
onnxruntime). The coefficients were measured with ``tracemalloc`` on quickstart variants
(peak traced bytes / K P 8: none 2.5, signsgd 3.1, rd-ideal 3.9, dsc 5.2, dsc bit-true
6.9, rounded up) and are checked against measured runs in tests/test_scenario_estimate.py. Wall time uses the
same products with seconds per unit measured on one core (a rough figure, +-3x).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a run-time import would cycle: edgefl.scenario.resolve imports this module
    from edgefl.scenario.schema import Scenario

FIXED_BYTES = 300 * 2**20
WORKER_BYTES = 8 * 2**10
RECORD_BYTES = 512  # per worker per round
#: peak bytes per float64 gradient entry, by compression scheme (tracemalloc, see docstring)
GRADIENT_COPIES = {"none": 3.0, "signsgd": 4.5, "rd-ideal": 4.5, "dsc": 5.5}
GRADIENT_COPIES_BIT_TRUE = 7.5
#: seconds per worker per round (SimPy events, radio draws) and per gradient entry per round
WORKER_ROUND_S = 3e-4
BUILD_WORKER_S = 1e-4  # per worker: radio state (path loss, shadowing, fading streams), devices
VALIDATE_BUILD_S = 0.5  # `validate` builds the whole simulation only when that is this quick
ENTRY_S = {"none": 2e-8, "signsgd": 4e-8, "rd-ideal": 6e-8, "dsc": 5e-7}
ENTRY_S_BIT_TRUE = 2.5e-6
TRAIN_FLOP_S = 2e9  # effective FLOP/s of onnxruntime on one thread for small models
DIGITS = (1797, 64)  # samples, features of scikit-learn's digits


@dataclass(frozen=True)
class Term:
    """One contribution to the estimate."""

    what: str
    amount: float  # bytes or seconds
    fields: str  # the scenario fields whose product drives it


@dataclass(frozen=True)
class Estimate:
    """Peak memory (bytes) and wall time (s) of a run, with the terms behind them."""

    memory: tuple[Term, ...]
    time: tuple[Term, ...]

    @property
    def memory_bytes(self) -> float:
        return FIXED_BYTES + sum(t.amount for t in self.memory)

    @property
    def wall_s(self) -> float:
        return sum(t.amount for t in self.time)

    def lines(self) -> list[str]:
        """Human-readable summary, largest terms first."""
        out = [(f"estimate: peak memory ~{fmt_bytes(self.memory_bytes)}, wall time ~{fmt_seconds(self.wall_s)} "
               "(rough, +-3x)")]
        for t in sorted(self.memory, key=lambda t: -t.amount):
            out.append(f"  memory {fmt_bytes(t.amount):>10}  {t.what} ({t.fields})")
        out.append(f"  memory {fmt_bytes(FIXED_BYTES):>10}  interpreter and libraries")
        for t in sorted(self.time, key=lambda t: -t.amount):
            out.append(f"  time   {fmt_seconds(t.amount):>10}  {t.what} ({t.fields})")
        return out


def fmt_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def fmt_seconds(s: float) -> str:
    for unit, size in (("years", 3.156e7), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s:.2g} s"


@dataclass(frozen=True)
class ModelSize:
    """What the estimate needs from an ONNX model: parameters, input features, activations per sample."""

    params: int
    features: int
    activations: int


def model_size(path: Path) -> ModelSize:
    """Parameter count and per-sample activation count of an ONNX model (shape inference,
    batch axis as 1); reads the file, runs nothing."""
    import onnx

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    params = sum(math.prod(t.dims) for t in model.graph.initializer)
    init = {t.name for t in model.graph.initializer}

    def numel(vi: Any) -> int:
        dims = vi.type.tensor_type.shape.dim
        return math.prod(d.dim_value if d.dim_value > 0 else 1 for d in dims)

    inputs = [vi for vi in model.graph.input if vi.name not in init]
    features = numel(inputs[0]) if inputs else 1
    acts = sum(numel(vi) for vi in (*model.graph.value_info, *model.graph.output))
    return ModelSize(int(params), int(features), int(acts))


def _shipped_model(name: str) -> Path:
    here = Path(__file__).resolve().parent
    for cand in (here.parent / "models", here / "_catalog" / "models"):
        if (cand / f"{name}.onnx").is_file():
            return cand / f"{name}.onnx"
    return here.parent / "models" / f"{name}.onnx"


def _data_shape(scn: Scenario, base_dir: Path, features: int) -> tuple[int, int]:
    """(samples, features) of the model's data set, from headers only."""
    data = scn.model.data  # type: ignore[union-attr]
    if data.kind == "digits":
        return DIGITS
    if data.kind == "synthetic":
        return data.num_samples, data.num_features
    try:
        import zipfile

        with zipfile.ZipFile(base_dir / data.path) as zf:
            shape = npy_shape(zf, "X")
    except Exception:  # noqa: BLE001 - the file checks report unreadable data; estimate with the model's input
        shape = None
    return (int(shape[0]), int(math.prod(shape[1:]))) if shape else (0, features)


def npy_shape(zf: Any, name: str) -> tuple[int, ...] | None:
    """Shape of array ``name`` in an open .npz (zip) archive, from its .npy header alone (no data read);
    None for a format version this numpy cannot read headers of."""
    import numpy as np

    fmt = np.lib.format
    with zf.open(f"{name}.npy") as fh:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            return tuple(fmt.read_array_header_1_0(fh)[0])
        if version == (2, 0):
            return tuple(fmt.read_array_header_2_0(fh)[0])
    return None


def estimate_scenario(scn: Scenario, base_dir: Path = Path(".")) -> Estimate:
    """Memory and time of running ``scn`` (see the module docstring for the model)."""
    k, rounds = scn.workers.count, scn.rounds
    scheme = scn.compression.scheme
    bit_true = scheme == "dsc" and scn.fidelity == "bit-true"
    copies = GRADIENT_COPIES_BIT_TRUE if bit_true else GRADIENT_COPIES.get(scheme, max(GRADIENT_COPIES.values()))
    per_entry_s = ENTRY_S_BIT_TRUE if bit_true else ENTRY_S.get(scheme, max(ENTRY_S.values()))
    mem = [Term("per-worker state", k * WORKER_BYTES, "workers.count"),
           Term("round records and timeline", rounds * k * RECORD_BYTES, "rounds x workers.count")]
    time = [Term("round timing", rounds * k * WORKER_ROUND_S, "rounds x workers.count"),
            Term("building per-worker state", build_seconds(scn), "workers.count")]
    if scn.gradients is not None and scn.gradients.source == "convex":
        g = scn.gradients
        # digits: 64 pixels; synthetic: num_features columns (AIADE test bed, learning/convex.py)
        p, p_field = (64, "the 64 digits features") if g.data == "digits" else (g.num_features,
                                                                                  "gradients.num_features")
        rows = 1797 if g.data == "digits" else g.num_samples
        mem.append(Term("training data", 3 * rows * p * 8, "gradients.num_samples x gradients.num_features"))
    elif scn.gradients is not None:
        p = scn.gradients.params
        p_field = "gradients.params"
    else:
        cfg = scn.model
        assert cfg is not None
        path = _shipped_model(cfg.model) if not cfg.model.endswith(".onnx") else base_dir / cfg.model
        try:
            size = model_size(path)
        except Exception:  # noqa: BLE001 - unreadable models are reported by the file checks
            size = ModelSize(0, 1, 0)
        p, p_field = size.params, f"the parameters of model.model {cfg.model!r}"
        n, f = _data_shape(scn, base_dir, size.features)
        batch = cfg.batch_size
        mem.append(Term("training data", 3 * n * f * 8, "model.data"))
        mem.append(Term("minibatch activations", 3 * batch * (f + size.activations) * 8, "model.batch_size"))
        time.append(Term("local training", rounds * k * batch * 6 * max(p, 1) / TRAIN_FLOP_S,
                         "rounds x workers.count x model.batch_size x parameters"))
    mem.append(Term(f"gradient vectors ({scheme}{', bit-true' if bit_true else ''})", copies * k * p * 8,
                    f"workers.count x {p_field}"))
    time.append(Term(f"gradient compression ({scheme})", rounds * k * p * per_entry_s,
                     f"rounds x workers.count x {p_field}"))
    return Estimate(tuple(mem), tuple(time))


def build_seconds(scn: Scenario) -> float:
    """Time to build the per-worker radio and device state of ``scn``."""
    return scn.workers.count * BUILD_WORKER_S


def available_memory() -> float:
    """Bytes the run may use: MemAvailable of /proc/meminfo, else physical memory, else inf."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def parse_memory(text: str) -> float:
    """``"4G"``, ``"512MiB"``, ``"2e9"`` -> bytes (binary units); ValueError otherwise."""
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    mult = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}.get(t[-1:], 1) if t else 1
    num = t[:-1] if t[-1:] in "kmgt" and t else t
    try:
        value = float(num) * mult
    except ValueError:
        raise ValueError(f"--max-memory {text!r}: expected a size such as 4G, 512M or 2e9 (bytes)") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"--max-memory {text!r}: must be a positive size")
    return value


def over_limit(est: Estimate, limit: float) -> str | None:
    """Why ``est`` does not fit in ``limit`` bytes (naming the driving fields), or None."""
    if est.memory_bytes <= limit:
        return None
    top = max(est.memory, key=lambda t: t.amount)
    head = f"needs ~{fmt_bytes(est.memory_bytes)} of memory, more than the {fmt_bytes(limit)} allowed"
    if top.amount < FIXED_BYTES:
        return f"{head}; {fmt_bytes(FIXED_BYTES)} of it is the interpreter and libraries alone: raise --max-memory"
    return (f"{head}; the largest part is {top.what}: ~{fmt_bytes(top.amount)} from {top.fields}. Reduce "
            "those fields (or raise --max-memory if the estimate is too pessimistic)")
