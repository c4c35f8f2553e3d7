"""Tensor functions (sort, topk, cumsum, repeat, tile, roll, gather, scatter, cond_take) against
values recorded from MegEngine 1.13, results and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
from engine.autodiff import GradManager

T = mge.tensor


def _check(got, dtype, shape, values):
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    assert got.shape == tuple(shape), (got.shape, shape)
    np.testing.assert_allclose(got.numpy(), np.asarray(values, "float64"), rtol=1e-6, atol=1e-7)


# (make, [(dtype, shape) per output], [values per output])
MULTI = {
    "sort_rows": (
        lambda: F.sort(T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]])),
        [("float32", (2, 4)), ("int32", (2, 4))],
        [[[1.0, 1.0, 2.0, 3.0], [-1.0, 0.0, 5.0, 5.0]], [[1, 3, 2, 0], [3, 0, 1, 2]]],
    ),
    "sort_rows_desc": (
        lambda: F.sort(T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]), descending=True),
        [("float32", (2, 4)), ("int32", (2, 4))],
        [[[3.0, 2.0, 1.0, 1.0], [5.0, 5.0, 0.0, -1.0]], [[0, 2, 3, 1], [2, 1, 0, 3]]],
    ),
    "sort_int_ties": (
        lambda: F.sort(T([2, 1, 2, 1, 0])),
        [("int32", (5,)), ("int32", (5,))],
        [[0, 1, 1, 2, 2], [4, 1, 3, 0, 2]],
    ),
    "sort_int_ties_desc": (
        lambda: F.sort(T([2, 1, 2, 1, 0]), True),
        [("int32", (5,)), ("int32", (5,))],
        [[2, 2, 1, 1, 0], [2, 0, 3, 1, 4]],
    ),
    "argsort_rows": (
        lambda: [F.argsort(T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]))],
        [("int32", (2, 4))],
        [[[1, 3, 2, 0], [3, 0, 1, 2]]],
    ),
    "argsort_desc": (
        lambda: [F.argsort(T([2.0, 4.0, 6.0, 8.0, 7.0, 5.0, 3.0, 1.0]), descending=True)],
        [("int32", (8,))],
        [[3, 4, 2, 5, 1, 6, 0, 7]],
    ),
    "topk_rows": (
        lambda: F.topk(T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]), 2),
        [("float32", (2, 2)), ("int32", (2, 2))],
        [[[3.0, 2.0], [5.0, 5.0]], [[0, 2], [2, 1]]],
    ),
    "topk_rows_asc": (
        lambda: F.topk(T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]), 2, descending=False),
        [("float32", (2, 2)), ("int32", (2, 2))],
        [[[1.0, 1.0], [-1.0, 0.0]], [[1, 3], [3, 0]]],
    ),
    "topk_kth_rows": (
        lambda: F.topk(T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]), 3, kth_only=True),
        [("float32", (2,)), ("int32", (2,))],
        [[1.0, 0.0], [1, 0]],
    ),
    "topk_no_sort": (
        lambda: F.topk(T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]), 2, no_sort=True),
        [("float32", (2, 2)), ("int32", (2, 2))],
        [[[3.0, 2.0], [5.0, 5.0]], [[0, 2], [2, 1]]],
    ),
    "topk_1d_asc": (
        lambda: F.topk(T([2.0, 4.0, 6.0, 8.0, 7.0, 5.0, 3.0, 1.0]), 5, descending=False),
        [("float32", (5,)), ("int32", (5,))],
        [[1.0, 2.0, 3.0, 4.0, 5.0], [7, 0, 6, 1, 5]],
    ),
    "topk_1d_kth": (
        lambda: F.topk(T([2.0, 4.0, 6.0, 8.0, 7.0, 5.0, 3.0, 1.0]), 3, kth_only=True),
        [("float32", ()), ("int32", ())],
        [6.0, 2],
    ),
    "topk_1d_kth_asc": (
        lambda: F.topk(
            T([2.0, 4.0, 6.0, 8.0, 7.0, 5.0, 3.0, 1.0]), 3, descending=False, kth_only=True
        ),
        [("float32", ()), ("int32", ())],
        [3.0, 6],
    ),
    "topk_int_ties": (
        lambda: F.topk(T([1, 2, 2, 3]), 2),
        [("int32", (2,)), ("int32", (2,))],
        [[3, 2], [3, 2]],
    ),
    "topk_k_above_len": (
        lambda: F.topk(T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]), 5),
        [("float32", (2, 4)), ("int32", (2, 4))],
        [[[3.0, 2.0, 1.0, 1.0], [5.0, 5.0, 0.0, -1.0]], [[0, 2, 3, 1], [2, 1, 0, 3]]],
    ),
    "cond_take_2d": (
        lambda: F.cond_take(T([[True, False], [False, True]]), T([[1.0, 2.0], [3.0, 4.0]])),
        [("float32", (2,)), ("int32", (2,))],
        [[1.0, 4.0], [0, 3]],
    ),
    "cond_take_int": (
        lambda: F.cond_take(T([[True, True, False]]), T([[1, 2, 3]])),
        [("int32", (2,)), ("int32", (2,))],
        [[1, 2], [0, 1]],
    ),
    "cond_take_none": (
        lambda: F.cond_take(T([False, False]), T([1.0, 2.0])),
        [("float32", (0,)), ("int32", (0,))],
        [[], []],
    ),
    "cond_take_0d": (
        lambda: F.cond_take(T(True), T(2.0)),
        [("float32", (1,)), ("int32", (1,))],
        [[2.0], [0]],
    ),
}


@pytest.mark.parametrize("name", sorted(MULTI))
def test_multi_output_functions_match_megengine(name):
    make, metas, values = MULTI[name]
    got = make()
    assert len(got) == len(metas)
    for t, (dtype, shape), v in zip(got, metas, values, strict=True):
        _check(t, dtype, shape, v)


SINGLE = {
    "cumsum_int_axis0": (
        lambda: F.cumsum(T([[1, 2, 3], [4, 5, 6]]), 0),
        "int32",
        (2, 3),
        [[1, 2, 3], [5, 7, 9]],
    ),
    "cumsum_float_neg_axis": (
        lambda: F.cumsum(T([[1.0, 2, 3], [4, 5, 6]]), -1),
        "float32",
        (2, 3),
        [[1.0, 3.0, 6.0], [4.0, 9.0, 15.0]],
    ),
    "cumsum_int8": (
        lambda: F.cumsum(T(np.arange(6, dtype="int8")), 0),
        "int8",
        (6,),
        [0, 1, 3, 6, 10, 15],
    ),
    "cumsum_3d": (
        lambda: F.cumsum(T(np.arange(12, dtype="float32").reshape(2, 3, 2) / 4), 1),
        "float32",
        (2, 3, 2),
        [[[0.0, 0.25], [0.5, 1.0], [1.5, 2.25]], [[1.5, 1.75], [3.5, 4.0], [6.0, 6.75]]],
    ),
    "repeat_axis0": (
        lambda: F.repeat(T([[1, 2], [3, 4]]), 2, axis=0),
        "int32",
        (4, 2),
        [[1, 2], [1, 2], [3, 4], [3, 4]],
    ),
    "repeat_flat": (
        lambda: F.repeat(T([[1, 2], [3, 4]]), 3),
        "int32",
        (12,),
        [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],
    ),
    "repeat_axis1": (
        lambda: F.repeat(T([[1.0, 2], [3, 4]]), 2, axis=1),
        "float32",
        (2, 4),
        [[1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0]],
    ),
    "repeat_3d": (
        lambda: F.repeat(T(np.arange(8, dtype="float32").reshape(2, 2, 2)), 2, axis=1),
        "float32",
        (2, 4, 2),
        [
            [[0.0, 1.0], [0.0, 1.0], [2.0, 3.0], [2.0, 3.0]],
            [[4.0, 5.0], [4.0, 5.0], [6.0, 7.0], [6.0, 7.0]],
        ],
    ),
    "tile_2d": (
        lambda: F.tile(T([[1, 2], [3, 4]]), (2, 1)),
        "int32",
        (4, 2),
        [[1, 2], [3, 4], [1, 2], [3, 4]],
    ),
    "tile_2d_both": (
        lambda: F.tile(T([[1.0, 2.0], [3.0, 4.0]]), (2, 3)),
        "float32",
        (4, 6),
        [
            [1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
            [3.0, 4.0, 3.0, 4.0, 3.0, 4.0],
            [1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
            [3.0, 4.0, 3.0, 4.0, 3.0, 4.0],
        ],
    ),
    "tile_1d": (lambda: F.tile(T([1, 2]), (2,)), "int32", (4,), [1, 2, 1, 2]),
    "roll_axis0": (
        lambda: F.roll(T([[1, 2], [3, 4], [5, 6]]), 1, 0),
        "int32",
        (3, 2),
        [[5, 6], [1, 2], [3, 4]],
    ),
    "roll_flat": (
        lambda: F.roll(T([[1, 2], [3, 4], [5, 6]]), -1),
        "int32",
        (3, 2),
        [[2, 3], [4, 5], [6, 1]],
    ),
    "roll_two_axes": (
        lambda: F.roll(T([[1.0, 2], [3, 4], [5, 6]]), (1, -1), (0, 1)),
        "float32",
        (3, 2),
        [[6.0, 5.0], [2.0, 1.0], [4.0, 3.0]],
    ),
    "roll_same_axis_twice": (
        lambda: F.roll(T([[1, 2], [3, 4], [5, 6]]), (1, 1), (1, 1)),
        "int32",
        (3, 2),
        [[1, 2], [3, 4], [5, 6]],
    ),
    "roll_wraps": (
        lambda: F.roll(T([[1, 2], [3, 4], [5, 6]]), 7, 0),
        "int32",
        (3, 2),
        [[5, 6], [1, 2], [3, 4]],
    ),
    "roll_neg_axis": (
        lambda: F.roll(T(np.arange(6, dtype="float32").reshape(2, 3)), 2, -1),
        "float32",
        (2, 3),
        [[1.0, 2.0, 0.0], [4.0, 5.0, 3.0]],
    ),
    "gather_axis1": (
        lambda: F.gather(T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]), 1, T([[0, 0], [3, 2]])),
        "float32",
        (2, 2),
        [[3.0, 3.0], [-1.0, 5.0]],
    ),
    "gather_axis0_short": (
        lambda: F.gather(T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]), 0, T([[1, 0, 1, 0]])),
        "float32",
        (1, 4),
        [[0.0, 1.0, 5.0, 1.0]],
    ),
    "gather_axis1_long": (
        lambda: F.gather(
            T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]),
            1,
            T([[0, 1, 2, 3, 0], [3, 2, 1, 0, 1]]),
        ),
        "float32",
        (2, 5),
        [[3.0, 1.0, 2.0, 1.0, 3.0], [-1.0, 5.0, 5.0, 0.0, 5.0]],
    ),
    "gather_doc": (
        lambda: F.gather(T([[1, 2], [3, 4], [5, 6]]), 0, T([[0, 2], [1, 0]])),
        "int32",
        (2, 2),
        [[1, 6], [3, 2]],
    ),
    "gather_3d": (
        lambda: F.gather(
            T(np.arange(24, dtype="float32").reshape(2, 3, 4)), 2, T([[[3, 0], [1, 1]]])
        ),
        "float32",
        (1, 2, 2),
        [[[3.0, 0.0], [5.0, 5.0]]],
    ),
    "scatter_axis0": (
        lambda: F.scatter(
            T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]),
            0,
            T([[1, 0, 1, 0]]),
            T([[10.0, 20, 30, 40]]),
        ),
        "float32",
        (2, 4),
        [[3.0, 20.0, 2.0, 40.0], [10.0, 5.0, 30.0, -1.0]],
    ),
    "scatter_int": (
        lambda: F.scatter(
            T(np.zeros((3, 3), "int32")), 0, T([[1, 2, 0], [2, 0, 1]]), T([[1, 2, 3], [4, 5, 6]])
        ),
        "int32",
        (3, 3),
        [[0, 5, 3], [1, 0, 6], [4, 2, 0]],
    ),
    "scatter_axis1_int_source": (
        lambda: F.scatter(
            T([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]),
            1,
            T([[0, 2], [3, 1]]),
            T([[10, 20], [30, 40]]),
        ),
        "float32",
        (2, 4),
        [[10.0, 1.0, 20.0, 1.0], [0.0, 40.0, 5.0, 30.0]],
    ),
    "scatter_doc": (
        lambda: F.scatter(
            T(np.zeros((3, 5), "float32")),
            0,
            T([[0, 2, 0, 2, 1], [2, 0, 1, 1, 2]]),
            T([[0.9935, 0.9465, 0.2256, 0.8926, 0.4396], [0.7723, 0.0718, 0.5939, 0.357, 0.4576]]),
        ),
        "float32",
        (3, 5),
        [
            [0.9934999942779541, 0.07180000096559525, 0.225600004196167, 0.0, 0.0],
            [0.0, 0.0, 0.5939000248908997, 0.3569999933242798, 0.43959999084472656],
            [0.7723000049591064, 0.9465000033378601, 0.0, 0.8925999999046326, 0.4575999975204468],
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_functions_match_megengine(name):
    make, dtype, shape, values = SINGLE[name]
    _check(make(), dtype, shape, values)


def test_scatter_writes_into_inp_and_returns_it():
    x = T([1.0, 2.0])
    assert F.scatter(x, 0, T([1]), T([5.0])) is x
    np.testing.assert_array_equal(x.numpy(), [1.0, 5.0])


GRADS = {
    "sort": (
        lambda x: F.sort(x)[0] * T([[1.0, 2, 3, 4]]),
        [[[3.0, 1.0, 2.0, 1.5], [0.0, 5.0, 4.0, -1.0]]],
        [[[4.0, 1.0, 3.0, 2.0], [2.0, 4.0, 3.0, 1.0]]],
    ),
    "topk": (
        lambda x: F.topk(x, 2)[0] * T([1.0, 3.0]),
        [[[3.0, 1.0, 2.0, 1.5], [0.0, 5.0, 4.0, -1.0]]],
        [[[1.0, 0.0, 3.0, 0.0], [0.0, 1.0, 3.0, 0.0]]],
    ),
    "topk_kth": (
        lambda x: F.topk(x, 2, kth_only=True)[0],
        [[[3.0, 1.0, 2.0, 1.5], [0.0, 5.0, 4.0, -1.0]]],
        [[[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0]]],
    ),
    "cumsum": (
        lambda x: F.cumsum(x, 1) * T([[1.0, 2, 3]]),
        [[[1.0, 2, 3], [4, 5, 6]]],
        [[[6.0, 5.0, 3.0], [6.0, 5.0, 3.0]]],
    ),
    "repeat": (
        lambda x: F.repeat(x, 2, axis=1) * T([[1.0, 2, 3, 4]]),
        [[[1.0, 2], [3, 4]]],
        [[[3.0, 7.0], [3.0, 7.0]]],
    ),
    "tile": (
        lambda x: F.tile(x, (2, 2)) * T(np.arange(16, dtype="float32").reshape(4, 4)),
        [[[1.0, 2], [3, 4]]],
        [[[20.0, 24.0], [36.0, 40.0]]],
    ),
    "roll": (
        lambda x: F.roll(x, (1, -1), (0, 1)) * T([[1.0, 2], [3, 4], [5, 6]]),
        [[[1.0, 2], [3, 4], [5, 6]]],
        [[[4.0, 3.0], [6.0, 5.0], [2.0, 1.0]]],
    ),
    "gather": (
        lambda x: F.gather(x, 1, T([[0, 0], [3, 2]])) * T([[1.0, 2], [3, 4]]),
        [[[3.0, 1.0, 2.0, 1.5], [0.0, 5.0, 4.0, -1.0]]],
        [[[3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 4.0, 3.0]]],
    ),
    "scatter": (
        lambda x, s: (
            F.scatter(x * 1.0, 1, T([[0, 2], [3, 1]]), s * 1.0) * T([[1.0, 2, 3, 4], [5, 6, 7, 8]])
        ),
        [[[3.0, 1.0, 2.0, 1.5], [0.0, 5.0, 4.0, -1.0]], [[10.0, 20.0], [30.0, 40.0]]],
        [[[0.0, 2.0, 0.0, 4.0], [5.0, 0.0, 7.0, 0.0]], [[1.0, 3.0], [8.0, 6.0]]],
    ),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_gradients_match_megengine(name):
    fn, inputs, want = GRADS[name]
    params = [mge.Parameter(np.asarray(a, "float32")) for a in inputs]
    gm = GradManager().attach(params)
    with gm:
        gm.backward(fn(*params).sum())
    for p, w in zip(params, want, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), np.asarray(w), rtol=1e-6)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: F.sort(T(np.ones((2, 2, 2)))), ValueError, "1-d or 2-d"),
        (lambda: F.argsort(T(3.0)), ValueError, "1-d or 2-d"),
        (lambda: F.topk(T([1.0, 2.0]), 0), ValueError, "at least 1"),
        (lambda: F.cumsum(T([True, False]), 0), TypeError, "numeric"),
        (lambda: F.repeat(T([1, 2]), 0), ValueError, "repeats"),
        (lambda: F.tile(T([[1, 2]]), (2,)), ValueError, "fewer entries"),
        (lambda: F.gather(T([1.0, 2.0]), 0, T([0.0])), TypeError, "integer"),
        (lambda: F.gather(T([[1.0, 2.0]]), 1, T([[0], [0]])), ValueError, "longer than input"),
        (
            lambda: F.scatter(T([[1.0, 2.0]]), 1, T([[0, 1]]), T([[1.0, 2.0, 3.0]])),
            ValueError,
            "differ",
        ),
        (lambda: F.cond_take(T([1, 0]), T([1.0, 2.0])), ValueError, "mask must be bool"),
        (lambda: F.cond_take(T([True, False]), T([[1.0, 2.0]])), ValueError, "does not match"),
    ],
)
def test_mistakes_are_rejected(make, error, match):
    # MegEngine raises AssertionError or RuntimeError for some of these; we raise ValueError
    with pytest.raises(error, match=match):
        make()
