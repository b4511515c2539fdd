"""Vector-Jacobian product rules: for one forward ONNX node, emit the nodes that turn
the gradients of its outputs into the gradients of its inputs.

Each rule has the signature ``rule(node, em, gy, needs) -> list[str | None]`` where
``gy[j]`` is the name of dL/d(output j) (or None), ``needs[i]`` says whether input i
needs a gradient, and the result holds the name of dL/d(input i) (or None). Rules use
standard ONNX ops only (opset >= 16), so plain onnxruntime runs the backward graph.
``RULES`` maps op type to (rule, indices of differentiable inputs).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import NodeProto, helper

from edgefl.learning.emitter import Emitter, GradientGraphError

Rule = Callable[[NodeProto, Emitter, list, list], list]


def attrs_of(node: NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _forbid(node: NodeProto, attrs: dict, name: str, allowed, default) -> None:
    value = attrs.get(name, default)
    if isinstance(value, bytes):
        value = value.decode()
    if value not in allowed:
        raise GradientGraphError(
            f"node {node.name!r} ({node.op_type}): attribute {name}={value!r} is not supported "
            f"by the gradient builder (allowed: {allowed})"
        )


# --- linear algebra -------------------------------------------------------------------


def rule_gemm(node, em, gy, needs):
    """Y = alpha op(A) op(B) + beta C (ONNX Gemm); dA' = alpha dY B'^T, dB' = alpha A'^T dY."""
    a, b = node.input[0], node.input[1]
    at = attrs_of(node)
    alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
    ta, tb = int(at.get("transA", 0)), int(at.get("transB", 0))
    dy = gy[0]
    out = [None] * len(node.input)
    if needs[0]:
        if ta:
            out[0] = em.op("Gemm", [b, dy], "dA", alpha=alpha, transA=tb, transB=1)
        else:
            out[0] = em.op("Gemm", [dy, b], "dA", alpha=alpha, transB=1 - tb)
    if needs[1]:
        if tb:
            out[1] = em.op("Gemm", [dy, a], "dB", alpha=alpha, transA=1, transB=ta)
        else:
            out[1] = em.op("Gemm", [a, dy], "dB", alpha=alpha, transA=1 - ta)
    if len(node.input) > 2 and node.input[2] and needs[2]:
        g = dy if beta == 1.0 else em.op("Mul", [dy, em.scalar(beta)])
        out[2] = em.unbroadcast(g, node.input[2], node.output[0], node.name)
    return out


def _swap_last_two(em: Emitter, name: str, node_name: str) -> str:
    rank = em.rank_of(name, node_name)
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    return em.op("Transpose", [name], "T", perm=perm)


def rule_matmul(node, em, gy, needs):
    """Y = A @ B (ranks >= 2, numpy broadcasting); dA = dY B^T, dB = A^T dY, unbroadcast."""
    a, b = node.input
    for name in (a, b):
        if em.rank_of(name, node.name) < 2:
            raise GradientGraphError(f"node {node.name!r} (MatMul): 1-D operands are not supported")
    out = [None, None]
    if needs[0]:
        g = em.op("MatMul", [gy[0], _swap_last_two(em, b, node.name)], "dA")
        out[0] = em.unbroadcast(g, a, node.output[0], node.name)
    if needs[1]:
        g = em.op("MatMul", [_swap_last_two(em, a, node.name), gy[0]], "dB")
        out[1] = em.unbroadcast(g, b, node.output[0], node.name)
    return out


# --- elementwise arithmetic -----------------------------------------------------------


def _binary(node, em, needs, grad_a: Callable[[], str], grad_b: Callable[[], str]) -> list:
    """Gradients of a broadcasting binary op, each summed back to its input's shape."""
    out = [None, None]
    for i, make in enumerate((grad_a, grad_b)):
        if needs[i]:
            out[i] = em.unbroadcast(make(), node.input[i], node.output[0], node.name)
    return out


def rule_add(node, em, gy, needs):
    """Y = A + B: dA = dY, dB = dY."""
    return _binary(node, em, needs, lambda: gy[0], lambda: gy[0])


def rule_sub(node, em, gy, needs):
    """Y = A - B: dA = dY, dB = -dY."""
    return _binary(node, em, needs, lambda: gy[0], lambda: em.op("Neg", [gy[0]]))


def rule_mul(node, em, gy, needs):
    """Y = A B: dA = dY B, dB = dY A."""
    a, b = node.input
    return _binary(node, em, needs, lambda: em.op("Mul", [gy[0], b]), lambda: em.op("Mul", [gy[0], a]))


def rule_div(node, em, gy, needs):
    """Y = A / B: dA = dY / B, dB = -dY Y / B."""
    b, y = node.input[1], node.output[0]
    return _binary(
        node, em, needs, lambda: em.op("Div", [gy[0], b]),
        lambda: em.op("Neg", [em.op("Div", [em.op("Mul", [gy[0], y]), b])]),
    )


def rule_identity(node, em, gy, needs):
    return [gy[0]] + [None] * (len(node.input) - 1)


# --- activations ----------------------------------------------------------------------


def _positive(em: Emitter, x: str) -> str:
    return em.op("Greater", [x, em.scalar(0.0)], "pos")


def rule_relu(node, em, gy, needs):
    """dX = dY [X > 0]."""
    return [em.op("Where", [_positive(em, node.input[0]), gy[0], em.scalar(0.0)], "dRelu")]


def rule_leaky_relu(node, em, gy, needs):
    """dX = dY for X > 0, alpha dY otherwise (ONNX default alpha 0.01)."""
    alpha = float(attrs_of(node).get("alpha", 0.01))
    neg = em.op("Mul", [gy[0], em.scalar(alpha)])
    return [em.op("Where", [_positive(em, node.input[0]), gy[0], neg], "dLeaky")]


def rule_sigmoid(node, em, gy, needs):
    """dX = dY Y (1 - Y)."""
    y = node.output[0]
    one_minus = em.op("Sub", [em.scalar(1.0), y])
    return [em.op("Mul", [gy[0], em.op("Mul", [y, one_minus])], "dSigmoid")]


def rule_tanh(node, em, gy, needs):
    """dX = dY (1 - Y^2)."""
    y = node.output[0]
    return [em.op("Mul", [gy[0], em.op("Sub", [em.scalar(1.0), em.op("Mul", [y, y])])], "dTanh")]


def _axis(node, em) -> int:
    rank = em.rank_of(node.input[0], node.name)
    axis = int(attrs_of(node).get("axis", -1))
    return axis % rank


def rule_softmax(node, em, gy, needs):
    """Y = softmax(X) along axis (opset >= 13): dX = Y (dY - sum(dY Y))."""
    axes = em.ints([_axis(node, em)])
    y = node.output[0]
    s = em.op("ReduceSum", [em.op("Mul", [gy[0], y]), axes], keepdims=1)
    return [em.op("Mul", [y, em.op("Sub", [gy[0], s])], "dSoftmax")]


def rule_log_softmax(node, em, gy, needs):
    """Y = log softmax(X): dX = dY - exp(Y) sum(dY)."""
    axes = em.ints([_axis(node, em)])
    s = em.op("ReduceSum", [gy[0], axes], keepdims=1)
    return [em.op("Sub", [gy[0], em.op("Mul", [em.op("Exp", [node.output[0]]), s])], "dLogSoftmax")]


# --- shape ops ------------------------------------------------------------------------


def rule_reshape_like_input(node, em, gy, needs):
    """Flatten / Reshape / Squeeze / Unsqueeze: dX = reshape(dY, shape(X))."""
    return [em.reshape_like(gy[0], node.input[0])] + [None] * (len(node.input) - 1)


def rule_transpose(node, em, gy, needs):
    perm = attrs_of(node).get("perm")
    if perm is None:
        perm = list(range(em.rank_of(node.input[0], node.name)))[::-1]
    inverse = list(np.argsort(perm))
    return [em.op("Transpose", [gy[0]], "dT", perm=[int(p) for p in inverse])]


def rule_concat(node, em, gy, needs):
    """dX_i = the slice of dY along axis that X_i filled (Split with runtime sizes)."""
    rank = em.rank_of(node.output[0], node.name)
    axis = int(attrs_of(node)["axis"]) % rank
    sizes = [em.op("Gather", [em.op("Shape", [x]), em.ints([axis])], "size") for x in node.input]
    split = em.op("Concat", sizes, "split", axis=0)
    parts = em.op("Split", [gy[0], split], "dConcat", n_out=len(node.input), axis=axis)
    parts = parts if isinstance(parts, list) else [parts]
    return [p if n else None for p, n in zip(parts, needs)]


# --- convolution and pooling (2-D, NCHW) ----------------------------------------------


def explicit_pads(attrs: dict, hw, kernel, strides) -> list[int]:
    """[top, left, bottom, right] pads, turning auto_pad SAME_UPPER / SAME_LOWER into
    numbers (ONNX spec: output = ceil(H / s), the odd padding cell at the end for
    SAME_UPPER, at the start for SAME_LOWER); VALID means none."""
    mode = attrs.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode in ("NOTSET", ""):
        return list(attrs.get("pads", [0, 0, 0, 0]))
    if mode == "VALID":
        return [0, 0, 0, 0]
    begin, end = [], []
    for i in range(2):
        total = max((-(-hw[i] // strides[i]) - 1) * strides[i] + kernel[i] - hw[i], 0)
        small = total // 2
        begin.append(small if mode == "SAME_UPPER" else total - small)
        end.append(total - begin[-1])
    return begin + end


def _spatial(node, em, attrs) -> tuple[tuple[int, int], tuple[int, int], list[int], list[int]]:
    """(H, W) of the input, kernel, strides, pads [top, left, bottom, right]."""
    shape = em.static_shape(node.input[0], node.name, skip_batch=True)
    if len(shape) != 3:
        raise GradientGraphError(f"node {node.name!r} ({node.op_type}): only 2-D (NCHW) inputs are supported")
    _forbid(node, attrs, "auto_pad", ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"), "NOTSET")
    _forbid(node, attrs, "ceil_mode", (0,), 0)
    dil = attrs.get("dilations", [1, 1])
    if list(dil) != [1, 1]:
        raise GradientGraphError(f"node {node.name!r} ({node.op_type}): dilations {list(dil)} are not supported")
    kernel = attrs.get("kernel_shape")
    if kernel is None:  # Conv may omit it; the weight has it
        kernel = em.static_shape(node.input[1], node.name)[2:]
    strides = list(attrs.get("strides", [1, 1]))
    hw = (shape[1], shape[2])
    return hw, tuple(kernel), strides, explicit_pads(attrs, hw, kernel, strides)


def _output_padding(hw, kernel, strides, pads) -> list[int]:
    """Rows/cols the forward window never reached: (H + p_b + p_e - k) mod s per axis."""
    return [(hw[i] + pads[i] + pads[i + 2] - kernel[i]) % strides[i] for i in range(2)]


def rule_conv(node, em, gy, needs):
    """Y = X * W (cross-correlation, group 1): dX = conv_transpose(dY, W);
    dW = correlation of X with dY (Conv with dilation = stride over batch-as-channel);
    dB = sum of dY over N, H, W."""
    attrs = attrs_of(node)
    if int(attrs.get("group", 1)) != 1:
        raise GradientGraphError(f"node {node.name!r} (Conv): group != 1 is not supported")
    hw, kernel, strides, pads = _spatial(node, em, attrs)
    out_pad = _output_padding(hw, kernel, strides, pads)
    x, w = node.input[0], node.input[1]
    dy = gy[0]
    out = [None] * len(node.input)
    if needs[0]:
        out[0] = em.op(
            "ConvTranspose", [dy, w], "dX", strides=strides, pads=pads, output_padding=out_pad
        )
    if needs[1]:
        xt = em.op("Transpose", [x], perm=[1, 0, 2, 3])
        dyt = em.op("Transpose", [dy], perm=[1, 0, 2, 3])
        corr = em.op("Conv", [xt, dyt], "dWt", pads=pads, dilations=strides, strides=[1, 1])
        if any(out_pad):
            corr = em.op(
                "Slice", [corr, em.ints([0, 0]), em.ints(list(kernel)), em.ints([2, 3])], "crop"
            )
        out[1] = em.op("Transpose", [corr], "dW", perm=[1, 0, 2, 3])
    if len(node.input) > 2 and node.input[2] and needs[2]:
        out[2] = em.op("ReduceSum", [dy, em.ints([0, 2, 3])], "dB", keepdims=0)
    return out


def avg_pool_divisor(hw, kernel, strides, pads, count_include_pad: bool) -> np.ndarray:
    """Number of input cells each AveragePool window averages over, per output position."""
    counts = []
    for i in range(2):
        n_out = (hw[i] + pads[i] + pads[i + 2] - kernel[i]) // strides[i] + 1
        start = np.arange(n_out) * strides[i] - pads[i]
        if count_include_pad:
            # windows never leave the padded input when ceil_mode = 0
            counts.append(np.full(n_out, kernel[i]))
        else:
            counts.append(np.minimum(start + kernel[i], hw[i]) - np.maximum(start, 0))
    return np.outer(counts[0], counts[1]).astype(float)


def rule_average_pool(node, em, gy, needs):
    """dX = conv_transpose(dY / divisor, ones) per channel (group = C)."""
    attrs = attrs_of(node)
    hw, kernel, strides, pads = _spatial(node, em, attrs)
    channels = em.static_shape(node.input[0], node.name, skip_batch=True)[0]
    divisor = avg_pool_divisor(hw, kernel, strides, pads, bool(attrs.get("count_include_pad", 0)))
    scaled = em.op("Mul", [gy[0], em.const((1.0 / divisor).astype(em.np_dtype), "inv_divisor")])
    ones = em.const(np.ones((channels, 1) + tuple(kernel), dtype=em.np_dtype), "ones_kernel")
    out_pad = _output_padding(hw, kernel, strides, pads)
    return [
        em.op(
            "ConvTranspose", [scaled, ones], "dAvgPool", strides=strides, pads=pads,
            output_padding=out_pad, group=channels,
        )
    ]


def rule_max_pool(node, em, gy, needs):
    """dY goes to the arg-max cell of each window; overlapping windows add up
    (ScatterElements with reduction add over the flattened input, using MaxPool's
    Indices output, which the builder adds to the forward node)."""
    attrs = attrs_of(node)
    _spatial(node, em, attrs)
    _forbid(node, attrs, "storage_order", (0,), 0)
    x = node.input[0]
    flat = em.ints([-1])
    zeros = em.op("Reshape", [em.zeros_like(x), flat])
    idx = em.op("Reshape", [node.output[1], flat])
    src = em.op("Reshape", [gy[0], flat])
    scattered = em.op("ScatterElements", [zeros, idx, src], "dMaxPool", axis=0, reduction="add")
    return [em.reshape_like(scattered, x)]


def rule_global_average_pool(node, em, gy, needs):
    """dX = dY / (H W) broadcast over the spatial axes."""
    x = node.input[0]
    shape = em.op("Shape", [x])
    spatial = em.op("Slice", [shape, em.ints([2]), em.ints([np.iinfo(np.int64).max])])
    count = em.op("Cast", [em.op("ReduceProd", [spatial], keepdims=0)], to=em.elem_type)
    return [em.op("Expand", [em.op("Div", [gy[0], count]), shape], "dGAP")]


def rule_batch_norm(node, em, gy, needs):
    """Inference form Y = scale (X - mean) / sqrt(var + eps) + B (mean, var fixed):
    dX = dY scale / sqrt(var + eps), dscale = sum(dY xhat), dB = sum(dY) over all but axis 1."""
    attrs = attrs_of(node)
    _forbid(node, attrs, "training_mode", (0,), 0)
    if len(node.output) > 1 and any(node.output[1:]):
        raise GradientGraphError(f"node {node.name!r}: BatchNormalization training outputs are not supported")
    x, scale, _, mean, var = node.input
    rank = em.rank_of(x, node.name)
    bshape = em.ints([-1] + [1] * (rank - 2))
    axes = em.ints([0] + list(range(2, rank)))
    inv_std = em.op("Reciprocal", [em.op("Sqrt", [em.op("Add", [var, em.scalar(float(attrs.get("epsilon", 1e-5)))])])])
    inv_std_b = em.op("Reshape", [inv_std, bshape])
    dy = gy[0]
    out = [None] * 5
    if needs[0]:
        out[0] = em.op("Mul", [dy, em.op("Reshape", [em.op("Mul", [scale, inv_std]), bshape])], "dX")
    if needs[1]:
        xhat = em.op("Mul", [em.op("Sub", [x, em.op("Reshape", [mean, bshape])]), inv_std_b])
        out[1] = em.op("ReduceSum", [em.op("Mul", [dy, xhat]), axes], "dScale", keepdims=0)
    if needs[2]:
        out[2] = em.op("ReduceSum", [dy, axes], "dBias", keepdims=0)
    return out


# --- unary elementwise (exporters' activation and normalisation building blocks) -------


def rule_neg(node, em, gy, needs):
    """Y = -X: dX = -dY."""
    return [em.op("Neg", [gy[0]], "dNeg")]


def rule_exp(node, em, gy, needs):
    """Y = exp(X): dX = dY Y."""
    return [em.op("Mul", [gy[0], node.output[0]], "dExp")]


def rule_log(node, em, gy, needs):
    """Y = log(X): dX = dY / X."""
    return [em.op("Div", [gy[0], node.input[0]], "dLog")]


def rule_sqrt(node, em, gy, needs):
    """Y = sqrt(X): dX = dY / (2 Y)."""
    return [em.op("Div", [gy[0], em.op("Mul", [node.output[0], em.scalar(2.0)])], "dSqrt")]


def rule_reciprocal(node, em, gy, needs):
    """Y = 1 / X: dX = -dY Y^2."""
    y = node.output[0]
    return [em.op("Neg", [em.op("Mul", [gy[0], em.op("Mul", [y, y])])], "dReciprocal")]


def rule_abs(node, em, gy, needs):
    """Y = |X|: dX = dY sign(X) (0 at X = 0, as PyTorch)."""
    return [em.op("Mul", [gy[0], em.op("Sign", [node.input[0]])], "dAbs")]


def rule_erf(node, em, gy, needs):
    """Y = erf(X) (PyTorch's exact GELU, x/2 (1 + erf(x / sqrt 2))): dX = dY 2/sqrt(pi) exp(-X^2)."""
    x = node.input[0]
    e = em.op("Exp", [em.op("Neg", [em.op("Mul", [x, x])])])
    return [em.op("Mul", [gy[0], em.op("Mul", [e, em.scalar(2.0 / np.sqrt(np.pi))])], "dErf")]


def rule_pow(node, em, gy, needs):
    """Y = A^B (ONNX Pow; B may be an integer tensor): dA = dY B A^(B-1). The exponent is
    never trained: exporters write it as a constant (x^2 in LayerNorm, x^3 in tanh-GELU)."""
    a, b = node.input
    bf = em.op("Cast", [b], "exponent", to=em.elem_type)
    pow_m1 = em.op("Pow", [a, em.op("Sub", [bf, em.scalar(1.0)])])
    g = em.op("Mul", [gy[0], em.op("Mul", [bf, pow_m1])], "dPow")
    return [em.unbroadcast(g, a, node.output[0], node.name), None]


def rule_softplus(node, em, gy, needs):
    """Y = log(1 + exp(X)): dX = dY sigmoid(X)."""
    return [em.op("Mul", [gy[0], em.op("Sigmoid", [node.input[0]])], "dSoftplus")]


def rule_elu(node, em, gy, needs):
    """Y = X (X > 0), alpha (exp(X) - 1) otherwise: dX = dY, or dY (Y + alpha)."""
    alpha = float(attrs_of(node).get("alpha", 1.0))
    neg = em.op("Mul", [gy[0], em.op("Add", [node.output[0], em.scalar(alpha)])])
    return [em.op("Where", [_positive(em, node.input[0]), gy[0], neg], "dElu")]


def rule_selu(node, em, gy, needs):
    """Y = gamma X (X > 0), gamma alpha (exp(X) - 1) otherwise:
    dX = gamma dY, or dY (Y + gamma alpha)."""
    at = attrs_of(node)
    alpha, gamma = float(at.get("alpha", 1.67326319217681884765625)), float(at.get("gamma", 1.05070102214813232421875))
    pos = em.op("Mul", [gy[0], em.scalar(gamma)])
    neg = em.op("Mul", [gy[0], em.op("Add", [node.output[0], em.scalar(gamma * alpha)])])
    return [em.op("Where", [_positive(em, node.input[0]), pos, neg], "dSelu")]


def _hard_sigmoid_parts(em, x, alpha, beta):
    """(max(0, min(1, alpha x + beta)), indicator of its linear part 0 < alpha x + beta < 1)."""
    z = em.op("Add", [em.op("Mul", [x, em.scalar(alpha)]), em.scalar(beta)])
    inside = em.op("And", [em.op("Greater", [z, em.scalar(0.0)]), em.op("Less", [z, em.scalar(1.0)])])
    return em.op("Clip", [z, em.scalar(0.0), em.scalar(1.0)]), inside


def rule_hard_sigmoid(node, em, gy, needs):
    """Y = max(0, min(1, alpha X + beta)): dX = alpha dY on the linear part, else 0."""
    at = attrs_of(node)
    alpha, beta = float(at.get("alpha", 0.2)), float(at.get("beta", 0.5))
    _, inside = _hard_sigmoid_parts(em, node.input[0], alpha, beta)
    return [em.op("Where", [inside, em.op("Mul", [gy[0], em.scalar(alpha)]), em.scalar(0.0)], "dHardSigmoid")]


def rule_hard_swish(node, em, gy, needs):
    """Y = X h(X), h = HardSigmoid(alpha 1/6, beta 1/2): dX = dY (h + X/6 [0 < X/6 + 1/2 < 1])."""
    x = node.input[0]
    h, inside = _hard_sigmoid_parts(em, x, 1.0 / 6.0, 0.5)
    slope = em.op("Where", [inside, em.op("Mul", [x, em.scalar(1.0 / 6.0)]), em.scalar(0.0)])
    return [em.op("Mul", [gy[0], em.op("Add", [h, slope])], "dHardSwish")]


def rule_clip(node, em, gy, needs):
    """Y = min(max(X, lo), hi) (ReLU6 and friends; opset >= 11 bounds are inputs):
    dX = dY where lo <= X <= hi (PyTorch's clamp convention), else 0."""
    x = node.input[0]
    mask = None
    for i, op in ((1, "GreaterOrEqual"), (2, "LessOrEqual")):
        if len(node.input) > i and node.input[i]:
            m = em.op(op, [x, node.input[i]])
            mask = m if mask is None else em.op("And", [mask, m])
    if mask is None:
        return [gy[0]]
    return [em.op("Where", [mask, gy[0], em.scalar(0.0)], "dClip")] + [None] * (len(node.input) - 1)


def rule_prelu(node, em, gy, needs):
    """Y = X (X > 0), slope X otherwise (slope broadcast to X): dX = dY or slope dY;
    dslope = dY X where X <= 0, summed back to the slope's shape."""
    x, slope = node.input
    pos = _positive(em, x)
    return _binary(
        node, em, needs,
        lambda: em.op("Where", [pos, gy[0], em.op("Mul", [gy[0], slope])], "dPRelu"),
        lambda: em.op("Where", [pos, em.scalar(0.0), em.op("Mul", [gy[0], x])], "dSlope"),
    )


def rule_cast(node, em, gy, needs):
    """Y = cast(X) between float types: dX = dY in the model's float type."""
    return [em.op("Cast", [gy[0]], "dCast", to=em.elem_type)]


def rule_where(node, em, gy, needs):
    """Y = cond ? A : B: dA = dY where cond, dB = dY where not cond (unbroadcast)."""
    c = node.input[0]
    zero = em.scalar(0.0)
    out = [None] * 3
    for i, (on, off) in ((1, (gy[0], zero)), (2, (zero, gy[0]))):
        if needs[i]:
            out[i] = em.unbroadcast(em.op("Where", [c, on, off], "dWhere"), node.input[i], node.output[0], node.name)
    return out


def rule_sum(node, em, gy, needs):
    """Y = sum_i X_i (broadcasting): dX_i = dY summed back to X_i's shape."""
    return [em.unbroadcast(gy[0], x, node.output[0], node.name) if n else None for x, n in zip(node.input, needs)]


def rule_expand(node, em, gy, needs):
    """Y = broadcast of X to a shape: dX = dY summed over the broadcast axes."""
    return [em.unbroadcast(gy[0], node.input[0], node.output[0], node.name), None]


# --- reductions -----------------------------------------------------------------------


def reduce_axes(node: NodeProto) -> tuple[list[int] | None, str | None]:
    """Axes of a Reduce* node: (attribute list, None) for the attribute form, (None, input
    name) for the input form (ReduceSum >= 13, ReduceMean >= 18), (None, None) = all axes."""
    at = attrs_of(node)
    if "axes" in at:
        return [int(a) for a in at["axes"]], None
    if len(node.input) > 1 and node.input[1]:
        return None, node.input[1]
    return None, None


def _reduce_back(node, em, dy: str) -> str:
    """dY of a ReduceSum/ReduceMean broadcast back to X's shape (Unsqueeze the reduced
    axes first when keepdims = 0; negative axes index X's rank, as Unsqueeze's do)."""
    at = attrs_of(node)
    x = node.input[0]
    axes_list, axes_input = reduce_axes(node)
    no_axes = axes_input is None and not axes_list
    if no_axes and int(at.get("noop_with_empty_axes", 0)):
        return dy
    if not int(at.get("keepdims", 1)) and not no_axes:
        axes = axes_input if axes_input is not None else em.ints(axes_list)
        dy = em.op("Unsqueeze", [dy, axes])
    return em.op("Expand", [dy, em.op("Shape", [x])], "dReduce")


def rule_reduce_sum(node, em, gy, needs):
    """Y = sum of X over axes: dX = dY broadcast back over the reduced axes."""
    return [_reduce_back(node, em, gy[0])] + [None] * (len(node.input) - 1)


def rule_reduce_mean(node, em, gy, needs):
    """Y = mean of X over axes: dX = dY / m broadcast back, m = numel(X) / numel(Y)."""
    m = em.op("Div", [em.op("Cast", [em.op("Size", [node.input[0]])], to=em.elem_type),
                      em.op("Cast", [em.op("Size", [node.output[0]])], to=em.elem_type)], "count")
    return [_reduce_back(node, em, em.op("Div", [gy[0], m]))] + [None] * (len(node.input) - 1)


def rule_layer_norm(node, em, gy, needs):
    """ONNX LayerNormalization (opset 17), normalised axes D = [axis, rank):
    xhat = (X - mu) r, r = 1/sqrt(var + eps) (mu, var over D); Y = xhat scale + B.
    dscale = sum(dY xhat), dB = sum(dY) over the other axes (unbroadcast);
    dX = r (g - mean_D(g) - xhat mean_D(g xhat)) with g = dY scale (Ba et al. 2016)."""
    at = attrs_of(node)
    if len(node.output) > 1 and any(node.output[1:]):
        raise GradientGraphError(f"node {node.name!r}: LayerNormalization Mean/InvStdDev outputs are not supported")
    x, scale = node.input[0], node.input[1]
    rank = em.rank_of(x, node.name)
    axis = int(at.get("axis", -1)) % rank
    axes = em.ints(list(range(axis, rank)))
    eps = float(at.get("epsilon", 1e-5))
    dy = gy[0]
    centred = em.op("Sub", [x, _reduce_mean(em, x, axes)])
    var = _reduce_mean(em, em.op("Mul", [centred, centred]), axes)
    r = em.op("Reciprocal", [em.op("Sqrt", [em.op("Add", [var, em.scalar(eps)])])])
    xhat = em.op("Mul", [centred, r], "xhat")
    out = [None] * len(node.input)
    if needs[0]:
        g = em.op("Mul", [dy, scale])
        inner = em.op("Sub", [g, _reduce_mean(em, g, axes)])
        inner = em.op("Sub", [inner, em.op("Mul", [xhat, _reduce_mean(em, em.op("Mul", [g, xhat]), axes)])])
        out[0] = em.op("Mul", [r, inner], "dX")
    if needs[1]:
        out[1] = em.unbroadcast(em.op("Mul", [dy, xhat]), scale, node.output[0], node.name)
    if len(node.input) > 2 and node.input[2] and needs[2]:
        out[2] = em.unbroadcast(dy, node.input[2], node.output[0], node.name)
    return out


def _reduce_mean(em: Emitter, x: str, axes: str) -> str:
    """ReduceMean with keepdims over an axes tensor, as ReduceSum / count (ReduceMean's
    axes only became an input in opset 18)."""
    s = em.op("ReduceSum", [x, axes], keepdims=1)
    count = em.op("Div", [em.op("Cast", [em.op("Size", [x])], to=em.elem_type),
                          em.op("Cast", [em.op("Size", [s])], to=em.elem_type)])
    return em.op("Div", [s, count], "mean")


def rule_gather(node, em, gy, needs):
    """Y = X[indices] along axis 0 (embedding lookup): dX = zeros(X) with dY rows added
    at the indices (ScatterND, reduction add, so repeated indices accumulate)."""
    if int(attrs_of(node).get("axis", 0)) != 0:
        raise GradientGraphError(f"node {node.name!r} (Gather): only axis 0 is differentiable")
    x, idx = node.input
    dims0 = em.op("Gather", [em.op("Shape", [x]), em.ints([0])])
    # negative indices count from the end (Gather's spec); ScatterND wants them explicit
    idx64 = em.op("Cast", [idx], to=7)
    wrapped = em.op("Mod", [em.op("Add", [idx64, dims0]), dims0])
    coords = em.op("Unsqueeze", [wrapped, em.ints([-1])])
    scattered = em.op("ScatterND", [em.zeros_like(x), coords, gy[0]], "dGather", reduction="add")
    return [scattered, None]


#: op type -> (rule, indices of inputs that may carry gradient)
RULES: dict[str, tuple[Rule, tuple[int, ...] | None]] = {
    "Gemm": (rule_gemm, (0, 1, 2)),
    "MatMul": (rule_matmul, (0, 1)),
    "Add": (rule_add, (0, 1)),
    "Sub": (rule_sub, (0, 1)),
    "Mul": (rule_mul, (0, 1)),
    "Div": (rule_div, (0, 1)),
    "Relu": (rule_relu, (0,)),
    "LeakyRelu": (rule_leaky_relu, (0,)),
    "Sigmoid": (rule_sigmoid, (0,)),
    "Tanh": (rule_tanh, (0,)),
    "Softmax": (rule_softmax, (0,)),
    "LogSoftmax": (rule_log_softmax, (0,)),
    "Conv": (rule_conv, (0, 1, 2)),
    "MaxPool": (rule_max_pool, (0,)),
    "AveragePool": (rule_average_pool, (0,)),
    "GlobalAveragePool": (rule_global_average_pool, (0,)),
    "Flatten": (rule_reshape_like_input, (0,)),
    "Reshape": (rule_reshape_like_input, (0,)),
    "Squeeze": (rule_reshape_like_input, (0,)),
    "Unsqueeze": (rule_reshape_like_input, (0,)),
    "Transpose": (rule_transpose, (0,)),
    "Concat": (rule_concat, None),  # all inputs
    "BatchNormalization": (rule_batch_norm, (0, 1, 2)),
    "Dropout": (rule_identity, (0,)),  # inference: identity
    "Identity": (rule_identity, (0,)),
    "Neg": (rule_neg, (0,)),
    "Exp": (rule_exp, (0,)),
    "Log": (rule_log, (0,)),
    "Sqrt": (rule_sqrt, (0,)),
    "Reciprocal": (rule_reciprocal, (0,)),
    "Abs": (rule_abs, (0,)),
    "Erf": (rule_erf, (0,)),
    "Pow": (rule_pow, (0,)),
    "Softplus": (rule_softplus, (0,)),
    "Elu": (rule_elu, (0,)),
    "Selu": (rule_selu, (0,)),
    "HardSigmoid": (rule_hard_sigmoid, (0,)),
    "HardSwish": (rule_hard_swish, (0,)),
    "Clip": (rule_clip, (0,)),
    "PRelu": (rule_prelu, (0, 1)),
    "Cast": (rule_cast, (0,)),
    "Where": (rule_where, (1, 2)),
    "Sum": (rule_sum, None),
    "Expand": (rule_expand, (0,)),
    "ReduceSum": (rule_reduce_sum, (0,)),
    "ReduceMean": (rule_reduce_mean, (0,)),
    "LayerNormalization": (rule_layer_norm, (0, 1, 2)),
    "Gather": (rule_gather, (0,)),
}

#: ops whose outputs never carry gradient (shape arithmetic, comparisons, constants)
NON_DIFFERENTIABLE = frozenset(
    {"Shape", "Size", "Constant", "ConstantOfShape", "ArgMax", "ArgMin", "Equal", "Greater",
     "Less", "GreaterOrEqual", "LessOrEqual", "Not", "And", "Or", "Xor", "NonZero", "Range",
     "Sign", "Floor", "Ceil", "Round", "IsNaN", "IsInf"}
)


def differentiable_inputs(node: NodeProto) -> tuple[int, ...]:
    rule = RULES[node.op_type]
    return tuple(range(len(node.input))) if rule[1] is None else rule[1]
