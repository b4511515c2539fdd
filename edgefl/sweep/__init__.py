"""Network-planning studies: grids of scenarios x seeds, run resumably (``edgefl sweep``).

This package is also ``edgefl.sweep``, the function that runs a study: calling the package calls
:func:`edgefl.api.study.sweep` (``edgefl.sweep("study.yaml", jobs=2)``), so the name works whether
or not a submodule (``edgefl.sweep.study``, ...) has been imported.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from edgefl.api.study import sweep

        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
