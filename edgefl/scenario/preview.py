"""Short previews of arbitrary values for error messages.

A bad value can be a 50 MB list or an alias-expanded structure of 10^9 nodes; an error
message shows its type, its size and its first characters, never the whole thing, and
building the preview costs O(1) whatever the value's size.
"""

from __future__ import annotations

from typing import Any

PREVIEW_CHARS = 60


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """``repr(value)`` if short, else type, size and the first characters:
    ``list of 1,000,000 items [1, 2, 3, ...`` or ``str of 5,000 chars 'abc...'``."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:
        return f"int of about {int(value.bit_length() * 0.30103):,} digits"  # repr may refuse > 4300 digits
    if isinstance(value, (bool, int, float, type(None))):
        text = repr(value)
        return text if len(text) <= limit else f"{type(value).__name__} with {len(text):,} digits {text[:20]}..."
    if isinstance(value, (str, bytes)):
        if len(value) <= limit:
            return repr(value)
        unit = "chars" if isinstance(value, str) else "bytes"
        return f"{type(value).__name__} of {len(value):,} {unit} {value[:limit]!r}..."
    if isinstance(value, dict):
        keys = []
        for i, k in enumerate(value):
            if i == 5:
                keys.append("...")
                break
            keys.append(preview(k, 20))
        text = _short_repr(value, limit)
        return text if text is not None else f"mapping of {len(value):,} keys ({', '.join(keys)})"
    if isinstance(value, (list, tuple, set, frozenset)):
        text = _short_repr(value, limit)
        kind = "list" if isinstance(value, list) else type(value).__name__
        return text if text is not None else f"{kind} of {len(value):,} items"
    text = _short_repr(value, limit)
    return text if text is not None else f"{type(value).__name__} object"


def _short_repr(value: Any, limit: int) -> str | None:
    """repr of a small container (few items, shallow), else None; never walks a big one."""
    if _small(value, budget=[limit]):
        text = repr(value)
        if len(text) <= limit:
            return text
    return None


def _small(value: Any, budget: list[int]) -> bool:
    budget[0] -= 1
    if budget[0] < 0:
        return False
    if isinstance(value, dict):
        return all(_small(k, budget) and _small(v, budget) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_small(v, budget) for v in value)
    if isinstance(value, (str, bytes)):
        budget[0] -= len(value) // 8
        return budget[0] >= 0
    return isinstance(value, (bool, int, float, type(None)))

