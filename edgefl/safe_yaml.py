"""Bounded YAML parsing for scenario and profile files.

``yaml.safe_load`` trusts its input: a "billion laughs" file (nested aliases) is small on
disk but expands to ~10^9 nodes as soon as anything walks it, 100,000 nested ``[`` overflow
the composer's recursion, random bytes raise UnicodeDecodeError and a duplicated key
silently keeps the last value. :func:`parse_yaml` refuses all of these with a one-line
:class:`YAMLLimitError` before any of the data is used:

* the file must be UTF-8 text without NUL bytes and at most :data:`MAX_BYTES` long;
* mappings may not repeat a key (the message gives both lines);
* nesting is at most :data:`MAX_DEPTH` levels;
* the document, with every alias expanded, has at most :data:`MAX_NODES` nodes
  (counted on the composed node graph, memoised per node, so the count itself is cheap);
* recursive aliases (``&a [*a]``) are refused.

Plain scalars such as ``20e6`` or ``1e-3`` are read as floats (YAML 1.2 core schema);
PyYAML's YAML 1.1 resolver would read them as text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import yaml

MAX_BYTES = 1 << 20  # 1 MiB: a scenario with 10^4 explicit positions is ~0.4 MiB
MAX_DEPTH = 64
MAX_NODES = 200_000


class YAMLLimitError(ValueError):
    """YAML text that is not UTF-8, too large, too deep, too alias-heavy, or repeats a key."""


_FLOAT_12 = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader with a depth limit in the composer and duplicate-key detection."""

    # own copy (with own lists): add_implicit_resolver would append to SafeLoader's lists
    yaml_implicit_resolvers: ClassVar = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise YAMLLimitError(f"nesting deeper than {MAX_DEPTH} levels at line {mark.line + 1}")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                line = first.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # unhashable key: the base class reports it
                continue
            if line != key_node.start_mark.line + 1:
                raise YAMLLimitError(f"duplicate key {preview_key(key)} at line {key_node.start_mark.line + 1} "
                                     f"(first given at line {line}); give each key once")
        return super().construct_mapping(node, deep=deep)


_BoundedLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def preview_key(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _expanded_size(root: yaml.Node) -> int:
    """Nodes in the document with aliases expanded; raise on recursion, above MAX_NODES
    values or MAX_DEPTH levels (aliases can stack depth beyond what the composer saw)."""
    memo: dict[int, tuple[int, int]] = {}  # id -> (size, height)
    active: set[int] = set()

    def visit(node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in active:
            raise YAMLLimitError(f"recursive alias at line {node.start_mark.line + 1}")
        if key in memo:
            total, height = memo[key]
        else:
            if depth > MAX_DEPTH:
                raise YAMLLimitError(f"nesting deeper than {MAX_DEPTH} levels (aliases expanded) "
                                     f"at line {node.start_mark.line + 1}")
            active.add(key)
            children = node.value if isinstance(node, yaml.SequenceNode) else (
                [c for kv in node.value for c in kv] if isinstance(node, yaml.MappingNode) else [])
            total, height = 1, 0
            for child in children:
                s, h = visit(child, depth + 1)
                total, height = total + s, max(height, h + 1)
                if total > MAX_NODES:
                    break
            active.discard(key)
            memo[key] = (total, height)
        if depth + height > MAX_DEPTH:
            raise YAMLLimitError(f"nesting deeper than {MAX_DEPTH} levels (aliases expanded) "
                                 f"at line {node.start_mark.line + 1}")
        if total > MAX_NODES:
            raise YAMLLimitError(f"the document expands to more than {MAX_NODES:,} values (aliases "
                                 f"included, e.g. the one at line {node.start_mark.line + 1}); scenario "
                                 "files are small: remove the aliases or the bulk data")
        return total, height

    return visit(root, 1)[0]


def parse_yaml(text: str) -> Any:
    """Parse one YAML document from ``text`` within the limits of the module docstring."""
    if "\x00" in text:
        raise YAMLLimitError("binary data (NUL characters), not a YAML text file")
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml_text(path: Path) -> str:
    """The text of a YAML file: at most MAX_BYTES, UTF-8, no NUL bytes (YAMLLimitError otherwise)."""
    with open(path, "rb") as fh:
        raw = fh.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        size = Path(path).stat().st_size
        raise YAMLLimitError(f"file is {size / 2**20:.1f} MiB; scenario and profile files are limited to "
                             f"{MAX_BYTES // 2**20} MiB")
    if b"\x00" in raw:
        raise YAMLLimitError("binary data (NUL bytes), not a YAML text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YAMLLimitError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}, "
                             f"offset {exc.start}); save the file as UTF-8") from None
