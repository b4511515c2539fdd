"""IADE, AIADE and IADE-SGD (AIADE paper ``004``, Algorithms 1, 2 and 3).

Every worker i quantises the *difference* between its gradient and its running
reference s^i with an error bound sigma_k that shrinks geometrically,
d_k^i = Q(g_k^i - s_{k-1}^i, sigma_k), s_k^i = s_{k-1}^i + d_k^i; the server tracks
s_k = s_{k-1} + (1/N) sum_i d_k^i (= mean_i s_k^i) and quantises again what it broadcasts
(double encoding), u_k = Q(s_k - v_{k-1}, sigma_k), v_k = v_{k-1} + u_k. Every worker
applies v_k, the aggregate this compressor returns; the gradient source takes the step
(x_{k+1} = x_k - eta v_k, or the Nesterov step of Alg. 2).

Error bounds sigma_k (the second argument of Q in the algorithms):

* IADE (Alg. 1):     s c'^(k+1) / 2,            eta in (0, 2/(L+mu)), c = 1 - eta mu < c' < 1
* AIADE (Alg. 2):    eps c^(k+1) / (2k + 2),    eta = 1/L, tau = (sqrt L - sqrt mu)/(sqrt L + sqrt mu),
                                                 c = sqrt(1 - sqrt(mu/L))
* IADE-SGD (Alg. 3): Q unbiased with squared error <= rho^2 L^2 s c'^(k+1) / 2, so
                     sigma_k = sqrt(rho^2 L^2 s c'^(k+1) / 2); eta = 1/(rho L),
                     c = 1 - mu/(rho L) < c' < 1 (rho: the weak growth constant, Assumption 5.1)

Q is the Lemma 2.1 uniform code (:mod:`edgefl.compress.uniform_code`), with subtractive
dither for IADE-SGD's unbiased Q. The step-size conditions of Theorems 3.1, 4.1 and 5.2
are checked against the gradient source's constants (L, mu, eta, momentum, rho) when it
knows them: a violation warns, or raises with ``strict: true``. With partial
participation the server's mean covers the round's workers only, so s_k stops being the
mean of all references (the papers assume every worker every round).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, PositiveFloat

from edgefl.compress import uniform_code
from edgefl.compress.base import CompressionResult, Compressor, RoundContext
from edgefl.config_model import StrictModel
from edgefl.diagnostics import ScenarioWarning


class StepSizeWarning(ScenarioWarning):
    """A step-size condition of the AIADE paper's theorems does not hold."""


@dataclass(frozen=True)
class ProblemConstants:
    """What the convergence theorems need from the problem and the optimiser."""

    L: float  # smoothness
    mu: float  # strong convexity
    eta: float  # step size the source uses
    momentum: float = 0.0  # Nesterov tau (0: plain gradient steps)
    rho: float = 1.0  # weak growth constant of the stochastic gradients (1: full batch)


class _IADEBase(StrictModel):
    strict: bool = Field(False, description="a violated step-size condition is an error, not a warning")


class IADEConfig(_IADEBase):
    """Alg. 1: error bound s c'^(k+1) / 2."""

    scheme: Literal["iade"] = "iade"
    s: PositiveFloat = Field(1.0, description="quantisation level s (scale of the error bound)")
    c_prime: float | None = Field(None, gt=0.0, lt=1.0,
                                  description="c' in (c, 1); default (1 + c) / 2 from the problem's L, mu, eta")


class AIADEConfig(_IADEBase):
    """Alg. 2: error bound eps c^(k+1) / (2k + 2)."""

    scheme: Literal["aiade"] = "aiade"
    eps: float = Field(0.5, gt=0.0, lt=1.0, description="eps of the error bound eps c^(k+1) / (2k + 2)")
    c: float | None = Field(None, gt=0.0, lt=1.0, description="default sqrt(1 - sqrt(mu / L)) from the problem")


class IADESGDConfig(_IADEBase):
    """Alg. 3: unbiased Q with squared error rho^2 L^2 s c'^(k+1) / 2."""

    scheme: Literal["iade-sgd"] = "iade-sgd"
    s: PositiveFloat = Field(1.0, description="quantisation level s")
    c_prime: float | None = Field(None, gt=0.0, lt=1.0, description="c' in (c, 1); default (1 + c) / 2")


#: c' / c when the problem is unknown (an ONNX model): a slowly shrinking error bound
UNKNOWN_PROBLEM_RATE = 0.99


class IADE(Compressor):
    """Double encoding of gradient differences with increasing accuracy (Algs. 1-3)."""

    can_drop_uploads = False  # the server state needs every worker's upload

    def __init__(self, cfg: IADEConfig | AIADEConfig | IADESGDConfig | None = None, *,
                 problem: ProblemConstants | None = None, **_: object) -> None:
        self.cfg = cfg or IADEConfig()
        self.name = self.cfg.scheme
        self.problem = problem
        self.problems = check_step_size(self.cfg, problem)
        for msg in self.problems:
            if self.cfg.strict:
                raise ValueError(f"compression.scheme {self.cfg.scheme}: {msg}")
            warnings.warn(f"compression.scheme {self.cfg.scheme}: {msg}", StepSizeWarning, stacklevel=2)
        self.rate = self._rate()
        self._k = 0
        self._refs: dict[int, np.ndarray] = {}
        self._s: np.ndarray | None = None
        self._v: np.ndarray | None = None

    def _rate(self) -> float:
        cfg, pb = self.cfg, self.problem
        if isinstance(cfg, AIADEConfig):
            if cfg.c is not None:
                return cfg.c
            return math.sqrt(1.0 - math.sqrt(pb.mu / pb.L)) if pb else UNKNOWN_PROBLEM_RATE
        if cfg.c_prime is not None:
            return cfg.c_prime
        if pb is None:
            return UNKNOWN_PROBLEM_RATE
        return 0.5 * (1.0 + contraction(cfg, pb))

    def sigma(self, k: int) -> float:
        """The error bound of iteration k (module docstring)."""
        cfg = self.cfg
        if isinstance(cfg, AIADEConfig):
            return cfg.eps * self.rate ** (k + 1) / (2 * k + 2)
        if isinstance(cfg, IADESGDConfig):
            pb = self.problem or ProblemConstants(1.0, 1.0, 1.0)
            return math.sqrt(pb.rho ** 2 * pb.L ** 2 * cfg.s * self.rate ** (k + 1) / 2.0)
        return cfg.s * self.rate ** (k + 1) / 2.0

    def _q(self, x: np.ndarray, sigma: float, bit_true: bool, dither: np.ndarray | None) -> tuple[np.ndarray, int]:
        if sigma < 1e-300:
            raise ValueError(f"{self.name}: error bound {sigma!r} underflowed after {self._k} iterations; "
                             "stop the run earlier or raise the quantisation level")
        if bit_true:
            bits = uniform_code.encode(x, sigma, dither)
            return uniform_code.decode(bits, x.size, sigma, dither), int(bits.size)
        return uniform_code.quantize(x, sigma, dither)

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        k_rows, p = grads.shape
        if self._s is None:
            self._s, self._v = np.zeros(p), np.zeros(p)
        sigma = self.sigma(self._k)
        bit_true = ctx.fidelity == "bit-true"
        unbiased = isinstance(self.cfg, IADESGDConfig)
        up = np.zeros(k_rows)
        dsum = np.zeros(p)
        for row, w in enumerate(ctx.worker_ids(k_rows).tolist()):
            ref = self._refs.get(w)
            ref = np.zeros(p) if ref is None else ref
            dither = ctx.rng.random(p) if unbiased else None  # shared seed: worker and server draw alike
            d_hat, nbits = self._q(grads[row] - ref, sigma, bit_true, dither)
            self._refs[w] = ref + d_hat
            up[row] = nbits
            dsum += d_hat
        self._s = self._s + dsum / k_rows
        dither = ctx.rng.random(p) if unbiased else None
        u, down = self._q(self._s - self._v, sigma, bit_true, dither)
        self._v = self._v + u
        self._k += 1
        return CompressionResult(upload_bits=up, decode_bits=np.zeros(k_rows), aggregate=self._v.copy(),
                                 downlink_bits=float(down), info={"sigma": sigma})

    def encode_flops(self, num_params: int) -> float:
        # difference, scale, round, reconstruct, reference update: 5 flops per parameter (the
        # arithmetic coder's integer work is not floating point)
        return 5.0 * num_params

    def server_flops(self, num_workers: int, num_params: int) -> float:
        # decode K differences into s_k (K P adds, counted by the engine's aggregation) + re-encode
        return 5.0 * num_params


def contraction(cfg: IADEConfig | IADESGDConfig, pb: ProblemConstants) -> float:
    """c of Alg. 1 (1 - eta mu) or Alg. 3 (1 - mu / (rho L))."""
    if isinstance(cfg, IADESGDConfig):
        return 1.0 - pb.mu / (pb.rho * pb.L)
    return 1.0 - pb.eta * pb.mu


def check_step_size(cfg: IADEConfig | AIADEConfig | IADESGDConfig, pb: ProblemConstants | None) -> list[str]:
    """The conditions of Theorems 3.1 / 4.1 / 5.2 that ``pb`` violates (empty: all hold or unknown)."""
    if pb is None:
        return []
    out: list[str] = []
    rel = 1e-9
    if isinstance(cfg, AIADEConfig):
        tau = (math.sqrt(pb.L) - math.sqrt(pb.mu)) / (math.sqrt(pb.L) + math.sqrt(pb.mu))
        if abs(pb.eta - 1.0 / pb.L) > rel * (1.0 / pb.L):
            out.append(f"Theorem 4.1 needs eta = 1/L = {1.0 / pb.L:.6g}, the source uses {pb.eta:.6g} (gradients.lr)")
        if abs(pb.momentum - tau) > 1e-6:
            out.append(f"Theorem 4.1 needs Nesterov momentum tau = {tau:.6g}, the source uses {pb.momentum:.6g} "
                       "(gradients.optimizer: nesterov)")
        return out
    if pb.momentum != 0.0:
        out.append(f"Theorem {'5.2' if isinstance(cfg, IADESGDConfig) else '3.1'} assumes plain gradient steps, "
                   f"the source uses momentum {pb.momentum:.6g} (gradients.optimizer: gd)")
    if isinstance(cfg, IADESGDConfig):
        if pb.eta > (1.0 + rel) / (pb.rho * pb.L):
            out.append(f"Theorem 5.2 needs eta <= 1/(rho L) = {1.0 / (pb.rho * pb.L):.6g}, "
                       f"the source uses {pb.eta:.6g} (gradients.lr)")
    elif not 0.0 < pb.eta < 2.0 / (pb.L + pb.mu):
        out.append(f"Theorem 3.1 needs eta in (0, 2/(L+mu)) = (0, {2.0 / (pb.L + pb.mu):.6g}), "
                   f"the source uses {pb.eta:.6g} (gradients.lr)")
    c = contraction(cfg, pb)
    if cfg.c_prime is not None and not c < cfg.c_prime < 1.0:
        out.append(f"c' = {cfg.c_prime!r} must lie in (c, 1) = ({c:.6g}, 1) (compression.c_prime)")
    return out
