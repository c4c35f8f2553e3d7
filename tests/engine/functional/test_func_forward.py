"""Forward values of every public F.* function against NumPy, on several shapes and dtypes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine as mge
import engine.functional as F

RNG = np.random.default_rng(0)
SHAPES = [(), (5,), (2, 3), (2, 3, 4)]


def helper_test_op(
    shapes, f_engine, f_numpy, low=-2.0, high=2.0, dtype="float32", atol=1e-6, rtol=1e-5
):
    """Run f_engine on Tensors and f_numpy on the same arrays; compare values and shapes."""
    arrays = [RNG.uniform(low, high, s).astype(dtype) for s in shapes]
    got = f_engine(*[mge.tensor(a) for a in arrays])
    want = np.asarray(f_numpy(*arrays))
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got.numpy(), want, atol=atol, rtol=rtol)
    return got


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _erf(x):
    return np.vectorize(math.erf)(x)


UNARY = {
    "neg": (F.neg, np.negative, -2, 2),
    "abs": (F.abs, np.abs, -2, 2),
    "sign": (F.sign, np.sign, -2, 2),
    "exp": (F.exp, np.exp, -2, 2),
    "log": (F.log, np.log, 0.1, 3),
    "log1p": (F.log1p, np.log1p, -0.5, 3),
    "sqrt": (F.sqrt, np.sqrt, 0.1, 3),
    "square": (F.square, np.square, -2, 2),
    "sin": (F.sin, np.sin, -3, 3),
    "cos": (F.cos, np.cos, -3, 3),
    "tanh": (F.tanh, np.tanh, -3, 3),
    "sigmoid": (F.sigmoid, _sigmoid, -5, 5),
    "relu": (F.relu, lambda x: np.maximum(x, 0), -2, 2),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), -2, 2),
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), -3, 3),
    "silu": (F.silu, lambda x: x * _sigmoid(x), -3, 3),
    "softplus": (F.softplus, lambda x: np.log1p(np.exp(x)), -5, 5),
    "round": (F.round, np.round, -3, 3),
    "floor": (F.floor, np.floor, -3, 3),
    "ceil": (F.ceil, np.ceil, -3, 3),
    "clip": (lambda x: F.clip(x, -0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0), -2, 2),
    "clip_lower": (lambda x: F.clip(x, lower=0.0), lambda x: np.maximum(x, 0.0), -2, 2),
    "isnan": (F.isnan, np.isnan, -2, 2),
    "isinf": (F.isinf, np.isinf, -2, 2),
    "sum": (F.sum, np.sum, -2, 2),
    "mean": (F.mean, np.mean, -2, 2),
    "max": (F.max, np.max, -2, 2),
    "min": (F.min, np.min, -2, 2),
    "prod": (F.prod, np.prod, 0.5, 1.5),
    "var": (F.var, np.var, -2, 2),
    "std": (F.std, np.std, -2, 2),
    "norm": (F.norm, lambda x: np.sqrt(np.sum(x * x)), -2, 2),
    "flatten": (F.flatten, lambda x: x.reshape(-1), -2, 2),
    "transpose": (F.transpose, np.transpose, -2, 2),
    "copy": (F.copy, np.copy, -2, 2),
    "zeros_like": (F.zeros_like, np.zeros_like, -2, 2),
    "ones_like": (F.ones_like, np.ones_like, -2, 2),
    "full_like": (lambda x: F.full_like(x, 2.5), lambda x: np.full_like(x, 2.5), -2, 2),
    "logical_not": (lambda x: F.logical_not(x > 0), lambda x: ~(x > 0), -2, 2),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, shape):
    f_engine, f_numpy, low, high = UNARY[name]
    helper_test_op([shape], f_engine, f_numpy, low, high)


@pytest.mark.parametrize("name", ["exp", "sin", "tanh", "sqrt", "abs", "square", "mean", "sum"])
def test_unary_float16(name):
    f_engine, f_numpy, low, high = UNARY[name]
    got = helper_test_op(
        [(2, 3)], f_engine, f_numpy, low, high, dtype="float16", atol=3e-3, rtol=3e-3
    )
    assert got.dtype == np.float16


AXIS_REDUCTIONS = {
    "sum": (F.sum, np.sum),
    "mean": (F.mean, np.mean),
    "max": (F.max, np.max),
    "min": (F.min, np.min),
    "prod": (F.prod, np.prod),
    "var": (F.var, np.var),
    "std": (F.std, np.std),
    "argmax": (F.argmax, np.argmax),
    "argmin": (F.argmin, np.argmin),
}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [0, 1, -1, (0, 2)])
@pytest.mark.parametrize("name", sorted(AXIS_REDUCTIONS))
def test_reductions_over_axes(name, axis, keepdims):
    f_engine, f_numpy = AXIS_REDUCTIONS[name]
    if name.startswith("arg") and isinstance(axis, tuple):
        pytest.skip("argmax/argmin take one axis")
    helper_test_op(
        [(2, 3, 4)],
        lambda x: f_engine(x, axis=axis, keepdims=keepdims),
        lambda x: f_numpy(x, axis=axis, keepdims=keepdims),
        0.5,
        1.5,
        atol=1e-5,
    )


BINARY = {
    "add": (F.add, np.add),
    "sub": (F.sub, np.subtract),
    "mul": (F.mul, np.multiply),
    "div": (F.div, np.divide),
    "pow": (F.pow, np.power),
    "maximum": (F.maximum, np.maximum),
    "minimum": (F.minimum, np.minimum),
    "floor_div": (F.floor_div, np.floor_divide),
    "equal": (F.equal, np.equal),
    "not_equal": (F.not_equal, np.not_equal),
    "less": (F.less, np.less),
    "less_equal": (F.less_equal, np.less_equal),
    "greater": (F.greater, np.greater),
    "greater_equal": (F.greater_equal, np.greater_equal),
    "logical_and": (lambda a, b: F.logical_and(a > 1, b > 1), lambda a, b: (a > 1) & (b > 1)),
    "logical_or": (lambda a, b: F.logical_or(a > 1, b > 1), lambda a, b: (a > 1) | (b > 1)),
    "where": (lambda a, b: F.where(a > b, a, b), lambda a, b: np.where(a > b, a, b)),
}
BINARY_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((), (2, 3))]


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcasting(name, shapes):
    f_engine, f_numpy = BINARY[name]
    helper_test_op(list(shapes), f_engine, f_numpy, 0.5, 2.0)


def test_mod_follows_megengine():
    a, b = mge.tensor([7.0, -7.0, 7.5]), mge.tensor([2.0, 2.0, -2.0])
    np.testing.assert_array_equal(F.mod(a, b).numpy(), [1.0, -1.0, 1.5])  # floats: fmod
    ia, ib = mge.tensor([7, -7, 7]), mge.tensor([2, 2, -2])
    assert F.mod(ia, ib).numpy().tolist() == [1, 1, -1]  # ints: Python's sign of y
    assert F.mod(ia, ib).dtype == np.int32


MATMUL_SHAPES = [
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (3,)),
    ((2, 2, 3), (3, 4)),
    ((4, 2, 3), (4, 3, 5)),
    ((3,), (2, 3, 4)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    helper_test_op(list(shapes), F.matmul, np.matmul, atol=1e-5)


def test_matmul_transpose_flags_and_dot():
    helper_test_op(
        [(3, 2), (4, 3)], lambda a, b: F.matmul(a, b, True, True), lambda a, b: a.T @ b.T, atol=1e-5
    )
    helper_test_op([(5,), (5,)], F.dot, np.dot, atol=1e-5)


def test_linear():
    helper_test_op([(4, 3), (2, 3), (2,)], F.nn.linear, lambda x, w, b: x @ w.T + b, atol=1e-5)
    helper_test_op([(2, 4, 3), (5, 3)], F.nn.linear, lambda x, w: x @ w.T, atol=1e-5)


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_family(axis):
    helper_test_op([(3, 4)], lambda x: F.softmax(x, axis), lambda x: _np_softmax(x, axis))
    helper_test_op(
        [(3, 4)], lambda x: F.logsoftmax(x, axis), lambda x: np.log(_np_softmax(x, axis)), atol=1e-5
    )
    helper_test_op(
        [(3, 4)],
        lambda x: F.logsumexp(x, axis),
        lambda x: np.log(np.exp(x).sum(axis=axis)),
        atol=1e-5,
    )


@pytest.mark.parametrize(
    ("shape", "axis"), [((4,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1)]
)
def test_softmax_default_axis(shape, axis):
    helper_test_op([shape], F.softmax, lambda x: _np_softmax(x, axis))


def test_softmax_does_not_overflow():
    out = F.softmax(mge.tensor([1000.0, 0.0]), axis=0).numpy()
    np.testing.assert_allclose(out, [1.0, 0.0])


SHAPE_FUNCS = {
    "reshape": (lambda x: F.reshape(x, (4, 6)), lambda x: x.reshape(4, 6)),
    "expand_dims": (lambda x: F.expand_dims(x, (0, -1)), lambda x: x[None, ..., None]),
    "squeeze": (lambda x: F.squeeze(x[:, :1]), lambda x: x[:, 0]),
    "broadcast_to": (
        lambda x: F.broadcast_to(x[:1], (5, 3, 4)),
        lambda x: np.broadcast_to(x[:1], (5, 3, 4)),
    ),
    "concat": (lambda x: F.concat([x, x * 2], axis=1), lambda x: np.concatenate([x, x * 2], 1)),
    "stack": (lambda x: F.stack([x, x + 1], axis=-1), lambda x: np.stack([x, x + 1], -1)),
    "split": (lambda x: F.split(x, 2, axis=2)[1], lambda x: np.split(x, 2, axis=2)[1]),
    "split_sections": (lambda x: F.split(x, [1], axis=1)[1], lambda x: np.split(x, [1], 1)[1]),
    "getitem": (lambda x: x[1, ::-1, 1:3], lambda x: x[1, ::-1, 1:3]),
    "gather": (
        lambda x: F.gather(x, 2, mge.tensor(np.array([[[0, 3]] * 3] * 2))),
        lambda x: np.take_along_axis(x, np.array([[[0, 3]] * 3] * 2), 2),
    ),
    "transpose_axes": (lambda x: F.transpose(x, (2, 0, 1)), lambda x: x.transpose(2, 0, 1)),
    "norm1": (lambda x: F.norm(x, ord=1, axis=2), lambda x: np.abs(x).sum(axis=2)),
    "norm_inf": (lambda x: F.norm(x, ord=float("inf")), lambda x: np.abs(x).max()),
}


@pytest.mark.parametrize("name", sorted(SHAPE_FUNCS))
def test_shape_functions(name):
    f_engine, f_numpy = SHAPE_FUNCS[name]
    helper_test_op([(2, 3, 4)], f_engine, f_numpy, atol=1e-5)


# ---- creation and result dtypes ---------------------------------------------------------------

DTYPE_RESULTS = [
    (lambda: F.arange(5), "float32", [0, 1, 2, 3, 4]),
    (lambda: F.arange(5, 0, -1), "float32", [5, 4, 3, 2, 1]),
    (lambda: F.arange(0, 1, 0.25), "float32", [0, 0.25, 0.5, 0.75]),
    (lambda: F.full((2,), 7), "int32", [7, 7]),
    (lambda: F.full((2,), 7.0), "float32", [7, 7]),
    (lambda: F.full((2,), True), "bool", [True, True]),
    (lambda: F.full((2,), 1.5, dtype="float16"), "float16", [1.5, 1.5]),
    (lambda: F.zeros((2,)), "float32", [0, 0]),
    (lambda: F.ones(3), "float32", [1, 1, 1]),
    (lambda: F.zeros(2, dtype="int32"), "int32", [0, 0]),
    (lambda: F.zeros_like(mge.tensor([1, 2])), "int32", [0, 0]),
    (lambda: F.full_like(mge.tensor([1, 2]), 2.5), "int32", [2, 2]),
    (lambda: F.linspace(0, 1, 5), "float32", [0, 0.25, 0.5, 0.75, 1]),
    (lambda: F.eye(2, 3)[1], "float32", [0, 1, 0]),
    (lambda: F.exp(mge.tensor([0, 1])), "float32", [1, math.e]),
    (lambda: F.log(mge.tensor([1, 4])), "float32", [0, math.log(4)]),
    (lambda: F.sqrt(mge.tensor([1, 4, 9])), "float32", [1, 2, 3]),
    (lambda: F.relu(mge.tensor([-1, 2])), "int32", [0, 2]),
    (lambda: F.mean(mge.tensor([1, 2])), "float32", 1.5),
    (lambda: F.mean(mge.tensor(np.arange(6).reshape(2, 3)), axis=1), "float32", [1, 4]),
    (lambda: F.sum(mge.tensor([1, 2])), "int32", 3),
    (lambda: F.sum(mge.tensor([True, False, True])), "int32", 2),
    (lambda: F.sum(mge.tensor(np.array([1, 2], "uint8"))), "uint8", 3),
    (lambda: F.prod(mge.tensor(np.arange(1, 4))), "int32", 6),
    (lambda: F.argmax(mge.tensor([[1, 5, 2], [7, 0, 3]])), "int32", 3),
    (lambda: F.argmax(mge.tensor([[1, 5, 2], [7, 0, 3]]), axis=1), "int32", [1, 0]),
    (lambda: F.argmin(mge.tensor([[1, 5, 2], [7, 0, 3]]), axis=0), "int32", [0, 1, 0]),
    (lambda: F.one_hot(mge.tensor([0, 2]), 3), "int32", [[1, 0, 0], [0, 0, 1]]),
    (lambda: F.var(mge.tensor([[1.0, 2.0], [3.0, 4.0]])), "float32", 1.25),
    (lambda: F.astype(mge.tensor([1.7]), "int32"), "int32", [1]),
    (lambda: F.div(mge.tensor([1]), mge.tensor([2])), "float32", [0.5]),
]


@pytest.mark.parametrize(("make", "dtype", "values"), DTYPE_RESULTS)
def test_result_dtypes(make, dtype, values):
    t = make()
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_allclose(
        t.numpy().astype("float64"), np.asarray(values, "float64"), rtol=1e-6
    )


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="at least one of lower and upper"):
        F.clip(mge.tensor([1.0]))


def test_where_needs_a_bool_mask():
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        F.where(mge.tensor([1, 0]), mge.tensor([1.0, 2.0]), mge.tensor([3.0, 4.0]))
