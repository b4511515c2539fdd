"""DSC paper Fig. 1: Pearson correlation of two local gradients over iterations, IID vs
non-IID, for the MNIST MLP (here ``mlp784`` on mnist-5k) and the digits MLP.

    python studies/gradient_correlation.py [OUT_DIR] [--reps 10] [--iters 300] [--quick]

Set-up (DSC paper Sec. II-C and V-A, Fig. 1 caption): a population of 100 workers; IID =
the training set cut into 100 equal random shards, non-IID = sorted by label and cut into
200 shards, 2 per worker; in each iteration K = 10 workers drawn at random (seeded) each
compute a local gradient on a minibatch of 20 at the current model; the model moves by the
average of the 10 (momentum 0.5, lr 0.01). The statistic of iteration t is the Pearson
correlation, over the P parameters, of the gradients of the first two selected workers,

    rho(t) = sum_p (g1_p - mean g1)(g2_p - mean g2) / (P std(g1) std(g2)),

averaged over ``reps`` independent trainings (seeds 0..reps-1: data partition, worker
selection and minibatches change; the initial model is the shipped one). The band is the
95 % Student-t confidence interval of that mean. The paper averages 300 trainings; the
default here is 10 (the band shows what that costs in precision).

mnist-5k has 4,000 training images, so a worker holds 40 (IID) and a minibatch of 20 is
half its shard; digits' 1,437 training images give shards of 14-15 (smaller than the
batch: drawn with replacement).

Writes gradient_correlation.csv (dataset, partition, iteration, mean, ci_low, ci_high,
reps) and gradient_correlation.png.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _dsc_common import DEFAULT_OUT, plt, save_figure, write_csv

from edgefl.learning import ModelConfig, build_source

ROOT = Path(__file__).resolve().parents[1]
DATASETS = {"mnist-5k": "mlp784", "digits": "mlp"}
PARTITIONS = {"iid": {"kind": "iid"}, "non-iid": {"kind": "shards", "shards_per_worker": 2}}
#: keeps the worker-selection stream apart from the source's own streams of the same seed
SELECT_STREAM = 0xF16


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation coefficient of two vectors."""
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def correlation_run(
    dataset: str, partition: str, iters: int, seed: int, population: int = 100, per_round: int = 10,
    batch: int = 20,
) -> np.ndarray:
    """rho(t), t = 0..iters-1, of one training (module docstring)."""
    cfg = ModelConfig(model=DATASETS[dataset], data=dataset, partition=PARTITIONS[partition], batch_size=batch,
                      lr=0.01, momentum=0.5, optimizer="momentum", eval_every=10**9)
    src = build_source(cfg, population, seed, ROOT)
    pick = np.random.default_rng([seed, SELECT_STREAM])
    rho = np.empty(iters)
    for t in range(iters):
        workers = np.sort(pick.choice(population, per_round, replace=False))
        g = src.local_gradients(t, workers)
        rho[t] = pearson(g[0], g[1])
        src.apply_aggregate(t, g.mean(axis=0))
    return rho


def confidence_band(runs: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over axis 0 and its Student-t confidence interval."""
    mean = runs.mean(axis=0)
    if len(runs) < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.5 + level / 2, len(runs) - 1) * runs.std(axis=0, ddof=1) / np.sqrt(len(runs))
    return mean, mean - half, mean + half


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=str(DEFAULT_OUT))
    ap.add_argument("--reps", type=int, default=10, help="trainings averaged per curve (paper: 300)")
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="3 reps x 40 iterations (what the tests run)")
    a = ap.parse_args(argv)
    reps, iters = (3, 40) if a.quick else (a.reps, a.iters)
    out = Path(a.out)
    rows, curves, summary = [], {}, {}
    for dataset in DATASETS:
        for part in PARTITIONS:
            start = time.perf_counter()
            runs = np.stack([correlation_run(dataset, part, iters, seed) for seed in range(reps)])
            mean, lo, hi = confidence_band(runs)
            curves[(dataset, part)] = (mean, lo, hi)
            rows += [{"dataset": dataset, "partition": part, "iteration": t, "mean": mean[t], "ci_low": lo[t],
                      "ci_high": hi[t], "reps": reps} for t in range(iters)]
            head, tail = mean[: max(iters // 20, 1)].mean(), mean[-max(iters // 10, 1):].mean()
            summary[(dataset, part)] = (head, tail)
            print(f"{dataset:8s} {part:7s}: rho first 5% of iterations {head:.3f}, last 10% {tail:.3f} "
                  f"({reps} reps x {iters} iterations, {time.perf_counter() - start:.0f} s)")
    write_csv(out / "gradient_correlation.csv", rows)
    fig, axes = plt.subplots(1, len(DATASETS), figsize=(10, 3.8), sharey=True)
    for ax, dataset in zip(np.atleast_1d(axes), DATASETS):
        for part, color in zip(PARTITIONS, ("tab:blue", "tab:red")):
            mean, lo, hi = curves[(dataset, part)]
            t = np.arange(1, iters + 1)
            ax.plot(t, mean, color=color, label=part.upper() if part == "iid" else "non-IID")
            ax.fill_between(t, lo, hi, color=color, alpha=0.25, linewidth=0)
        ax.set(title=f"MLP, {dataset} ({reps} trainings, 95 % CI)", xlabel="iteration", ylabel="Pearson correlation")
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, out / "gradient_correlation.png")
    print(f"wrote {out}/gradient_correlation.csv and gradient_correlation.png")
    return summary


if __name__ == "__main__":
    main()
