"""Gradients of gradients through nested GradManagers: values from MegEngine 1.13 (float32)
and central differences of the engine's own first-order gradients in float64."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
from engine import Parameter
from engine.autodiff import GradManager
from engine.core.op import REGISTRY, defsamples, defvjp, primitive
from engine.tensor import apply

X_POS = [0.3, 0.7, 1.4]
X_ANY = [-1.3, -0.4, 0.6, 1.7]


def second_derivative(fn, values, dtype="float32"):
    """d/dx sum(d/dx sum(fn(x))) with two nested managers, as MegEngine users write it."""
    x = Parameter(values, dtype=dtype)
    gm1, gm2 = GradManager().attach([x]), GradManager().attach([x])
    with gm1:
        with gm2:
            gm2.backward(fn(x).sum())
        dx = x.grad
        x.grad = None
        gm1.backward(dx.sum())
    return x.grad


def first_derivative(fn, values):
    x = Parameter(values, dtype="float64")
    gm = GradManager().attach([x])
    with gm:
        gm.backward(fn(x).sum())
    return x.grad.numpy()


def central_difference(fn, values, eps=1e-5):
    """d/dx of the engine's own first derivative, elementwise, in float64."""
    x = np.array(values, dtype="float64")
    return (first_derivative(fn, x + eps) - first_derivative(fn, x - eps)) / (2 * eps)


def test_the_issue_example_gives_minus_cos():
    x = Parameter(np.array([0.5, 1.0], dtype="float32"))
    gm1 = GradManager().attach([x])
    gm2 = GradManager().attach([x])
    with gm1:
        with gm2:
            y = F.cos(x)
            gm2.backward(y)
        dx = x.grad
        x.grad = None
        gm1.backward(dx)
    # MegEngine 1.13: [-0.8775825500488281, -0.5403023362159729]
    np.testing.assert_allclose(x.grad.numpy(), [-0.87758255, -0.54030234], rtol=1e-6)


# second derivatives recorded from MegEngine 1.13 (float32)
MEGENGINE_SECOND = {
    "exp": (F.exp, X_POS, [1.3498589, 2.0137527, 4.0552001]),
    "log": (F.log, X_POS, [-11.111111, -2.0408163, -0.51020408]),
    "sqrt": (F.sqrt, X_POS, [-1.5214514, -0.42686737, -0.15092039]),
    "log1p": (F.log1p, X_POS, [-0.59171599, -0.34602073, -0.1736111]),
    "recip": (lambda x: 1 / x, X_POS, [74.074066, 5.830904, 0.728863]),
    "sin": (F.sin, X_ANY, [0.9635582, 0.38941836, -0.56464249, -0.99166483]),
    "cos": (F.cos, X_ANY, [-0.26749888, -0.92106098, -0.82533562, 0.12884454]),
    "tanh": (F.tanh, X_ANY, [0.44367236, 0.6501981, -0.76430511, -0.23387077]),
    "sigmoid": (F.sigmoid, X_ANY, [0.096211113, 0.047421537, -0.066647731, -0.09025763]),
    "square": (F.square, X_ANY, [2.0, 2.0, 2.0, 2.0]),
    "pow3": (lambda x: x**3, X_ANY, [-7.7999997, -2.4000001, 3.6000001, 10.200001]),
    "ratio": (
        lambda x: x / (1 + x * x),
        X_ANY,
        [0.17497981, 1.4555743, -1.2594137, -0.0063536167],
    ),
}


@pytest.mark.parametrize("name", sorted(MEGENGINE_SECOND))
def test_second_derivative_matches_megengine(name):
    fn, values, expected = MEGENGINE_SECOND[name]
    got = second_derivative(fn, values).numpy()
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-7)


# ops MegEngine 1.13 cannot differentiate twice (GELU_GRAD, SILU_GRAD, SOFTPLUS_GRAD
# "unimplemented"): against central differences and the hand-derived formula only
def _gelu2(x):
    pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    return pdf * (2 - x * x)


def _silu2(x):
    s = 1 / (1 + np.exp(-x))
    return s * (1 - s) * (2 + x * (1 - 2 * s))


def _softplus2(x):
    s = 1 / (1 + np.exp(-x))
    return s * (1 - s)


@pytest.mark.parametrize(
    "fn, exact",
    [(F.gelu, _gelu2), (F.silu, _silu2), (F.softplus, _softplus2)],
    ids=["gelu", "silu", "softplus"],
)
def test_second_derivative_beyond_megengine(fn, exact):
    x = np.array(X_ANY)
    got = second_derivative(fn, X_ANY, dtype="float64").numpy()
    np.testing.assert_allclose(got, exact(x), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got, central_difference(fn, X_ANY), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(MEGENGINE_SECOND))
def test_second_derivative_matches_central_differences_in_float64(name):
    fn, values, _ = MEGENGINE_SECOND[name]
    got = second_derivative(fn, values, dtype="float64").numpy()
    np.testing.assert_allclose(got, central_difference(fn, values), rtol=1e-6, atol=1e-8)


def test_relu_has_no_second_derivative_as_in_megengine():
    # relu's first derivative does not depend on x: the outer manager finds no path, None
    assert second_derivative(F.relu, X_ANY) is None
    # abs's goes through sign, whose gradient is zero (MegEngine: None)
    assert second_derivative(F.abs, X_ANY).numpy().tolist() == [0.0] * 4


def test_third_derivative_of_sin_is_minus_cos():
    x = Parameter(np.array(X_ANY, dtype="float32"))
    g1, g2, g3 = (GradManager().attach([x]) for _ in range(3))
    with g1:
        with g2:
            with g3:
                g3.backward(F.sin(x).sum())
            d1, x.grad = x.grad, None
            g2.backward(d1.sum())
        d2, x.grad = x.grad, None
        g1.backward(d2.sum())
    # MegEngine 1.13
    expected = [-0.26749888, -0.92106098, -0.82533562, 0.12884454]
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=2e-6)


def mixed_partial(dtype):
    x = Parameter([0.5, -1.2], dtype=dtype)
    y = Parameter([1.5, 0.8], dtype=dtype)
    gm1, gm2 = GradManager().attach([y]), GradManager().attach([x])
    with gm1:
        with gm2:
            gm2.backward((F.sin(x * y) + x**2 * y**3).sum())
        dx = x.grad
        gm1.backward(dx.sum())
    return dx.numpy(), y.grad.numpy()


def test_mixed_partial_matches_megengine_and_the_formula():
    dx, dxdy = mixed_partial("float32")
    # MegEngine 1.13
    np.testing.assert_allclose(dx, [4.4725332, -0.76998413], rtol=2e-6)
    np.testing.assert_allclose(dxdy, [6.9704599, -4.8209043], rtol=2e-6)
    x, y = np.array([0.5, -1.2]), np.array([1.5, 0.8])
    exact = np.cos(x * y) - x * y * np.sin(x * y) + 6 * x * y**2
    np.testing.assert_allclose(mixed_partial("float64")[1], exact, rtol=1e-12)


# a small MLP (3 -> 5 tanh -> 2, cross entropy); inputs as MegEngine 1.13 saw them
MLP_X = [[0.73, 0.71, 0.62], [-0.48, -0.85, 0.89], [0.23, -0.99, 0.82], [0.97, -0.43, 0.63]]
MLP_PARAMS = [
    [
        [-0.84, -0.12, 0.64],
        [-0.18, 0.04, -0.77],
        [0.63, 0.0, -0.5],
        [0.55, 0.96, 0.08],
        [0.47, 0.99, -0.94],
    ],
    [0.2, 0.93, -0.77, -0.55, 0.1],
    [[0.44, 0.11, 0.1, -0.9, 0.48], [-0.36, -0.85, 0.92, 0.32, -0.09]],
    [0.47, -0.04],
]
MLP_LABEL = [0, 1, 1, 0]
HVP_V = [
    [[-0.75, 0.21, 0.49], [0.49, 0.1, 0.86], [0.89, 0.75, -0.26], [-0.46, 0.06, 0.31]]
    + [[-0.68, 0.12, -0.12]],
    [-1.0, -0.16, -0.2, 0.93, -0.89],
    [[0.86, 0.82, 0.2, -0.63, 0.58], [-0.68, -0.36, 0.33, -0.15, -0.08]],
    [-0.39, -0.93],
]


def mlp_loss(x, w1, b1, w2, b2):
    h = F.tanh(F.nn.linear(x, w1, b1))
    return F.nn.cross_entropy(F.nn.linear(h, w2, b2), mge.tensor(MLP_LABEL, dtype="int32"))


def mlp_gradient(params, x, dtype):
    gm = GradManager().attach(params)
    with gm:
        gm.backward(mlp_loss(mge.tensor(np.array(x), dtype=dtype), *params))
    grads = [p.grad.numpy() for p in params]
    for p in params:
        p.grad = None
    return grads


def hessian_vector_product(dtype, values=MLP_PARAMS):
    params = [Parameter(np.array(p), dtype=dtype) for p in values]
    gm1, gm2 = GradManager().attach(params), GradManager().attach(params)
    with gm1:
        with gm2:
            gm2.backward(mlp_loss(mge.tensor(np.array(MLP_X), dtype=dtype), *params))
        grads = [p.grad for p in params]
        for p in params:
            p.grad = None
        gm1.backward(grads, [mge.tensor(np.array(v), dtype=dtype) for v in HVP_V])
    return [g.numpy() for g in grads], [p.grad.numpy() for p in params]


def test_hessian_vector_product_of_an_mlp_loss_matches_megengine():
    grads, hvp = hessian_vector_product("float32")
    # MegEngine 1.13, the gradient and H @ v
    np.testing.assert_allclose(grads[3], [0.33019453, -0.33019453], rtol=1e-5)
    expected = [
        [
            [-0.19613087, -0.55259001, 0.27756095],
            [-0.23168319, -0.45959854, 0.28963059],
            [0.09138438, -0.12804119, 0.22873512],
            [0.16447292, 0.23749115, -0.16920748],
            [-0.10193495, -0.03922477, -0.0991281],
        ],
        [0.26430079, 0.28604776, 0.30360264, -0.16124336, -0.15127037],
        [
            [0.05119272, 0.06520675, -0.18922354, -0.02281974, 0.03625042],
            [-0.05119271, -0.06520675, 0.18922354, 0.02281974, -0.03625041],
        ],
        [-0.06239585, 0.06239585],
    ]
    for got, want in zip(hvp, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-6)


def test_hessian_vector_product_matches_central_differences_in_float64():
    _, hvp = hessian_vector_product("float64")
    eps = 1e-6
    v = [np.array(a) for a in HVP_V]
    plus = [np.array(p) + eps * d for p, d in zip(MLP_PARAMS, v, strict=True)]
    minus = [np.array(p) - eps * d for p, d in zip(MLP_PARAMS, v, strict=True)]
    g_plus = mlp_gradient([Parameter(p, dtype="float64") for p in plus], MLP_X, "float64")
    g_minus = mlp_gradient([Parameter(p, dtype="float64") for p in minus], MLP_X, "float64")
    for got, a, b in zip(hvp, g_plus, g_minus, strict=True):
        np.testing.assert_allclose(got, (a - b) / (2 * eps), rtol=1e-6, atol=1e-9)


def gradient_penalty(dtype, values=MLP_PARAMS):
    """d/dW of ||dL/dx||^2: the inner manager differentiates x, the outer the weights."""
    params = [Parameter(np.array(p), dtype=dtype) for p in values]
    x = Parameter(np.array(MLP_X), dtype=dtype)
    gm1, gm2 = GradManager().attach(params), GradManager().attach([x])
    with gm1:
        with gm2:
            gm2.backward(mlp_loss(x, *params))
        penalty = (x.grad**2).sum()
        gm1.backward(penalty)
    return penalty.item(), [p.grad.numpy() for p in params]


def test_gradient_penalty_matches_megengine():
    penalty, grads = gradient_penalty("float32")
    assert penalty == pytest.approx(0.11066367477178574, rel=1e-5)  # MegEngine 1.13
    expected_b1 = [-0.06239277, -0.06902757, 0.05166768, 0.0859341, -0.01841334]
    np.testing.assert_allclose(grads[1], expected_b1, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(
        grads[2],
        [
            [0.07961517, 0.09201538, -0.02245345, -0.06375966, -0.03283026],
            [-0.07961517, -0.09201538, 0.02245345, 0.06375966, 0.03283026],
        ],
        rtol=1e-4,
        atol=2e-6,
    )
    np.testing.assert_allclose(grads[3], [-0.02267647, 0.02267647], rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(
        grads[0][0], [-0.1136208, 0.00873912, -0.08197987], rtol=1e-4, atol=2e-6
    )


def test_gradient_penalty_matches_central_differences_in_float64():
    _, grads = gradient_penalty("float64")
    eps = 1e-6
    b1 = np.array(MLP_PARAMS[1])
    for i in range(b1.size):
        shifted = []
        for sign in (1, -1):
            values = list(MLP_PARAMS)
            values[1] = (b1 + sign * eps * np.eye(b1.size)[i]).tolist()
            shifted.append(gradient_penalty("float64", values)[0])
        assert grads[1][i] == pytest.approx((shifted[0] - shifted[1]) / (2 * eps), rel=1e-6)


def conv_inputs(dtype):
    rng = np.random.default_rng(5)  # the same stream MegEngine 1.13's inputs came from
    x, w, b = (np.round(rng.uniform(-1, 1, s), 2) for s in [(2, 2, 4, 4), (3, 2, 3, 3), (3,)])
    assert x.ravel()[:4].tolist() == [0.61, 0.62, 0.03, -0.43]
    return [Parameter(a, dtype=dtype) for a in (x, w, b.reshape(1, 3, 1, 1))]


def conv_penalty(body, dtype, bias_shift=None):
    x, w, b = conv_inputs(dtype)
    if bias_shift is not None:
        b = Parameter(b.numpy() + bias_shift.reshape(b.shape), dtype=dtype)
    gm1, gm2 = GradManager().attach([w, b]), GradManager().attach([x])
    with gm1:
        with gm2:
            gm2.backward(body(x, w, b))
        penalty = (x.grad**2).sum()
        gm1.backward(penalty)
    return penalty.item(), w.grad.numpy(), b.grad.numpy().ravel()


def conv_tanh(x, w, b):
    return (F.tanh(F.conv2d(x, w, b, padding=1)) ** 2).sum()


def conv_tanh_pool(x, w, b):
    return (F.avg_pool2d(F.tanh(F.conv2d(x, w, b, padding=1)), 2) ** 2).sum()


def test_gradient_penalty_through_conv_matches_megengine():
    penalty, w_grad, b_grad = conv_penalty(conv_tanh, "float32")
    assert penalty == pytest.approx(114.39813232421875, rel=1e-5)  # MegEngine 1.13
    np.testing.assert_allclose(b_grad, [-46.650368, -12.88805, -31.048069], rtol=1e-5)
    np.testing.assert_allclose(
        w_grad[2, 1].ravel(),
        [24.249931, -17.118866, 21.92926, 5.9186354, 7.284771]
        + [-9.7568693, -5.6202054, 18.372639, -31.720148],
        rtol=1e-5,
    )


@pytest.mark.parametrize("body", [conv_tanh, conv_tanh_pool], ids=["conv", "conv+avg_pool"])
def test_gradient_penalty_through_conv_matches_central_differences(body):
    # MegEngine 1.13 drops the path through pooling's backward here without a word (its
    # pooling gradient is not differentiable: b.grad is None without the tanh, wrong with it)
    _, _, b_grad = conv_penalty(body, "float64")
    eps = 1e-6
    for i in range(3):
        shift = np.eye(3)[i] * eps
        plus = conv_penalty(body, "float64", shift)[0]
        minus = conv_penalty(body, "float64", -shift)[0]
        assert b_grad[i] == pytest.approx((plus - minus) / (2 * eps), rel=1e-6)


def test_an_inner_manager_does_not_record_the_outer_backward():
    # MegEngine 1.13: only managers that began recording earlier record a backward
    x = Parameter(np.array([0.5, 1.0], dtype="float32"))
    gm1, gm2 = GradManager().attach([x]), GradManager().attach([x])
    with gm1:
        with gm2:
            gm1.backward(F.sin(x).sum())
            dx, x.grad = x.grad, None
            gm2.backward(dx.sum())
    assert x.grad is None


def test_a_first_order_only_rule_names_its_op(temp_primitive):
    prim = temp_primitive("raw_double", lambda xp, x: 2 * x, higher_order=False)
    defvjp(prim)(lambda node, g: (2 * g,))
    x = Parameter([1.0, 2.0])
    gm1, gm2 = GradManager().attach([x]), GradManager().attach([x])
    with gm1, gm2:
        with pytest.raises(RuntimeError, match="raw_double: its VJP runs on raw arrays only"):
            gm2.backward(apply(prim, x).sum())


def test_a_rule_that_leaves_the_namespace_names_its_op(temp_primitive):
    # a VJP reaching for NumPy-only API cannot be recorded: an error, never a silent zero
    prim = temp_primitive("numpy_only", lambda xp, x: x * x)
    defvjp(prim)(lambda node, g: (node.xp.einsum("i,i->i", g, 2 * node.inputs[0]),))
    x = Parameter([1.0, 2.0])
    gm = GradManager().attach([x])
    with gm:
        gm.backward(apply(prim, x).sum())
    assert x.grad.numpy().tolist() == [2.0, 4.0]  # first order: plain arrays, fine
    gm1, gm2 = GradManager().attach([x]), GradManager().attach([x])
    with gm1, gm2:
        with pytest.raises(RuntimeError, match="numpy_only: its VJP cannot run on recorded"):
            gm2.backward(apply(prim, x).sum())


def test_first_order_results_are_plain_when_nothing_outer_records():
    x = Parameter([1.0, 2.0])
    gm = GradManager().attach([x])
    with gm:
        gm.backward((x * x).sum())
    assert x.grad._node is None and isinstance(x.grad._data, np.ndarray)


@pytest.fixture
def temp_primitive():
    """Register test-only primitives and remove them afterwards."""
    names: list[str] = []

    def make(name, forward, higher_order=True):
        names.append(name)
        prim = primitive(name, higher_order=higher_order)(forward)
        defsamples(prim)(lambda rng: [((rng.normal(size=3),), {})])
        return prim

    yield make
    for name in names:
        REGISTRY.pop(name, None)
