"""Link models compared on the quickstart cell: round latency (p50/p95) and energy per round under
Shannon capacity, Shannon with a 3 dB gap, and 5G NR link adaptation with HARQ (TS 38.214 MCS
table 2, 10 % BLER target, IR, defaults of edgefl.radio.nr), each for TDMA and FDMA uploads.

    python studies/link_models.py [OUT_DIR] [--quick]

Writes link_models.csv (one row per link x access: p50/p95/mean latency, p50/p95 worker energy,
mean upload attempts per worker, server energy) and link_models.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _dsc_common import parse_out, plt, save_figure, write_csv  # noqa: E402

from edgefl.scenario import load_scenario  # noqa: E402
from edgefl.sim.build import build_simulation  # noqa: E402

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
LINKS: dict[str, list[str]] = {
    "shannon": [],
    "shannon_gap3db": ["channel.snr_gap_db=3"],
    "nr_harq": ["channel.link.model=nr"],
}
ACCESS = ("tdma", "fdma")


def run_case(link: str, access: str, rounds: int, params: int | None = None) -> dict:
    sets = [*LINKS[link], f"channel.access={access}", f"rounds={rounds}", "output.plots=false"]
    if params is not None:
        sets.append(f"gradients.params={params}")
    sim = build_simulation(load_scenario(QUICKSTART, sets))
    sim.run()
    lat = np.array([r["latency_s"] for r in sim.rounds])
    en = np.array([r["worker_energy_j"] for r in sim.rounds])
    k = sim.net.num_workers
    attempts = sum(1 for e in sim.events if e.phase == "upload") / (k * rounds)
    return {
        "link": link, "access": access, "rounds": rounds,
        "latency_p50_s": float(np.percentile(lat, 50)), "latency_p95_s": float(np.percentile(lat, 95)),
        "latency_mean_s": float(lat.mean()),
        "energy_p50_j": float(np.percentile(en, 50)), "energy_p95_j": float(np.percentile(en, 95)),
        "energy_transmit_mean_j": float(np.mean([r["energy_transmit_j"] for r in sim.rounds])),
        "upload_attempts_per_worker": attempts,
        "uploads_lost": int(sum(r["uploads_lost"] for r in sim.rounds)),
        "server_energy_mean_j": float(np.mean([r["server_decoder_energy_j"] + r["server_compute_energy_j"]
                                               for r in sim.rounds])),
    }


def run(out: Path, rounds: int = 200, params: int | None = None) -> list[dict]:
    rows = [run_case(link, access, rounds, params) for access in ACCESS for link in LINKS]
    write_csv(out / "link_models.csv", rows)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    x = np.arange(len(LINKS))
    for ax, (key, unit) in zip(axes, (("latency", "s"), ("energy", "J"))):
        for j, access in enumerate(ACCESS):
            sel = [r for r in rows if r["access"] == access]
            p50 = [r[f"{key}_p50_{unit.lower()}"] for r in sel]
            p95 = [r[f"{key}_p95_{unit.lower()}"] for r in sel]
            ax.bar(x + 0.4 * j - 0.2, p50, 0.38, label=f"{access} p50", color=f"C{j}")
            ax.scatter(x + 0.4 * j - 0.2, p95, marker="_", s=300, color="k", label="p95" if j == 0 else None)
        ax.set_xticks(x, list(LINKS), fontsize=8)
        ax.set_ylabel(f"round {key} ({unit})")
        ax.legend(fontsize=7)
    fig.suptitle(f"quickstart: link models, {rows[0]['rounds']} rounds", fontsize=9)
    save_figure(fig, out / "link_models.png")
    return rows


if __name__ == "__main__":
    out, quick = parse_out(__doc__)
    for r in run(out, rounds=10 if quick else 200, params=2000 if quick else None):
        print(f"{r['link']:>15} {r['access']}: latency p50 {r['latency_p50_s']:.4f} s p95 {r['latency_p95_s']:.4f} s"
              f" | energy p50 {r['energy_p50_j']:.2f} J p95 {r['energy_p95_j']:.2f} J"
              f" | attempts/worker {r['upload_attempts_per_worker']:.3f}, lost {r['uploads_lost']}")
