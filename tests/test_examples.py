"""The notebooks in examples/ (issue 22) run headless with nbclient and render their figures: the
short setting (EDGEFL_SHORT=1) in the default suite, the full one marked slow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
#: notebook -> figures it must show
NOTEBOOKS = {"01_quickstart.ipynb": 3, "02_planning_radius.ipynb": 1, "03_schemes_mnist.ipynb": 1}


def execute(name: str, short: bool, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Run the notebook in a fresh kernel (this checkout's edgefl first on the path); its outputs."""
    monkeypatch.setenv("EDGEFL_SHORT", "1" if short else "0")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    nb = nbformat.read(ROOT / "examples" / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}).execute()
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def figures(outputs: list[dict]) -> int:
    return sum("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_runs_short(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = execute(name, True, tmp_path, monkeypatch)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert figures(outputs) >= NOTEBOOKS[name]
    assert list(tmp_path.iterdir()) == []  # the notebooks write no files where they run


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_runs_full(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert figures(execute(name, False, tmp_path, monkeypatch)) >= NOTEBOOKS[name]
