"""A scheme parameter that cannot work with the scenario's gradients (e.g. top-k with k > P),
found when the compressor is built; the simulator reports it against ``compression.<field>``."""

from __future__ import annotations

from typing import Any


class SchemeParameterError(ValueError):
    """``field`` of the compression section, its ``value`` and what is allowed."""

    def __init__(self, field: str, value: Any, message: str) -> None:
        self.field, self.value, self.message = field, value, message
        super().__init__(f"compression.{field} = {value!r}: {message}")
