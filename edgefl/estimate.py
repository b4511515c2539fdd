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
gradient vectors           c_scheme x K' x P x 8 (float64 local gradients,   workers.per_round,
                           compressor and aggregation temporaries; K' the    P
                           workers of a round, ``per_round`` or K; none in
                           a timing-only run of a value-free scheme)
round records              rounds x K' x 512 (timeline intervals, rows)      rounds, K'
training data (models)     3 x N x F x 8 (train/test split, reshaped copy)   model.data
minibatch activations      3 x B x (F + A) x 8, A = activations per sample   model.batch_size
channel / device trace     lines x (columns + 1) x 20 + 16 MiB of chunks     channel.trace,
                           (:func:`edgefl.file_sizes.trace_shape`)           workers.trace
.npz data set              per member X, y, X_test, y_test: header bytes     model.data.path
                           + c x count x 8 (c = 3.5, or 2.5 with X_test)
ONNX model                 8 x (initializer bytes + external data bytes)     model.model
=========================  ================================================  ===========

The input-file terms come from the files' headers and sizes before any of them is read (see
:mod:`edgefl.file_sizes`; an .npz data set replaces the ``training data`` row), and a refusal
names every input file with its share. Plus a fixed 300 MiB for the interpreter and
libraries (numpy, scipy, numba, onnxruntime). The coefficients were measured with ``tracemalloc`` on quickstart variants
(peak traced bytes / K P 8: none 2.5, signsgd 3.1, rd-ideal 3.9, dsc 5.2, dsc bit-true
6.9, rounded up) and are checked against measured runs in tests/test_scenario_estimate.py. Wall time uses the
same products with seconds per unit measured on one core (a rough figure, +-3x).
"""

from __future__ import annotations

import math
import os
import zipfile
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
#: schemes whose bit counts do not depend on the gradient values (Compressor.value_free_bits)
VALUE_FREE_SCHEMES = frozenset({"none", "signsgd", "ef-signsgd", "rd-ideal"})


@dataclass(frozen=True)
class Term:
    """One contribution to the estimate."""

    what: str
    amount: float  # bytes or seconds
    fields: str  # the scenario fields whose product drives it
    file: str | None = None  # the input file behind it (traces, data, model), named when refusing


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

    from edgefl.file_sizes import onnx_without_weights

    model = onnx.shape_inference.infer_shapes(onnx_without_weights(path))  # no tensor data read
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
    from edgefl.file_sizes import npz_members

    try:
        member = npz_members(base_dir / data.path).get("X")
        shape = None if member is None else member.shape
    except Exception:  # noqa: BLE001 - the file checks report unreadable or forged data; estimate with the model's input
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
    # the analytic failure model (edgefl.coding.ldpca_model) holds the decoder's LLRs as bit-true does
    llrs = bit_true or (scheme == "dsc" and getattr(scn.compression, "failure_model", False))
    copies = GRADIENT_COPIES_BIT_TRUE if llrs else GRADIENT_COPIES.get(scheme, max(GRADIENT_COPIES.values()))
    per_entry_s = ENTRY_S_BIT_TRUE if bit_true else ENTRY_S.get(scheme, max(ENTRY_S.values()))
    # only the round's participants (per_round of the population) draw, compress, upload and log
    active, k_field = (scn.workers.per_round, "workers.per_round") if scn.workers.per_round else (k, "workers.count")
    mem = [Term("per-worker state", k * WORKER_BYTES, "workers.count"),
           Term("round records and timeline", rounds * active * RECORD_BYTES, f"rounds x {k_field}")]
    time = [Term("round timing", rounds * active * WORKER_ROUND_S, f"rounds x {k_field}"),
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
        if cfg.data.kind != "npz":  # an .npz is counted member by member (input_file_terms)
            mem.append(Term("training data", 3 * n * f * 8, "model.data"))
        npz = getattr(cfg.data, "path", None)
        mem.append(Term("minibatch activations", 3 * batch * (f + size.activations) * 8,
                        "model.batch_size" + (f" x the features of model.data.path {str(npz)!r}" if npz else "")))
        time.append(Term("local training", rounds * active * batch * 6 * max(p, 1) / TRAIN_FLOP_S,
                         f"rounds x {k_field} x model.batch_size x parameters"))
    if scn.workers.per_round and _per_worker_memory(scn):  # error feedback / reference vectors of every
        mem.append(Term(f"per-worker compressor memory ({scheme})", k * p * 8,  # worker that ever took part
                        f"workers.count x {p_field}"))
    mem.extend(input_file_terms(scn, base_dir))
    # no gradients at all in a timing-only run of a scheme whose bits do not depend on the values
    # (edgefl.sim.bits_only)
    if not (scn.output.timing_only and scheme in VALUE_FREE_SCHEMES):
        mem.append(Term(f"gradient vectors ({scheme}{', bit-true' if bit_true else ''})", copies * active * p * 8,
                        f"{k_field} x {p_field}"))
        time.append(Term(f"gradient compression ({scheme})", rounds * active * p * per_entry_s,
                         f"rounds x {k_field} x {p_field}"))
    return Estimate(tuple(mem), tuple(time))


def _per_worker_memory(scn: Scenario) -> bool:
    """The scheme keeps a P-vector per worker across rounds (error feedback, IADE references)."""
    c = scn.compression
    return c.scheme in ("ef-signsgd", "iade", "aiade", "iade-sgd", "powersgd") or bool(
        getattr(c, "error_feedback", False))


#: trace reader (edgefl.trace_table): per row, (columns + line number) float64 twice (parsed, then
#: grouped by worker), plus its text chunks; measured with tracemalloc: 59 B/row for 3 columns, and
#: peak RSS (what the machine sees: freed blocks not returned at once) about 1.35 x that
TRACE_BYTES_PER_CELL = 20
TRACE_CHUNK_BYTES = 4 * (4 << 20)
#: .npz members edgefl.learning.data.load_npz reads, and the float64 copies of each that loading,
#: splitting and normalising make besides the raw array (tracemalloc peak of load_dataset on
#: 20000 x 784 float32: 431 MiB = raw + 3.1 float64 copies; with X_test/y_test: 1.8 copies)
NPZ_KEYS = ("X", "y", "X_test", "y_test")
NPZ_FLOAT_COPIES = {False: 3.5, True: 2.5}  # keyed by: the file has its own test set
#: copies of the ONNX weights held while the gradient and inference graphs are built (protobuf
#: objects, deep copies, serialised strings, two onnxruntime sessions; measured as RSS growth)
ONNX_WEIGHT_COPIES = 8


def input_file_terms(scn: Scenario, base_dir: Path) -> list[Term]:
    """Memory of reading the scenario's input files, from their headers and sizes
    (:mod:`edgefl.file_sizes`): channel and device traces, an .npz data set member by member,
    the ONNX model's initializers and external data. A file that cannot be found or read adds
    nothing here (the file checks report it)."""
    from edgefl import file_sizes as fs

    out = []
    for field, cfg, kind in (("channel.trace", getattr(scn.channel, "trace", None), "channels"),
                             ("workers.trace", getattr(scn.workers, "trace", None), "devices")):
        if cfg is None:
            continue
        try:
            from edgefl.trace_table import find_trace

            path = find_trace(cfg.file, base_dir, kind)
            shape = fs.trace_shape(path)
        except (OSError, ValueError):
            continue
        cells = shape.lines * (max(shape.columns, 3) + 1)
        out.append(Term(f"{field} {path.name} ({shape.lines:,} lines x {shape.columns} columns, "
                        f"{fmt_bytes(shape.size)})", cells * TRACE_BYTES_PER_CELL + TRACE_CHUNK_BYTES,
                        f"{field} {cfg.file!r}", str(path)))
    cfg = scn.model
    if cfg is None:
        return out
    data_path = getattr(cfg.data, "path", None)
    if data_path is not None:
        path = data_path if data_path.is_absolute() else base_dir / data_path
        try:
            members = fs.npz_members(path) if path.is_file() else {}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            members = {}
        loaded = [m for k, m in members.items() if k in NPZ_KEYS]
        if loaded:
            amount = sum(m.nbytes + NPZ_FLOAT_COPIES['X_test' in members] * 8 * m.count for m in loaded)
            parts = ", ".join(f"{m.name} {m.shape} {fmt_bytes(m.nbytes)}" for m in loaded)
            out.append(Term(f"data file {path.name} ({parts})", amount, f"model.data.path {str(data_path)!r}",
                            str(path)))
    if cfg.model.endswith(".onnx"):
        path = Path(cfg.model) if Path(cfg.model).is_absolute() else base_dir / cfg.model
        try:
            w = fs.onnx_weights(path) if path.is_file() else None
        except (OSError, ValueError):
            w = None
        if w is not None:
            total = max(w.nbytes, w.file_bytes) + w.external_bytes
            ext = f" + {fmt_bytes(w.external_bytes)} external data" if w.external_bytes else ""
            out.append(Term(f"ONNX model {path.name} ({fmt_bytes(w.file_bytes)}{ext}, {w.params:,} weights)",
                            ONNX_WEIGHT_COPIES * total, f"model.model {cfg.model!r}", str(path)))
    return out


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
    files = [t for t in est.memory if t.file is not None and (t is not top or top.amount < FIXED_BYTES)]
    if files:  # named even when not the largest part: reading them is what the refusal avoids
        head += "; input files: " + ", ".join(f"{t.file} ~{fmt_bytes(t.amount)}" for t in files)
    if top.amount < FIXED_BYTES:
        return f"{head}; {fmt_bytes(FIXED_BYTES)} of it is the interpreter and libraries alone: raise --max-memory"
    return (f"{head}; the largest part is {top.what}: ~{fmt_bytes(top.amount)} from {top.fields}. Reduce "
            "those fields (or raise --max-memory if the estimate is too pessimistic)")
