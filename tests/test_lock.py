"""The lock of tested versions (issue 21, item 1): ``constraints.txt`` is what the README's
commands and ``.ci/run`` install, every requirement of pyproject.toml is pinned within its
bounds, and the environment the suite runs in holds the pinned versions."""

from __future__ import annotations

import os
import re
import shlex
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "constraints.txt"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(LOCK.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line.strip())
        assert m, f"constraints.txt line {n}: {line!r} is not name==version"
        name = canonical(m[1])
        assert name not in out, f"constraints.txt line {n}: {name} pinned twice"
        out[name] = m[2]
    return out


def readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[1]
    return [ln.strip() for ln in block.splitlines() if ln.strip()][:2]


def ci_command() -> str:
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
             if ln.strip() and not ln.startswith(("#", "set ", "cd "))]
    assert len(lines) == 1, lines
    return lines[0]


def test_readme_and_ci_install_from_the_lock() -> None:
    run, test = readme_commands()
    assert ci_command() == test  # CI runs exactly the README's test command
    for cmd in (run, test):
        install = shlex.split(cmd.split("&&")[0])
        assert install[:2] == ["pip", "install"] and install[install.index("-c") + 1] == "constraints.txt", cmd
    assert "python .ci/refresh_lock.py" in (ROOT / "README.md").read_text()  # the refresh is documented
    assert (ROOT / ".ci" / "refresh_lock.py").is_file()


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return [Requirement(r) for r in reqs]


def test_every_requirement_is_pinned_within_its_bounds() -> None:
    locked = pins()
    for req in project_requirements():
        name = canonical(req.name)
        assert name in locked, f"{req.name} (pyproject.toml) is not pinned in constraints.txt"
        assert req.specifier.contains(locked[name], prereleases=True), (str(req), locked[name])
        for extra in req.extras:  # dask[distributed]: the extra's packages are pinned too
            dist = metadata.distribution(req.name)
            for sub in map(Requirement, dist.requires or []):
                if sub.marker is not None and sub.marker.evaluate({"extra": extra}) and "extra" in str(sub.marker):
                    assert canonical(sub.name) in locked, f"{sub.name} (via {req}) is not pinned"


def test_hypothesis_bound_excludes_the_breaking_release() -> None:
    """hypothesis 6.170.10 breaks hypothesis-jsonschema 0.23.1 ('many' object has no attribute 'more')."""
    hyp = next(r for r in project_requirements() if r.name == "hypothesis")
    assert not hyp.specifier.contains("6.170.10") and not hyp.specifier.contains("6.170.27")
    assert hyp.specifier.contains(pins()["hypothesis"])


@pytest.mark.skipif(os.environ.get("EDGEFL_LOCK_REFRESH") == "1",
                    reason=".ci/refresh_lock.py tests the newest versions, which the new lock will pin")
def test_installed_versions_are_the_pinned_ones() -> None:
    """The suite runs in the environment of the lock: each pinned distribution that is
    installed has the pinned version (after `pip install -c constraints.txt -e ".[test]"`)."""
    wrong, installed = [], 0
    for name, version in sorted(pins().items()):
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # an optional integration (e.g. pyarrow) this environment does not have
        installed += 1
        if have != version:
            wrong.append(f"{name} {have} (constraints.txt: {version})")
    assert not wrong, "installed versions differ from the lock: " + ", ".join(wrong)
    assert installed >= len(project_requirements())  # the check did look at the environment
