"""Split the training set among K workers (index arrays), and draw their minibatches.

* IID: a random permutation cut into K near-equal parts.
* Dirichlet label skew: for each class c, proportions q_c ~ Dir(alpha 1_K) split that
  class's samples among workers (small alpha: each worker sees few classes).
* Shards by label (DSC paper Sec. II, non-IID): sort by label, cut into K s equal
  shards, give each worker s random shards (s = 2 in the paper).
"""

from __future__ import annotations

import numpy as np


def partition_iid(n: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    _check(n, k)
    return [np.sort(p) for p in np.array_split(rng.permutation(n), k)]


def partition_dirichlet(labels: np.ndarray, k: int, alpha: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Dirichlet(alpha) label skew; every worker is guaranteed at least one sample."""
    _check(len(labels), k)
    if not alpha > 0:
        raise ValueError(f"alpha: must be > 0, got {alpha}")
    parts: list[list[int]] = [[] for _ in range(k)]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        cuts = (np.cumsum(rng.dirichlet(np.full(k, alpha)))[:-1] * len(idx)).astype(int)
        for w, chunk in enumerate(np.split(idx, cuts)):
            parts[w].extend(chunk.tolist())
    # a worker left empty by the draw takes one sample from the largest worker
    for w in range(k):
        if not parts[w]:
            donor = int(np.argmax([len(p) for p in parts]))
            parts[w].append(parts[donor].pop())
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


def partition_shards(labels: np.ndarray, k: int, shards_per_worker: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Sort by label, cut into k * shards_per_worker shards, deal them at random."""
    n = len(labels)
    _check(n, k)
    if shards_per_worker < 1 or k * shards_per_worker > n:
        raise ValueError(f"shards_per_worker: {shards_per_worker} x {k} workers must be in [1, {n}] shards")
    order = np.argsort(labels, kind="stable")
    shards = np.array_split(order, k * shards_per_worker)
    deal = rng.permutation(len(shards)).reshape(k, shards_per_worker)
    return [np.sort(np.concatenate([shards[s] for s in row])) for row in deal]


def _check(n: int, k: int) -> None:
    if k < 1 or k > n:
        raise ValueError(f"num_workers: must be in [1, {n}] (training samples), got {k}")


class MinibatchSampler:
    """Seeded minibatches from one worker's shard: B indices drawn without replacement
    each round (with replacement when the shard is smaller than B)."""

    def __init__(self, shard: np.ndarray, batch_size: int, rng: np.random.Generator):
        if batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
        self.shard, self.batch_size, self.rng = shard, batch_size, rng

    def next(self) -> np.ndarray:
        replace = len(self.shard) < self.batch_size
        return self.shard[self.rng.choice(len(self.shard), self.batch_size, replace=replace)]
