"""Strongly convex, L-smooth test problems with an optimum known to high precision.

f(x) = (1/N) sum_i f_i(x), worker i holding shard S_i of the data (n_i rows):

* ridge:    f_i(x) = 1/(2 n_i) ||A_i x - b_i||^2 + lam/2 ||x||^2,
            Hessian H = (1/N) sum_i A_i^T A_i / n_i + lam I, L = lambda_max(H), mu = lambda_min(H),
            x* = H^{-1} (1/N) sum_i A_i^T b_i / n_i (a linear solve).
* logistic: f_i(x) = (1/n_i) sum_j log(1 + exp(-y_j a_j^T x)) + lam/2 ||x||^2, y in {-1, +1};
            L <= lambda_max((1/N) sum_i A_i^T A_i / n_i) / 4 + lam, mu >= lam;
            x* by L-BFGS then Newton steps until ||grad f|| < 1e-13.

Synthetic data with a chosen condition number kappa: the features are whitened over
the shards and given the spectrum e_j (log-spaced), so the data Hessian is
Q diag(e) Q^T exactly. Ridge: e in [0, 1 - 1/kappa] and lam = 1/kappa (L = 1, mu = 1/kappa);
the interpolation variant has no noise and lam = 0 with e in [1/kappa, 1], so every
sample's loss is minimised at x* (the weak growth condition of the AIADE paper's
Assumption 5.1 holds with rho <= max_j ||a_j||^2 / L, Vaswani et al. 2019, Sec. 2).
Logistic: e in [0, 4], lam = 1/(kappa - 1), so L / mu <= kappa.

Gradients: full batch over the shard, or a minibatch of B rows of it (unbiased).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.special


@dataclass
class ConvexProblem:
    """Data, split, loss and the known optimum of one problem."""

    kind: str  # "ridge" | "logistic"
    a: np.ndarray  # (n, d) features
    b: np.ndarray  # (n,) targets (logistic: +-1)
    lam: float
    shards: list[np.ndarray]
    L: float = field(init=False)
    mu: float = field(init=False)
    x_star: np.ndarray = field(init=False)
    f_star: float = field(init=False)
    #: max_j ||a_j||^2: per-sample smoothness (ridge), for the weak growth constant
    sample_smoothness: float = field(init=False)

    def __post_init__(self) -> None:
        if self.kind not in ("ridge", "logistic"):
            raise ValueError(f"problem: {self.kind!r}; allowed: ridge, logistic")
        gram = sum(self.a[s].T @ self.a[s] / len(s) for s in self.shards) / len(self.shards)
        eig = scipy.linalg.eigvalsh(gram)
        scale = 1.0 if self.kind == "ridge" else 0.25
        self.L = float(scale * eig[-1] + self.lam)
        self.mu = float(scale * max(eig[0], 0.0) + self.lam) if self.kind == "ridge" else float(self.lam)
        if not self.mu > 0:
            raise ValueError("problem: not strongly convex (mu = 0); give lam > 0 or more samples than features")
        sq = np.einsum("ij,ij->i", self.a, self.a)
        self.sample_smoothness = float(sq.max() * (1.0 if self.kind == "ridge" else 0.25))
        self.x_star = self._solve()
        self.f_star = self.loss(self.x_star)

    @property
    def dim(self) -> int:
        return int(self.a.shape[1])

    @property
    def kappa(self) -> float:
        return self.L / self.mu

    # --- losses and gradients -----------------------------------------------------------
    def local_loss(self, i: int, x: np.ndarray) -> float:
        s = self.shards[i]
        r = self.a[s] @ x
        if self.kind == "ridge":
            data = 0.5 * np.mean((r - self.b[s]) ** 2)
        else:
            data = np.mean(np.logaddexp(0.0, -self.b[s] * r))
        return float(data + 0.5 * self.lam * x @ x)

    def loss(self, x: np.ndarray) -> float:
        return float(np.mean([self.local_loss(i, x) for i in range(len(self.shards))]))

    def rows_grad(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Gradient of (1/|rows|) sum_{j in rows} loss_j(x) + lam/2 ||x||^2."""
        a, b = self.a[rows], self.b[rows]
        r = a @ x
        if self.kind == "ridge":
            w = r - b
        else:
            w = -b * scipy.special.expit(-b * r)
        return a.T @ w / len(rows) + self.lam * x

    def local_grad(self, i: int, x: np.ndarray) -> np.ndarray:
        return self.rows_grad(self.shards[i], x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return np.mean([self.local_grad(i, x) for i in range(len(self.shards))], axis=0)

    def hessian(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((self.dim, self.dim))
        for s in self.shards:
            a = self.a[s]
            if self.kind == "ridge":
                out += a.T @ a / len(s)
            else:
                p = scipy.special.expit(a @ x)
                out += (a * (p * (1 - p))[:, None]).T @ a / len(s)
        return out / len(self.shards) + self.lam * np.eye(self.dim)

    def _solve(self) -> np.ndarray:
        if self.kind == "ridge":
            rhs = sum(self.a[s].T @ self.b[s] / len(s) for s in self.shards) / len(self.shards)
            return scipy.linalg.solve(self.hessian(np.zeros(self.dim)), rhs, assume_a="pos")
        res = scipy.optimize.minimize(self.loss, np.zeros(self.dim), jac=self.grad, method="L-BFGS-B",
                                      options={"gtol": 1e-12, "maxiter": 10_000})
        x = res.x
        for _ in range(50):  # Newton polish: quadratic convergence to machine precision
            g = self.grad(x)
            if np.linalg.norm(g) < 1e-13:
                break
            x = x - scipy.linalg.solve(self.hessian(x), g, assume_a="pos")
        return x


def split_even(n: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A random split of n rows into k shards of sizes differing by at most one."""
    if n < k:
        raise ValueError(f"num_samples: {n} rows cannot feed {k} workers")
    return [np.sort(s) for s in np.array_split(rng.permutation(n), k)]


def synthetic_problem(kind: str, num_samples: int, dim: int, kappa: float, num_workers: int,
                      rng: np.random.Generator, noise: float = 0.1, interpolation: bool = False) -> ConvexProblem:
    """Data whose Hessian has condition number kappa (module docstring)."""
    if not kappa > 1:
        raise ValueError(f"kappa: must be > 1, got {kappa}")
    if num_samples < dim:
        raise ValueError(f"num_samples: {num_samples} < num_features {dim}; whitening needs n >= d")
    raw = rng.standard_normal((num_samples, dim))
    shards = split_even(num_samples, num_workers, rng)
    gram = sum(raw[s].T @ raw[s] / len(s) for s in shards) / len(shards)
    w, v = scipy.linalg.eigh(gram)
    inv_sqrt = (v / np.sqrt(w)) @ v.T
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    if kind == "ridge":
        lam = 0.0 if interpolation else 1.0 / kappa
        lo = 1.0 / kappa if interpolation else 0.0
        e = _spectrum(lo, 1.0 - lam, dim)
    else:
        if interpolation:
            raise ValueError("interpolation: only for problem ridge")
        lam = 1.0 / (kappa - 1.0)
        e = _spectrum(0.0, 4.0, dim)
    a = raw @ inv_sqrt @ np.diag(np.sqrt(e)) @ q.T
    x_true = rng.standard_normal(dim)
    z = a @ x_true
    if kind == "ridge":
        b = z if interpolation else z + noise * rng.standard_normal(num_samples)
    else:
        b = np.where(rng.random(num_samples) < scipy.special.expit(z), 1.0, -1.0)  # P(y = 1) = sigmoid(a^T x)
    return ConvexProblem(kind, a, b, lam, shards)


def _spectrum(lo: float, hi: float, dim: int) -> np.ndarray:
    """dim eigenvalues from lo to hi, log-spaced above a zero floor (hi and lo attained)."""
    if dim == 1:
        return np.array([hi])
    if lo <= 0:
        return np.concatenate([[0.0], np.geomspace(hi * 1e-3, hi, dim - 1)])
    return np.geomspace(lo, hi, dim)


def digits_problem(kind: str, lam: float, num_workers: int, rng: np.random.Generator) -> ConvexProblem:
    """sklearn's 8x8 digits, standardised, with an intercept column: ridge regresses the digit
    value (centred), logistic separates digits 0-4 from 5-9."""
    from edgefl.learning.data import load_digits_xy

    x, y = load_digits_xy()
    x = np.asarray(x, dtype=np.float64)
    sd = x.std(axis=0)
    x = (x[:, sd > 0] - x[:, sd > 0].mean(axis=0)) / sd[sd > 0]
    a = np.hstack([x, np.ones((x.shape[0], 1))])
    y = np.asarray(y, dtype=np.float64)
    b = y - y.mean() if kind == "ridge" else np.where(y >= 5, 1.0, -1.0)
    return ConvexProblem(kind, a, b, lam, split_even(a.shape[0], num_workers, rng))
