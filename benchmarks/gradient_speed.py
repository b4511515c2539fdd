"""Gradient evaluations per second of the shipped digits MLP (64-128-10) at batch 128:
onnxruntime gradient graph (edgefl.learning) vs a hand-written numpy forward+backward of
the same MLP, both float32, both single-threaded, measured in
this run. Also checks that the two agree.

    python benchmarks/gradient_speed.py [--seconds 2] [--batch 128] [--features 784]

``--features`` other than 64 builds the same MLP shape (features-128-10) in memory with
models/make_models.py, e.g. 784 for the papers' MNIST size.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits  # ships with scikit-learn

from edgefl.learning import DifferentiableModel

MODEL = Path(__file__).resolve().parents[1] / "models" / "mlp.onnx"


def numpy_mlp_grad(x, t, w1, b1, w2, b2):
    """Cross-entropy loss and gradients of Gemm-ReLU-Gemm, hand-derived."""
    h = x @ w1 + b1
    a = np.maximum(h, 0)
    z = a @ w2 + b2
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.sum(t * np.log(p)) / n
    dz = (p - t) / n
    dw2, db2 = a.T @ dz, dz.sum(axis=0)
    dh = (dz @ w2.T) * (h > 0)
    dw1, db1 = x.T @ dh, dh.sum(axis=0)
    return loss, np.concatenate([dw1.ravel(), db1, dw2.ravel(), db2])


def _mlp(features: int):
    spec = importlib.util.spec_from_file_location("make_models", MODEL.parent / "make_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.mlp(n_in=features)


def rate(fn, seconds: float) -> float:
    fn()  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            fn()
        count += 20
    return count / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--features", type=int, default=64)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.features)).astype(np.float32)
    t = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.batch)]
    dm = DifferentiableModel(MODEL if args.features == 64 else _mlp(args.features))
    theta = dm.graph.initial
    tensors = [v.astype(np.float32) for v in dm.layout.views(theta)]  # fc1.w, fc1.b, fc2.w, fc2.b

    loss_o, g_o = dm.loss_and_grad(x, t, theta)
    loss_n, g_n = numpy_mlp_grad(x, t, *tensors)
    err = np.linalg.norm(g_o - g_n) / np.linalg.norm(g_n)
    assert err < 1e-5, f"onnxruntime and numpy gradients differ: {err:.2e}"

    r_ort = rate(lambda: dm.loss_and_grad(x, t, theta), args.seconds)
    # one BLAS thread: like the onnxruntime session, and a shared 2-core machine makes
    # multithreaded BLAS on these small matrices erratic (measured 20-300x slower)
    with threadpool_limits(limits=1):
        r_np = rate(lambda: numpy_mlp_grad(x, t, *tensors), args.seconds)
    print(f"MLP {args.features}-128-10, batch {args.batch}, P = {dm.num_params}, gradient agreement {err:.1e}")
    print(f"  onnxruntime (edgefl.learning): {r_ort:9.0f} gradients/s  ({1e3 / r_ort:.3f} ms)")
    print(f"  numpy reference (1 thread)   : {r_np:9.0f} gradients/s  ({1e3 / r_np:.3f} ms)")
    print(f"  ratio onnxruntime / numpy    : {r_ort / r_np:9.2f}x")
    print(f"  one round of 10 workers      : {10e3 / r_ort:.2f} ms; 300 rounds: {3000 / r_ort:.2f} s of gradients")


if __name__ == "__main__":
    main()
