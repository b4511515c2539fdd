"""What a scenario's input files hold, from their headers and sizes alone (nothing read in full).

The memory estimate (:mod:`edgefl.estimate`) counts the files a run reads before any of them is
loaded, so a 200 MB trace or an .npz whose members inflate to gigabytes is refused by name:

* a CSV trace: its line count (one pass over the bytes, counting newlines, in 1 MiB blocks) and
  its header's columns;
* an .npz: every member's shape and dtype from its .npy header and its uncompressed size from
  the zip directory (``ZipInfo.file_size``); a member whose header declares more bytes than it
  stores is reported (numpy would allocate the declared size before finding the short read);
* an ONNX model: every initializer's dims and type, walked in the protobuf wire format
  (Protocol Buffers encoding, https://protobuf.dev/programming-guides/encoding/) over a memory
  map, skipping the tensor data, plus the lengths of its external-data files. The same walk gives
  the model without its tensor data (:func:`onnx_without_weights`) for shape inference.
"""

from __future__ import annotations

import csv
import math
import mmap
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BLOCK = 1 << 20
HEADER_SCAN_BYTES = 1 << 20  # a trace header is looked for in the first MiB


class InputFileError(ValueError):
    """A file whose headers contradict themselves (the message names the file and the part)."""


# --------------------------------------------------------------------------- CSV traces


@dataclass(frozen=True)
class TraceShape:
    lines: int  # upper bound on data rows (every line of the file)
    columns: int  # fields of the header (0 when none was found in the first MiB)
    size: int  # bytes


def trace_shape(path: Path) -> TraceShape:
    """Line count and header width of a CSV trace (a regular file; the caller checks that)."""
    lines, last = 0, b"\n"
    with open(path, "rb") as fh:
        head = fh.read(HEADER_SCAN_BYTES)
        for block in _blocks(fh, head):
            lines += block.count(b"\n")
            last = block[-1:] or last
    lines += last != b"\n"  # a last line without its newline
    return TraceShape(lines, _header_width(head), os.stat(path).st_size)


def _blocks(fh: Any, first: bytes) -> Iterator[bytes]:
    if first:
        yield first
    while block := fh.read(BLOCK):
        yield block


def _header_width(head: bytes) -> int:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            try:
                return len(next(csv.reader([line])))
            except csv.Error:
                return 0
    return 0


# --------------------------------------------------------------------------- .npz archives


@dataclass(frozen=True)
class NpzMember:
    name: str  # array name (member name without .npy)
    shape: tuple[int, ...] | None  # None: header unreadable (numpy reports it on load)
    itemsize: int
    stored: int  # uncompressed bytes in the archive (zip directory)
    compressed: int

    @property
    def count(self) -> int:
        """Elements (from the header; else bounded by the stored bytes, one byte each)."""
        return math.prod(self.shape) if self.shape is not None else self.stored

    @property
    def nbytes(self) -> int:
        """Bytes numpy allocates for the array: the header's shape x itemsize."""
        return self.count * self.itemsize if self.shape is not None else self.stored


def npz_members(path: Path) -> dict[str, NpzMember]:
    """Every ``*.npy`` member of an .npz: header shape and dtype, stored and compressed sizes.
    Raises :class:`InputFileError` (naming the file and member) when a header declares more data
    than the member stores, and ``zipfile.BadZipFile``/OSError for an unreadable archive."""
    out: dict[str, NpzMember] = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():  # a repeated name: the last wins, as in zipfile's lookup
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename[:-4]
            shape, itemsize, header_len = _npy_header(zf, info)
            m = NpzMember(name, shape, itemsize, info.file_size, info.compress_size)
            if shape is not None and m.nbytes + header_len > info.file_size:
                raise InputFileError(
                    f"{path}: member {info.filename!r} declares shape {shape} ({_fmt(m.nbytes)}) but stores only "
                    f"{_fmt(max(info.file_size - header_len, 0))}; the archive is truncated or forged")
            out[name] = m
    return out


def _npy_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...] | None, int, int]:
    """(shape, itemsize, header bytes) of one member; (None, 1, 0) when numpy cannot read the header."""
    import numpy as np

    fmt = np.lib.format
    try:
        with zf.open(info) as fh:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _, dtype = fmt.read_array_header_2_0(fh)
            else:
                return None, 1, 0
            header_len = fh.tell()
    except Exception:  # noqa: BLE001 - numpy raises assorted types on a bad header; np.load reports it
        return None, 1, 0
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        return None, 1, 0
    return tuple(shape), max(int(dtype.itemsize), 1), header_len


def _fmt(n: float) -> str:
    from edgefl.estimate import fmt_bytes

    return fmt_bytes(n)


# --------------------------------------------------------------------------- ONNX models

# field numbers of onnx.proto (ModelProto.graph, GraphProto.initializer, TensorProto.*)
_MODEL_GRAPH, _GRAPH_INITIALIZER = 7, 5
_T_DIMS, _T_TYPE, _T_NAME, _T_EXTERNAL, _T_LOCATION = 1, 2, 8, 13, 14
_T_DATA = {4, 5, 6, 7, 9, 10, 11}  # float/int32/string/int64/raw/double/uint64 data
_ITEMSIZE = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 8: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2}


@dataclass(frozen=True)
class OnnxTensor:
    name: str
    dims: tuple[int, ...]
    data_type: int
    external: dict[str, str]  # external_data entries (location, offset, length), empty when inline

    @property
    def nbytes(self) -> int:
        return math.prod(self.dims) * _ITEMSIZE.get(self.data_type, 8)


@dataclass(frozen=True)
class OnnxWeights:
    tensors: tuple[OnnxTensor, ...]
    file_bytes: int  # size of the .onnx file
    external_bytes: int  # bytes of external data the initializers reference (existing files only)

    @property
    def params(self) -> int:
        return sum(math.prod(t.dims) for t in self.tensors)

    @property
    def nbytes(self) -> int:
        """Bytes of all initializers once loaded (dims x itemsize)."""
        return sum(t.nbytes for t in self.tensors)


class _Wire:
    """Protocol Buffers wire-format reader over a buffer (varints, tags, length-delimited fields)."""

    def __init__(self, buf: Any, where: str) -> None:
        self.buf, self.where = buf, where

    def varint(self, i: int, end: int) -> tuple[int, int]:
        shift = value = 0
        while True:
            if i >= end or shift > 63:
                raise InputFileError(f"{self.where}: malformed protobuf (bad varint at byte {i})")
            b = self.buf[i]
            value |= (b & 0x7F) << shift
            i += 1
            if b < 0x80:
                return value, i
            shift += 7

    def fields(self, start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
        """(field number, wire type, value or payload start, payload end, field start) per field."""
        i = start
        while i < end:
            field_start = i
            key, i = self.varint(i, end)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, i = self.varint(i, end)
                yield number, wire, value, i, field_start
            elif wire == 2:
                n, i = self.varint(i, end)
                if i + n > end:
                    raise InputFileError(f"{self.where}: malformed protobuf (field {number} runs past its end)")
                yield number, wire, i, i + n, field_start
                i += n
            elif wire in (1, 5):
                i += 8 if wire == 1 else 4
                if i > end:
                    raise InputFileError(f"{self.where}: malformed protobuf (truncated fixed-width field)")
                yield number, wire, i, i, field_start
            else:
                raise InputFileError(f"{self.where}: malformed protobuf (wire type {wire} at byte {field_start})")


def _tensor(w: _Wire, start: int, end: int) -> OnnxTensor:
    dims: list[int] = []
    name, dtype, external = "", 0, {}
    for number, wire, a, b, _ in w.fields(start, end):
        if number == _T_DIMS and wire == 0:
            dims.append(a)
        elif number == _T_DIMS and wire == 2:  # packed
            i = a
            while i < b:
                d, i = w.varint(i, b)
                dims.append(d)
        elif number == _T_TYPE and wire == 0:
            dtype = a
        elif number == _T_NAME and wire == 2:
            name = bytes(w.buf[a:b]).decode("utf-8", errors="replace")
        elif number == _T_EXTERNAL and wire == 2:
            kv = {n: bytes(w.buf[x:y]).decode("utf-8", errors="replace") for n, t, x, y, _ in w.fields(a, b) if t == 2}
            external[kv.get(1, "")] = kv.get(2, "")
    dims = [d - (1 << 64) if d >= 1 << 63 else d for d in dims]  # int64 two's complement
    if any(d < 0 for d in dims):
        raise InputFileError(f"{w.where}: initializer {name!r} has negative dimensions {tuple(dims)}")
    return OnnxTensor(name, tuple(dims), dtype, external)


def _walk(path: Path, keep: bool) -> tuple[list[OnnxTensor], bytes]:
    """Initializers of the main graph and (with ``keep``) the model's bytes without their data."""
    size = os.stat(path).st_size
    if size == 0:
        raise InputFileError(f"{path}: empty file, not an ONNX model")
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        w = _Wire(buf, str(path))
        tensors: list[OnnxTensor] = []
        out = bytearray()
        for number, wire, a, b, fs in w.fields(0, size):
            if number != _MODEL_GRAPH or wire != 2:
                if keep:
                    out += buf[fs:b]
                continue
            graph = bytearray()
            for gn, gw, ga, gb, gfs in w.fields(a, b):
                if gn != _GRAPH_INITIALIZER or gw != 2:
                    if keep:
                        graph += buf[gfs:gb]
                    continue
                tensors.append(_tensor(w, ga, gb))
                if keep:
                    body = bytearray()
                    for tn, _tw, _ta, tb, tfs in w.fields(ga, gb):
                        if tn not in _T_DATA and tn not in (_T_EXTERNAL, _T_LOCATION):
                            body += buf[tfs:tb]
                    graph += _key(_GRAPH_INITIALIZER) + _len(len(body)) + body
            if keep:
                out += _key(_MODEL_GRAPH) + _len(len(graph)) + graph
    return tensors, bytes(out)


def _key(number: int) -> bytes:
    return _len(number << 3 | 2)


def _len(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def onnx_weights(path: Path) -> OnnxWeights:
    """Initializer dims and types of an ONNX model and the sizes of its external data, without
    reading any tensor data. Raises :class:`InputFileError` on malformed protobuf."""
    tensors, _ = _walk(path, keep=False)
    external = 0
    for t in tensors:
        loc = t.external.get("location")
        if not loc:
            continue
        if "length" in t.external and t.external["length"].isdigit():
            external += int(t.external["length"])
            continue
        f = path.parent / loc
        try:
            st = f.stat()
        except (OSError, ValueError):
            continue
        off = t.external.get("offset", "0")
        external += max(st.st_size - (int(off) if off.isdigit() else 0), 0)
    return OnnxWeights(tuple(tensors), os.stat(path).st_size, external)


def onnx_without_weights(path: Path) -> Any:
    """The model (an ``onnx.ModelProto``) with every main-graph initializer's data dropped (dims
    and types kept): enough for shape inference, at the size of the graph's structure."""
    import onnx

    _, data = _walk(path, keep=True)
    return onnx.ModelProto.FromString(data)
