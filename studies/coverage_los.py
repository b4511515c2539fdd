"""Coverage study: p95 round latency vs cell radius for a quickstart-style UMi cell at
3.5 GHz with the LOS state fixed NLOS, fixed LOS, or drawn per worker from 3GPP TR 38.901
Table 7.4.2-1 (the ``umi_street_canyon`` mixed profile), outdoors and with the
profile's 80 % indoor workers (38.901 Table 7.2-1, O2I loss of Sec. 7.4.3).

Every point pools the round latencies of ``seeds`` placements x ``rounds`` rounds of
scenarios/quickstart.yaml (10 workers, uniform in a disc of the given radius, TDMA,
signSGD), each profile with its own shadowing and fading (LOS Rician K = 9 dB, NLOS
and O2I Rayleigh), block fading per round.

    python studies/coverage_los.py [OUT_DIR] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's edgefl, not an installed one
sys.path.insert(0, str(ROOT / "studies"))
from _dsc_common import line_plot, parse_out, write_csv  # noqa: E402

from edgefl.scenario import resolve  # noqa: E402
from edgefl.sim.build import build_simulation  # noqa: E402

#: (label, channel profile, placement indoor fraction or None for the profile's default)
CASES = [
    ("fixed NLOS", "umi_street_canyon_nlos", None),
    ("fixed LOS", "umi_street_canyon_los", None),
    ("mixed (Pr_LOS), outdoor", "umi_street_canyon", 0.0),
    ("mixed (Pr_LOS), 80 % indoor", "umi_street_canyon", None),
]


def round_latencies(profile: str, indoor: float | None, radius_m: float, seed: int, rounds: int) -> np.ndarray:
    """Round latencies (s) of one quickstart run with the given channel profile and radius."""
    data = yaml.safe_load((ROOT / "scenarios" / "quickstart.yaml").read_text())
    data["seed"] = seed
    data["rounds"] = rounds
    data["workers"]["placement"]["radius_m"] = radius_m
    if indoor is not None:
        data["workers"]["placement"]["indoor_fraction"] = indoor
    data["channel"] = {"profile": profile, "correlation": {"kind": "block_round"},
                      "uplink_bandwidth_hz": 20.0e6, "access": "tdma"}
    rs = resolve(data, source=f"coverage_los[{profile}]", base_dir=ROOT)
    sim = build_simulation(rs)
    sim.run(lambda r, row: None)
    return np.array([row["latency_s"] for row in sim.rounds])


def main(argv: list[str] | None = None) -> None:
    out, quick = parse_out(__doc__.splitlines()[0], argv)
    radii = [50.0, 150.0, 300.0] if quick else [50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 600.0]
    seeds = range(2 if quick else 12)
    rounds = 5 if quick else 20
    rows = []
    for label, prof, indoor in CASES:
        for r in radii:
            lat = np.concatenate([round_latencies(prof, indoor, r, s, rounds) for s in seeds])
            rows.append({"case": label, "profile": prof, "radius_m": r, "runs": len(seeds),
                         "rounds": lat.size, "median_latency_s": float(np.median(lat)),
                         "p95_latency_s": float(np.percentile(lat, 95))})
            print(f"{label:30s} R = {r:5.0f} m  p95 = {rows[-1]['p95_latency_s']:.4g} s", flush=True)
    write_csv(out / "coverage_los.csv", rows)
    fmts = ["o-", "s-", "^-", "v--"]
    series = [(label, radii, [x["p95_latency_s"] for x in rows if x["case"] == label], f)
              for (label, _, _), f in zip(CASES, fmts)]
    line_plot(out / "coverage_los.png", series, xlabel="cell radius (m)", ylabel="p95 round latency (s)",
              yscale="log", title="UMi street canyon, 3.5 GHz, 10 workers, TDMA")
    print(f"wrote {out / 'coverage_los.csv'} and {out / 'coverage_los.png'}")


if __name__ == "__main__":
    main()
