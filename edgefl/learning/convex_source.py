"""The convex test bed as a scenario's gradient source (``gradients: {source: convex}``).

Per round k the K workers send their local gradients at the point the optimiser asks for
(x_k for gradient descent, y_k for Nesterov's method); ``apply_aggregate`` takes the step:

* gd:       x_{k+1} = x_k - eta v_k                       (AIADE paper Algs. 1 and 3)
* nesterov: x_{k+1} = y_k - eta v_k, y_{k+1} = x_{k+1} + tau (x_{k+1} - x_k)   (Alg. 2)

with eta = 1/L by default (1/(rho L) for minibatch gradients, Alg. 3) and
tau = (sqrt L - sqrt mu) / (sqrt L + sqrt mu). rounds.csv gets ``train_loss`` (f(x_k+1)),
``suboptimality`` (f(x_{k+1}) - f*) and ``dist_to_opt`` (||x_{k+1} - x*||).
"""

from __future__ import annotations

import math

import numpy as np

from edgefl.compress.iade import ProblemConstants
from edgefl.learning.convex_config import ConvexConfig
from edgefl.learning.convex import ConvexProblem, digits_problem, synthetic_problem
from edgefl.sim.gradient_source import GradientSource


class ConvexSource(GradientSource):
    """K workers minimising a :class:`ConvexProblem` (module docstring)."""

    def __init__(self, problem: ConvexProblem, cfg: ConvexConfig, seed: int | np.random.SeedSequence) -> None:
        self.pb = problem
        self.cfg = cfg
        self.num_workers = len(problem.shards)
        self.num_params = problem.dim
        n_i = max(len(s) for s in problem.shards)
        rows = cfg.batch_size or n_i
        self.flops_per_gradient = float(cfg.flops_per_gradient or 4.0 * rows * problem.dim)
        self.rho = self._rho()
        self.eta = float(cfg.lr or 1.0 / (self.rho * problem.L))
        if cfg.optimizer == "nesterov":
            sl, sm = math.sqrt(problem.L), math.sqrt(problem.mu)
            self.tau = float(cfg.momentum if cfg.momentum is not None else (sl - sm) / (sl + sm))
        else:
            self.tau = 0.0
        self.problem_constants = ProblemConstants(problem.L, problem.mu, self.eta, self.tau, self.rho)
        self.param_shapes = [(problem.dim,)]
        self.x = np.zeros(problem.dim)
        self.y = self.x.copy()
        self._rng = np.random.default_rng(seed)

    def _rho(self) -> float:
        """Weak growth constant rho = L_B / L: 1 for full batch; for B rows drawn without
        replacement from a shard of n, the expected smoothness of the minibatch loss
        L_B = (n - B) / (B (n - 1)) L_max + n (B - 1) / (B (n - 1)) L (Gower et al., ICML 2019,
        Prop. 3.8, b-nice sampling), L_max = max_j ||a_j||^2 the per-sample smoothness; on an
        interpolation problem E||g_B||^2 <= 2 L_B (f - f*), the WGC of the AIADE paper's
        Assumption 5.1 (Vaswani et al., AISTATS 2019)."""
        b = self.cfg.batch_size
        n = min(len(s) for s in self.pb.shards)
        if b is None or b >= n:
            return 1.0
        l_b = (n - b) / (b * (n - 1)) * self.pb.sample_smoothness + n * (b - 1) / (b * (n - 1)) * self.pb.L
        return max(1.0, l_b / self.pb.L)

    def local_gradients(self, round: int, workers: np.ndarray | None = None) -> np.ndarray:
        # rows in the order of ``workers`` (all workers: None); only they draw minibatches
        ids = range(self.num_workers) if workers is None else [int(w) for w in workers]
        out = np.empty((len(ids), self.num_params))
        for row, i in enumerate(ids):
            shard = self.pb.shards[i]
            if self.cfg.batch_size is None or self.cfg.batch_size >= len(shard):
                out[row] = self.pb.local_grad(i, self.y)
            else:
                rows = self._rng.choice(shard, size=self.cfg.batch_size, replace=False)
                out[row] = self.pb.rows_grad(rows, self.y)
        return out

    def apply_aggregate(self, round: int, aggregate: np.ndarray) -> dict[str, float]:
        v = np.asarray(aggregate, dtype=np.float64)
        if v.shape != self.x.shape or not np.all(np.isfinite(v)):
            raise ValueError(f"aggregate: expected {self.x.shape} finite values")
        x_new = self.y - self.eta * v
        self.y = x_new + self.tau * (x_new - self.x)
        self.x = x_new
        f = self.pb.loss(self.x)
        return {"train_loss": f, "suboptimality": f - self.pb.f_star,
                "dist_to_opt": float(np.linalg.norm(self.x - self.pb.x_star))}

    def metric_names(self) -> list[str]:
        return ["train_loss", "suboptimality", "dist_to_opt"]


def build_convex_source(cfg: ConvexConfig, num_workers: int, seed: np.random.SeedSequence) -> ConvexSource:
    """The scenario's convex problem, data and split seeded by ``seed``."""
    data_ss, sampler_ss = seed.spawn(2)
    rng = np.random.default_rng(data_ss)
    if cfg.data == "digits":
        pb = digits_problem(cfg.problem, 1e-2 if cfg.lam is None else cfg.lam, num_workers, rng)
    else:
        pb = synthetic_problem(cfg.problem, cfg.num_samples, cfg.num_features, cfg.kappa, num_workers, rng,
                               noise=cfg.noise, interpolation=cfg.interpolation)
        if cfg.lam is not None:
            pb = ConvexProblem(pb.kind, pb.a, pb.b, cfg.lam, pb.shards)
    return ConvexSource(pb, cfg, sampler_ss)
