"""A script that calls edgefl.plan or edgefl.sweep without an ``if __name__ == "__main__":`` guard
works: the process pools' children do not import the parent's main script
(edgefl.pool_server.main_not_imported), so its body runs once, in the parent only."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def _script(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    path = tmp_path / "user_script.py"
    path.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import edgefl
        print("script body runs", flush=True)
        {body}
        print("done", flush=True)
    """))
    return subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def test_plan_with_a_pool_from_an_unguarded_script(tmp_path: Path) -> None:
    out = _script(tmp_path, f"r = edgefl.plan({str(QUICKSTART)!r}, deadline=0.3, jobs=2)\n"
                            "        print('max_workers', r.max_workers.max_workers)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("script body runs") == 1 and "max_workers 5" in out.stdout


def test_sweep_with_a_pool_from_an_unguarded_script(tmp_path: Path) -> None:
    study = {"name": "unguarded", "base": str(QUICKSTART), "set": ["rounds=2"],
             "axes": {"workers.count": [2, 3, 4]}, "seeds": 1, "metrics": {"lat": "latency_s:mean"}}
    out = _script(tmp_path, f"edgefl.sweep({study!r}, out={str(tmp_path / 'study')!r}, jobs=2)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("script body runs") == 1 and "done" in out.stdout
