"""The field baselines (QSGD, TernGrad, top-k / rand-k, EF-signSGD, PowerSGD, signSGD variants):
the bits counted in analytic mode are the length of the bit string the bit-true mode writes,
and decoding that string gives the same aggregate; error bounds, unbiasedness, variance."""

import numpy as np
import pytest

from edgefl.compress.base import RoundContext
from edgefl.compress.ef_signsgd import EFSignSGD, EFSignSGDConfig
from edgefl.compress.errors import SchemeParameterError
from edgefl.compress.powersgd import PowerSGD, PowerSGDConfig
from edgefl.compress.qsgd import QSGD, QSGDConfig
from edgefl.compress.simple import SignSGD, SignSGDConfig
from edgefl.compress.sparsify import RandKConfig, Sparsifier, TopKConfig
from edgefl.compress.terngrad import TernGrad, TernGradConfig

SHAPES = [(4, 6), (6,), (3, 2, 2)]  # 24 + 6 + 12 = 42 parameters
P = 42


def _schemes():
    return {
        "qsgd-s1": lambda: QSGD(QSGDConfig(s=1)),
        "qsgd-s16-bucket": lambda: QSGD(QSGDConfig(s=16, bucket_size=10)),
        "terngrad-2bit": lambda: TernGrad(TernGradConfig(packing="2bit"), param_shapes=SHAPES),
        "terngrad-base3": lambda: TernGrad(TernGradConfig(packing="base3"), param_shapes=SHAPES),
        "topk": lambda: Sparsifier(TopKConfig(k=5)),
        "topk-dense": lambda: Sparsifier(TopKConfig(fraction=0.9)),
        "randk": lambda: Sparsifier(RandKConfig(k=7)),
        "ef-signsgd": lambda: EFSignSGD(EFSignSGDConfig(), param_shapes=SHAPES),
        "powersgd": lambda: PowerSGD(PowerSGDConfig(rank=1), param_shapes=SHAPES),
    }


def _grads(kind, rng, k=3, p=P):
    base = rng.standard_normal((k, p))
    return {"normal": base, "zeros": np.zeros((k, p)), "huge": base * 1e30, "tiny": base * 1e-30,
            "mixed": np.vstack([np.zeros(p), base[1] * 1e20, base[2] * 1e-20])}[kind]


@pytest.mark.parametrize("name", list(_schemes()))
@pytest.mark.parametrize("kind", ["normal", "zeros", "huge", "tiny", "mixed"])
def test_counted_bits_are_the_decoded_string(name, kind):
    make = _schemes()[name]
    a, b = make(), make()
    g = _grads(kind, np.random.default_rng(1))
    for r in range(3):  # state across rounds (error feedback, warm start) must agree too
        ra = a.compress(g, np.arange(3), RoundContext(round=r, rng=np.random.default_rng(r), fidelity="analytic"))
        rb = b.compress(g, np.arange(3), RoundContext(round=r, rng=np.random.default_rng(r), fidelity="bit-true"))
        np.testing.assert_array_equal(ra.upload_bits, rb.upload_bits)
        np.testing.assert_allclose(ra.aggregate, rb.aggregate, rtol=1e-12, atol=0)
        assert np.all(np.isfinite(rb.aggregate))
        if kind == "zeros":
            np.testing.assert_array_equal(rb.aggregate, 0.0)


@pytest.mark.parametrize("make", [lambda: QSGD(QSGDConfig(s=3)), lambda: TernGrad(TernGradConfig()),
                                  lambda: Sparsifier(TopKConfig(k=1)), lambda: Sparsifier(RandKConfig(k=1)),
                                  lambda: EFSignSGD(EFSignSGDConfig()), lambda: PowerSGD(PowerSGDConfig())])
def test_dimension_one(make):
    g = np.array([[2.5], [-0.5]])
    res = make().compress(g, np.arange(2), RoundContext(round=0, rng=np.random.default_rng(0), fidelity="bit-true"))
    assert res.aggregate.shape == (1,) and np.all(np.isfinite(res.aggregate))
    assert np.all(res.upload_bits >= 1)


def _qsgd_draws(v, s, n, seed=0):
    comp = QSGD(QSGDConfig(s=s))
    rng = np.random.default_rng(seed)
    return np.array([comp.decode(comp.encode(v, rng), v.size) for _ in range(n)])


@pytest.mark.parametrize("s", [1, 4])
def test_qsgd_unbiased_and_variance_bound(s):
    """Alistarh et al. Lemma 3.1: E[Q_s(v)] = v and E||Q_s(v) - v||^2 <= min(d/s^2, sqrt(d)/s) ||v||^2."""
    rng = np.random.default_rng(2)
    v = rng.standard_normal(30)
    draws = _qsgd_draws(v, s, 3000)
    se = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - v) < 4.5 * se + 1e-9)
    var = np.mean(np.sum((draws - v) ** 2, axis=1))
    d = v.size
    assert var <= min(d / s**2, np.sqrt(d) / s) * (v @ v)
    # and it is not trivially small: a stochastic quantiser has error
    assert var > 0.05 * min(d / s**2, np.sqrt(d) / s) * (v @ v)


def test_qsgd_levels_and_norm_code():
    comp = QSGD(QSGDConfig(s=2))
    v = np.array([0.0, 3.0, 0.0, 0.0, -4.0])
    q = comp.decode(comp.encode(v, np.random.default_rng(0)), 5)
    # |v_i| / ||v|| s = 1.2 and 1.6: levels {1, 2}/2 of the norm 5, zeros stay zero
    assert q[0] == q[2] == q[3] == 0
    assert q[1] in (2.5, 5.0) and q[4] in (-2.5, -5.0)
    # 32 (norm) + gamma(3) = 3 + gaps gamma(2)=3, gamma(3)=3 + 2 signs + levels gamma(1|2) = 1|3 each
    bits = comp.encode(v, np.random.default_rng(0)).size
    assert 32 + 3 + 6 + 2 + 2 <= bits <= 32 + 3 + 6 + 2 + 6


def test_terngrad_unbiased_per_layer_and_bits():
    comp = TernGrad(TernGradConfig(packing="base3"), param_shapes=[(40,), (41,)])
    rng = np.random.default_rng(3)
    g = np.concatenate([rng.standard_normal(40), 100 * rng.standard_normal(41)])
    draws = np.array([comp.decode(comp.encode(g, rng), 81) for _ in range(2000)])
    se = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - g) < 4.5 * se + 1e-6 * np.abs(g))  # float32 scale
    # per layer the values are 0 or +-max|g_layer|
    one = draws[0]
    assert set(np.round(np.abs(one[:40]) / np.abs(g[:40]).max(), 6)) <= {0.0, 1.0}
    assert set(np.round(np.abs(one[40:]) / np.abs(g[40:]).max(), 6)) <= {0.0, 1.0}
    # 2 scales + one 64-bit word of 40 trits + ceil(1 log2 3) for layer 1, 64 + ceil(1 log2 3) for layer 2
    assert comp.encode(g, rng).size == 32 * 2 + 64 + 0 + 64 + 2
    two = TernGrad(TernGradConfig(packing="2bit"), param_shapes=[(40,), (41,)])
    assert two.encode(g, rng).size == 32 * 2 + 2 * 81


def _quadratic_run(comp, steps, decay=20.0, seed=0):
    """Minimise f(x) = (1/K) sum_k 1/2 ||x - c_k||^2 (heterogeneous workers: the local gradients
    do not vanish at x*) with the compressor in the loop and steps 0.5 / (1 + t / decay)."""
    rng = np.random.default_rng(seed)
    k, p = 4, 40
    c = rng.standard_normal((k, p)) * np.linspace(0.05, 3.0, p)
    x = np.zeros(p)
    x_star = c.mean(axis=0)
    crng = np.random.default_rng(1)
    for r in range(steps):
        res = comp.compress(x[None, :] - c, np.arange(k), RoundContext(round=r, rng=crng))
        x = x - 0.5 / (1.0 + r / decay) * res.aggregate
    return np.linalg.norm(x - x_star) / np.linalg.norm(x_star)


def test_topk_error_feedback_converges_where_plain_topk_stalls():
    """Stich et al. 2018: the memory eventually sends every coordinate, so the iterate keeps
    approaching x*; plain top-k never sends the coordinates that are small for every worker."""
    ef = [_quadratic_run(Sparsifier(TopKConfig(k=2)), n) for n in (500, 2000)]
    plain = [_quadratic_run(Sparsifier(TopKConfig(k=2, error_feedback=False)), n) for n in (500, 2000)]
    assert ef[1] < 0.05 and ef[1] < ef[0] / 2
    assert plain[1] > 0.5 and plain[1] > 0.9 * plain[0]


def test_ef_signsgd_converges_on_the_quadratic():
    errs = [_quadratic_run(EFSignSGD(EFSignSGDConfig()), n) for n in (500, 2000)]
    assert errs[1] < 0.05 and errs[1] < errs[0]


def test_powersgd_recovers_a_rank_r_gradient_and_counts_factors():
    rng = np.random.default_rng(4)
    u, v = rng.standard_normal((8, 2)), rng.standard_normal((2, 10))
    mat = (u @ v).ravel()
    bias = rng.standard_normal(3)
    g = np.tile(np.concatenate([mat, bias]), (2, 1))
    comp = PowerSGD(PowerSGDConfig(rank=2), param_shapes=[(8, 10), (3,)])
    res = None
    for r in range(3):  # warm start: the power iteration locks onto the rank-2 subspace
        res = comp.compress(g, np.arange(2), RoundContext(round=r, rng=np.random.default_rng(r)))
    np.testing.assert_allclose(res.aggregate, g[0], rtol=1e-5, atol=1e-5)
    assert res.upload_bits[0] == 32 * 2 * (8 + 10) + 32 * 3
    assert res.downlink_bits == 32 * 83 + 32 * 2 * 8
    assert comp.encode_flops(83) == 6 * 8 * 10 * 2


def test_signsgd_majority_vote_and_per_layer_scale():
    g = np.array([[1.0, -2.0, 4.0, 0.5], [3.0, -1.0, -4.0, 0.5], [2.0, 1.0, -4.0, -0.5]])
    mv = SignSGD(SignSGDConfig(majority_vote=True, scaled=False))
    res = mv.compress(g, np.arange(3), RoundContext(round=0, rng=np.random.default_rng(0)))
    np.testing.assert_array_equal(res.aggregate, [1, -1, -1, 1])
    assert res.downlink_bits == 4 and np.all(res.upload_bits == 4)
    layered = SignSGD(SignSGDConfig(per_layer=True), param_shapes=[(2,), (2,)])
    res = layered.compress(g, np.arange(3), RoundContext(round=0, rng=np.random.default_rng(0)))
    assert np.all(res.upload_bits == 4 + 2 * 32)
    # worker 0: layer scales 1.5 and 2.25
    expect = np.mean([np.sign(g[i]) * np.repeat([np.abs(g[i, :2]).mean(), np.abs(g[i, 2:]).mean()], 2)
                      for i in range(3)], axis=0)
    np.testing.assert_allclose(res.aggregate, expect, rtol=1e-6)
    # default signSGD is unchanged: one scale per worker
    res = SignSGD().compress(g, np.arange(3), RoundContext(round=0, rng=np.random.default_rng(0)))
    assert np.all(res.upload_bits == 4 + 32) and res.downlink_bits is None


def test_error_feedback_state_follows_worker_ids():
    comp = Sparsifier(TopKConfig(k=1))
    g = np.array([[1.0, 0.5], [0.2, 3.0]])
    comp.compress(g, np.arange(2), RoundContext(round=0, rng=np.random.default_rng(0), workers=np.array([7, 3])))
    np.testing.assert_array_equal(comp.feedback.memory[7], [0.0, 0.5])
    np.testing.assert_array_equal(comp.feedback.memory[3], [0.2, 0.0])


def test_k_larger_than_p_is_rejected_naming_the_field():
    with pytest.raises(SchemeParameterError) as exc:
        Sparsifier(TopKConfig(k=50), num_params=42)
    assert exc.value.field == "k" and "42" in str(exc.value)
