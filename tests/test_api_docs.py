"""The API reference (issue 22): built from the docstrings with pdoc; a module that does not import, a
pdoc warning or a docstring reference that names nothing fails the build."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from edgefl.api import docs


def test_public_reference_builds_and_every_reference_resolves(tmp_path: Path) -> None:
    problems = docs.build(tmp_path / "api", ["edgefl", "edgefl.api"])
    assert problems == []
    page = (tmp_path / "api" / "edgefl.html").read_text()
    for name in ("load", "run", "RunResult", "StudyResult", "whatif", "ScenarioError"):
        assert f'id="{name}"' in page, name
    assert "plot_round" in (tmp_path / "api" / "edgefl" / "api" / "run.html").read_text()
    assert docs.broken_references(docs.modules()) == []  # every module's docstrings


def test_broken_reference_and_import_error_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docmod_ok.py").write_text('"""See :func:`helper` and :mod:`json`."""\n\ndef helper():\n'
                                           '    """Calls :func:`missing_function`."""\n')
    (tmp_path / "docmod_bad.py").write_text('import not_a_module_anywhere\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert docs.broken_references(["docmod_ok"]) == [
        "docmod_ok.helper: reference 'missing_function' names nothing"]
    problems = docs.build(tmp_path / "out", ["docmod_ok", "docmod_bad"])
    assert any("docmod_bad" in p and "not_a_module_anywhere" in p for p in problems), problems
    sys.modules.pop("docmod_ok", None)


@pytest.mark.slow
def test_full_reference_builds(tmp_path: Path) -> None:
    assert docs.main(["-o", str(tmp_path / "api")]) == 0
    assert (tmp_path / "api" / "edgefl" / "sweep" / "study.html").is_file()
