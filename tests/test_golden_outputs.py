"""Golden outputs: shipped scenarios (and a DSC bit-true, a P1 FDMA and a model run) must give
byte-identical rounds.csv and timeline.csv across refactors.

The files under ``tests/golden/<case>/`` were written by the code *before* the issue-16
refactor. Regenerate them only for an intended output change, with
``EDGEFL_REGEN_GOLDEN=case1,case2 python -m pytest tests/test_golden_outputs.py`` and say why
in :data:`CHANGED`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
QUICK = ROOT / "scenarios" / "quickstart.yaml"
DIGITS = ROOT / "scenarios" / "digits_mlp.yaml"
FAST = ["output.plots=false", "gradients.params=2000"]

#: case -> (scenario file, overrides)
CASES: dict[str, tuple[Path, list[str]]] = {
    "quickstart": (QUICK, [*FAST, "rounds=4"]),
    "quickstart_fdma_none_gm": (QUICK, [*FAST, "rounds=3", "channel.access=fdma", "compression.scheme=none",
                                        "channel.correlation.kind=gauss_markov", "channel.correlation.doppler_hz=5",
                                        "upload_order=index"]),
    "digits_mlp": (DIGITS, ["output.plots=false", "rounds=3"]),
    "dsc_bit_true": (QUICK, ["output.plots=false", "gradients.params=4800", "rounds=3", "compression.scheme=dsc",
                             "fidelity=bit-true"]),
    "p1_fdma_rd_ideal": (QUICK, [*FAST, "rounds=3", "channel.access=fdma", "compression.scheme=rd-ideal",
                                 "rate_allocation.scheme=p1", "rate_allocation.target_distortion=0.2"]),
    "p1_tdma_dsc_digits": (DIGITS, ["output.plots=false", "rounds=2", "compression.scheme=dsc",
                                    "rate_allocation.scheme=p1"]),
}
# the P1 cases once more without the spectral-efficiency cap, where alpha did not change
NOCAP = "channel.max_spectral_efficiency=null"
CASES.update({f"{n}_nocap": (CASES[n][0], [*CASES[n][1], NOCAP]) for n in ("p1_fdma_rd_ideal", "p1_tdma_dsc_digits")})

#: cases whose golden files were regenerated, and why (every other file is the pre-refactor output)
CHANGED = {
    "p1_fdma_rd_ideal": "issue 16 item 1: P1's alpha = 1/SE of the link, cap included; the 7.4063 bit/s/Hz cap "
                        "binds for workers 1 and 6 (log2(1+SNR) = 7.989, 8.641), so their alpha rises from "
                        "0.1252, 0.1157 to 0.1350 and P1's rates, order and FDMA shares move",
    "p1_tdma_dsc_digits": "issue 16 item 1: as above; capped workers tie on alpha, so P1's upload order changes",
}


def run_case(name: str, out: Path) -> Path:
    path, sets = CASES[name]
    outcome = run_scenario(load_scenario(path, sets), out, progress=False)
    assert outcome.complete, outcome.error
    return outcome.out_dir


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_output(name: str, tmp_path: Path) -> None:
    out = run_case(name, tmp_path / name)
    if name in os.environ.get("EDGEFL_REGEN_GOLDEN", "").split(","):
        (GOLDEN / name).mkdir(parents=True, exist_ok=True)
        for f in ("rounds.csv", "timeline.csv"):
            (GOLDEN / name / f).write_bytes((out / f).read_bytes())
    for f in ("rounds.csv", "timeline.csv"):
        assert (out / f).read_bytes() == (GOLDEN / name / f).read_bytes(), f"{name}/{f} differs"
