"""Load-time check that every trainable initializer the loss depends on gets a gradient.

The gradient graph (:mod:`edgefl.learning.autodiff`) refuses ops it cannot differentiate, but a
path it misses would make a parameter's gradient silently 0 and the run report success with an
untrained model. One probe at load, on one minibatch, closes that gap:

1. the analytic gradient g at the initial parameters w; a tensor with any non-zero entry passes
   (a healthy model costs one gradient evaluation);
2. for a tensor whose gradient is exactly 0, a seeded random direction d (unit RMS per entry) and
   the central difference D(h) = (L(w + h d) - L(w - h d)) / 2 of the loss (Nocedal & Wright,
   Numerical Optimization, 2nd ed., eq. (8.7)): if the loss depends on the tensor to first
   order, D(h) ~ h g.d is clearly non-zero and D(h / 8) ~ D(h) / 8. The tensor fails only if
   both hold. A step that crosses a kink (a dead ReLU revived by the step, a rounding boundary)
   changes the loss by an amount that does not scale with h, and a stationary point (g = 0 with
   curvature) has D = 0 to first order, so neither is reported: the probe flags zero gradients
   of a first-order dependence only. Parameters exactly on a kink (a zero-initialised ReLU layer:
   every pre-activation 0) are reported: the one-sided slopes are non-zero, the gradient the
   rules give (ReLU'(0) = 0) is zero, and such a layer indeed never trains.

Deterministic: the minibatch is the first rows of the training set and the directions come
from a fixed seed.
"""

from __future__ import annotations

import numpy as np

from edgefl.learning.emitter import GradientGraphError

PROBE_ROWS = 32
PROBE_SEED = 0x6EAD
RELATIVE_STEP = 1e-2  # h = RELATIVE_STEP x the tensor's RMS (or the model's, or 1e-2)
#: |D| above this times max(|L|, 1e-3) is a change the loss's float type resolves
TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}
#: D(h/8) / D(h) of a first-order dependence is 1/8; accepted within this factor
SCALING_SLACK = 2.0


def zero_gradient_tensors(model, x: np.ndarray, target: np.ndarray, params: np.ndarray) -> list[tuple[str, float]]:
    """(name, D(h)) of every trainable tensor whose gradient is all zero although the loss changes
    with it to first order (module docstring); ``model`` is a DifferentiableModel."""
    layout = model.layout
    loss0, grad = model.loss_and_grad(x, target, params)
    tol = TOLERANCE.get(np.dtype(model.np_dtype), 1e-5) * max(abs(loss0), 1e-3)
    model_rms = float(np.sqrt(np.mean(params**2))) if params.size else 0.0
    out = []
    for i, (name, g) in enumerate(zip(layout.names, layout.views(grad))):
        if np.any(g != 0):
            continue
        w = layout.views(params)[i]
        rms = float(np.sqrt(np.mean(w**2))) if w.size else 0.0
        h = RELATIVE_STEP * (rms or model_rms or 1e-2)
        rng = np.random.default_rng([PROBE_SEED, i])
        d = rng.standard_normal(w.shape)
        d /= max(float(np.sqrt(np.mean(d**2))), 1e-300)

        def central(step: float, i: int = i, d: np.ndarray = d) -> float:
            lo, hi = params.copy(), params.copy()
            layout.views(lo)[i][...] -= step * d
            layout.views(hi)[i][...] += step * d
            return (model.loss_and_grad(x, target, hi)[0] - model.loss_and_grad(x, target, lo)[0]) / 2

        big = central(h)
        if not abs(big) > tol:
            continue
        small = central(h / 8)
        ratio = small / big
        if 1 / (8 * SCALING_SLACK) <= ratio <= SCALING_SLACK / 8:
            out.append((name, big))
    return out


def check_gradients_reach(model, x: np.ndarray, target: np.ndarray, params: np.ndarray) -> None:
    """Raise GradientGraphError naming the trainable tensors that get an all-zero gradient although
    the loss depends on them (probe on the first :data:`PROBE_ROWS` rows of ``x``)."""
    rows = slice(0, min(PROBE_ROWS, len(x)))
    bad = zero_gradient_tensors(model, x[rows], target[rows], params)
    if bad:
        names = ", ".join(f"{n!r} (loss change {abs(v):.3g} for a {RELATIVE_STEP:g} relative step)" for n, v in bad)
        raise GradientGraphError(
            f"model: the loss depends on trainable initializer(s) {names} but their gradient is all zero, so "
            "they would never train: the gradient graph misses a path to them, or they sit exactly on a kink "
            "(e.g. a zero-initialised ReLU layer). Re-initialise or re-export the model, or list them in model.frozen"
        )
