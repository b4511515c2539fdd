"""Shared plumbing of the study scripts: output directory, CSV writing, a headless figure."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def parse_out(description: str, argv: list[str] | None = None) -> tuple[Path, bool]:
    """``script.py [OUT_DIR] [--quick]`` -> (output directory, quick flag)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("out", nargs="?", default=str(DEFAULT_OUT), help="output directory (default studies/out/)")
    ap.add_argument("--quick", action="store_true", help="reduced size (what the tests run)")
    a = ap.parse_args(argv)
    return Path(a.out), a.quick


def write_csv(path: Path, rows: list[dict]) -> Path:
    """Write ``rows`` (dicts with the same keys) to ``path``; create the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def line_plot(path: Path, series: list[tuple[str, list, list, str]], **axes) -> Path:
    """One axes of labelled lines ``(label, x, y, matplotlib format)``; ``axes`` go to ``ax.set``."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, x, y, fmt in series:
        ax.plot(x, y, fmt, label=label)
    ax.set(**axes)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def save_figure(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
