"""Accuracy vs rounds and vs total uploaded bits: uncoded, signSGD and DSC-signSGD,
IID and non-IID, with the digits MLP trained in the simulator (in the spirit of the DSC
paper's Figs. 11-12, where DSC-signSGD saves 38 % of the total communication of signSGD
for the MNIST MLP).

    python studies/learning_curves.py [--rounds 300] [--out studies/out/learning_curves]

The network is scenarios/quickstart.yaml (10 workers, small cell, TDMA); its synthetic
``gradients:`` section is replaced by a ``model:`` section (shipped MLP, digits,
batch 128, momentum 0.5, lr 0.01; non-IID = 2 label-sorted shards per worker, DSC paper
Sec. II). With digits (about 144 training samples per worker) a batch of 128 nearly
covers each shard, so the averaged uncoded gradient is close to the full gradient under
either partition; ``--batch 20`` (the DSC paper's Fig. 1 setting) makes non-IID bite.
Writes curves.png, correlation.png, curves.csv and summary.json; prints the bits each scheme
needs to reach the target accuracy and the DSC saving over signSGD.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from edgefl.catalog import load_yaml
from edgefl.compress.registry import SCHEMES
from edgefl.scenario import resolve
from edgefl.sim.build import build_simulation

ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = {"iid": {"kind": "iid"}, "non-iid": {"kind": "shards", "shards_per_worker": 2}}
LABELS = {"none": "uncoded (32-bit)", "signsgd": "signSGD", "dsc": "DSC-signSGD"}


def scenario(scheme: str, partition: str, rounds: int, seed: int, batch: int, fidelity: str) -> dict:
    """The quickstart network with the MLP-on-digits ``model:`` section and ``scheme``."""
    data = load_yaml(ROOT / "scenarios" / "quickstart.yaml")
    data.pop("gradients", None)
    data.update(
        name=f"learning_{scheme}_{partition}", seed=seed, rounds=rounds, compression={"scheme": scheme},
        fidelity=fidelity,
        model={"model": "mlp", "data": "digits", "partition": PARTITIONS[partition], "eval_every": 5,
               "batch_size": batch},
    )
    return data


def simulate(scheme: str, partition: str, rounds: int, seed: int, batch: int = 128,
             fidelity: str = "analytic") -> list[dict]:
    """Per-round rows (as in rounds.csv) of one simulated training run."""
    rs = resolve(scenario(scheme, partition, rounds, seed, batch, fidelity), f"<learning_curves {scheme} {partition}>", ROOT / "scenarios")
    sim = build_simulation(rs)
    sim.run()
    return sim.rounds


def bits_to_accuracy(rows: list[dict], target: float) -> float:
    """Cumulative uploaded bits when the test accuracy first reaches ``target`` (NaN if never)."""
    cum = np.cumsum([r["bits_total"] for r in rows])
    for c, r in zip(cum, rows):
        if r["evaluated"] and r["test_accuracy"] >= target:
            return float(c)
    return float("nan")


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for col, part in enumerate(PARTITIONS):
        for scheme, rows in results.get(part, {}).items():
            ev = [r for r in rows if r["evaluated"]]
            cum = np.cumsum([r["bits_total"] for r in rows])
            at = [cum[r["round"]] for r in ev]
            acc = [r["test_accuracy"] for r in ev]
            axes[0, col].plot([r["round"] + 1 for r in ev], acc, label=LABELS[scheme])
            axes[1, col].plot(at, acc, label=LABELS[scheme])
        axes[0, col].set(title=f"MLP on digits, {part}", xlabel="round", ylabel="test accuracy")
        axes[1, col].set(xscale="log", xlabel="total uploaded bits", ylabel="test accuracy")
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_correlation(results: dict, path: Path) -> None:
    """Estimated correlation of two local gradients, sigma_X^2 / (sigma_X^2 + sigma_N^2)
    under the CEO model (RD paper eq. (5)), per round of the uncoded runs; compare the
    DSC paper's Fig. 1 (Pearson correlation, IID above non-IID, decaying in training)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for part, by_scheme in results.items():
        rows = by_scheme.get("none", [])
        sx2 = np.array([r["sigma_x2_est"] for r in rows])
        sn2 = np.array([r["sigma_n2_est"] for r in rows])
        ax.plot(np.arange(1, len(rows) + 1), sx2 / (sx2 + sn2), label=part)
    ax.set(xlabel="round", ylabel="sigma_X^2 / (sigma_X^2 + sigma_N^2)", title="local-gradient correlation (uncoded)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128, help="local batch (128 as in the papers)")
    ap.add_argument("--fidelity", choices=["analytic", "bit-true"], default="analytic")
    ap.add_argument("--target", type=float, default=0.7, help="accuracy for the bits-to-accuracy comparison")
    ap.add_argument("--out", type=Path, default=ROOT / "studies" / "out" / "learning_curves")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    schemes = [s for s in ("none", "signsgd", "dsc") if s in SCHEMES]
    if "dsc" not in SCHEMES:
        print("DSC scheme not registered (edgefl.compress.dsc missing): uncoded and signSGD only")
    results: dict[str, dict[str, list[dict]]] = {}
    summary: dict[str, dict] = {}
    for part in PARTITIONS:
        results[part] = {}
        for scheme in schemes:
            start = time.perf_counter()
            rows = simulate(scheme, part, args.rounds, args.seed, args.batch, args.fidelity)
            wall = time.perf_counter() - start
            results[part][scheme] = rows
            acc = [r["test_accuracy"] for r in rows if r["evaluated"]]
            summary.setdefault(part, {})[scheme] = {
                "final_accuracy": acc[-1],
                "best_accuracy": max(acc),
                "total_bits": float(sum(r["bits_total"] for r in rows)),
                f"bits_to_{args.target:.2f}": bits_to_accuracy(rows, args.target),
                "wall_s": wall,
            }
            print(f"{part:8s} {scheme:8s} final acc {acc[-1]:.3f}  best {max(acc):.3f}  "
                  f"bits to {args.target:.0%}: {summary[part][scheme][f'bits_to_{args.target:.2f}']:.3e}  "
                  f"({wall:.1f} s)")
        if "dsc" in summary[part]:
            # DSC codes the same signs losslessly (up to decoding failures), so both runs
            # follow nearly the same accuracy curve: compare the bits of the whole run and
            # the bits to the target accuracy (when both reach it)
            dsc, sign = summary[part]["dsc"], summary[part]["signsgd"]
            key = f"bits_to_{args.target:.2f}"
            summary[part]["dsc_saving_total"] = 1.0 - dsc["total_bits"] / sign["total_bits"]
            summary[part]["dsc_saving_to_target"] = 1.0 - dsc[key] / sign[key]
            print(f"{part:8s} DSC-signSGD vs signSGD: {summary[part]['dsc_saving_total']:.1%} fewer bits over "
                  f"{args.rounds} rounds, {summary[part]['dsc_saving_to_target']:.1%} to {args.target:.0%} accuracy "
                  "(DSC paper, MNIST MLP: 38 %)")
    with open(args.out / "curves.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["partition", "scheme", "round", "bits_total", "train_loss", "test_accuracy", "evaluated",
                    "sigma_x2_est", "sigma_n2_est", "latency_s"])
        for part, by_scheme in results.items():
            for scheme, rows in by_scheme.items():
                for r in rows:
                    w.writerow([part, scheme, r["round"], r["bits_total"], r["train_loss"], r["test_accuracy"],
                                int(r["evaluated"]), r["sigma_x2_est"], r["sigma_n2_est"], r["latency_s"]])
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot(results, args.out / "curves.png")
    plot_correlation(results, args.out / "correlation.png")
    print(f"wrote {args.out}/curves.png, correlation.png, curves.csv, summary.json")


if __name__ == "__main__":
    main()
