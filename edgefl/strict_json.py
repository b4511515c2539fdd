"""Strict JSON (RFC 8259): no ``NaN`` / ``Infinity`` tokens, which Python's ``json`` writes
by default and strict parsers (JavaScript's JSON.parse, jq, Go, Rust's serde_json) reject.
A non-finite number becomes ``null``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def json_ready(obj: Any) -> Any:
    """``obj`` with numpy scalars/arrays as Python values, paths as text and non-finite floats as None."""
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):  # numpy array or scalar
        return json_ready(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`json_ready` (obj), refusing anything still non-finite."""
    return json.dumps(json_ready(obj), allow_nan=False, **kwargs)
