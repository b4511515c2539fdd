"""Loss heads appended to a model's output: the loss value and its gradient seed.

Cross-entropy (classification): the model output is taken as logits, unless the model
ends in Softmax (its input are the logits) or LogSoftmax (its output are log-probs).
With one-hot targets T and batch N,

    L = -(1/N) sum_n sum_c T[n,c] log p[n,c],    dL/dz = (p - T) / N

where z are the logits and p = softmax(z) (the rows of T sum to 1). Seeding the
backward pass at z with (p - T) / N avoids differentiating through log(p).

Mean squared error (regression): L = mean over all elements of (Y - T)^2,
dL/dY = 2 (Y - T) / numel(Y).
"""

from __future__ import annotations

from typing import Literal

from onnx import NodeProto

from edgefl.learning.emitter import Emitter, GradientGraphError

LossName = Literal["cross_entropy", "mse"]
LOSSES = ("cross_entropy", "mse")


def _count(em: Emitter, name: str, axis0_only: bool) -> str:
    """Batch size (axis 0 extent) or element count of ``name`` as a float scalar."""
    if axis0_only:
        n = em.op("Gather", [em.op("Shape", [name]), em.ints([0])])
        n = em.op("Squeeze", [n, em.ints([0])])
    else:
        n = em.op("Size", [name])
    return em.op("Cast", [n], "count", to=em.elem_type)


def cross_entropy_head(em: Emitter, output: str, producer: NodeProto | None, target: str):
    """Emit the cross-entropy loss; return (loss name, seed tensor, seed gradient name)."""
    rank = em.rank_of(output)
    if rank != 2:
        raise GradientGraphError(f"cross_entropy needs a (batch, classes) output, {output!r} has rank {rank}")
    op = producer.op_type if producer is not None else None
    if op in ("Softmax", "LogSoftmax"):
        axis = int({a.name: a.i for a in producer.attribute}.get("axis", -1)) % 2
        if axis != 1:
            raise GradientGraphError(f"cross_entropy: final {op} must act on the class axis (1), got axis {axis}")
        logits = producer.input[0]
    else:
        logits = output
    logp = em.op("LogSoftmax", [logits], "logp", axis=1)
    probs = em.op("Exp", [logp], "probs")
    n = _count(em, target, axis0_only=True)
    total = em.op("ReduceSum", [em.op("Mul", [target, logp])], "ce_sum", keepdims=0)
    loss = em.op("Neg", [em.op("Div", [total, n])], "loss")
    seed = em.op("Div", [em.op("Sub", [probs, target]), n], "dlogits")
    return loss, logits, seed


def mse_head(em: Emitter, output: str, target: str):
    """Emit the mean squared error; return (loss name, seed tensor, seed gradient name)."""
    diff = em.op("Sub", [output, target], "residual")
    n = _count(em, output, axis0_only=False)
    loss = em.op("Div", [em.op("ReduceSum", [em.op("Mul", [diff, diff])], keepdims=0), n], "loss")
    seed = em.op("Div", [em.op("Mul", [diff, em.scalar(2.0)]), n], "doutput")
    return loss, output, seed
