"""Tensor and Parameter: creation, dtype rules, attributes, indexing, operators, reprs.

Expected reprs are MegEngine 1.13's (refnotes/tensor.md); the issue's deliberate
differences: numpy() is a writable copy and an explicit float64 dtype is honoured.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
from engine import Parameter, Tensor

# ---- creation and dtype rules -----------------------------------------------------------------

DTYPE_CASES = [
    (np.array([1, 2], "int64"), "int32"),
    (np.array([1.0, 2.0], "float64"), "float32"),
    ([1, 2], "int32"),
    ([1.0, 2.0], "float32"),
    ([True, 2], "int32"),
    ([True, 2.5], "float32"),
    ([True, False], "bool"),
    (np.array([1, 2], "float16"), "float16"),
    (np.array([1, 2], "int8"), "int8"),
    (np.array([1, 2], "int16"), "int16"),
    (np.array([1, 2], "uint8"), "uint8"),
    (np.array([1, 2], "uint16"), "uint16"),
    (np.array([1, 2], "int32"), "int32"),
    (3, "int32"),
    (3.0, "float32"),
    (True, "bool"),
    (np.float64(2.0), "float32"),
    (np.int64(3), "int32"),
    (range(5), "int32"),
    ([], "float32"),
]


@pytest.mark.parametrize(("data", "dtype"), DTYPE_CASES, ids=repr)
def test_creation_dtype_rules(data, dtype):
    t = mge.tensor(data)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), np.asarray(data).astype(dtype))


def test_creation_from_tensor_copies():
    src = mge.tensor([1, 2])
    t = mge.tensor(src)
    assert repr(t) == "Tensor([1 2], dtype=int32, device=xpux:0)"
    assert repr(Parameter(src)) == "Parameter([1 2], dtype=int32, device=xpux:0)"
    t[0] = 5
    assert src.numpy().tolist() == [1, 2]


def test_creation_does_not_alias_the_ndarray():
    a = np.array([1.0, 2.0], dtype="float32")
    t = mge.tensor(a)
    a[0] = 9.0
    assert t.numpy().tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("data", "dtype", "expected"),
    [
        ([1.7, -2.7], "int32", "Tensor([ 1 -2], dtype=int32, device=xpux:0)"),
        ([1, 2], np.float32, "Tensor([1. 2.], device=xpux:0)"),
        ([1, 2], "float16", "Tensor([1. 2.], dtype=float16, device=xpux:0)"),
        ([0, 1, 2], "bool", "Tensor([False  True  True], dtype=bool, device=xpux:0)"),
        ([1.0, 2.0], "float64", "Tensor([1. 2.], dtype=float64, device=xpux:0)"),
    ],
)
def test_explicit_dtype(data, dtype, expected):
    assert repr(mge.tensor(data, dtype=dtype)) == expected


def test_explicit_float64_is_honoured():
    t = mge.tensor(np.array([0.1, 0.2]), dtype=np.float64)
    assert t.dtype == np.float64
    assert t.numpy()[0] == 0.1  # no float32 rounding


def test_ragged_data_is_rejected():
    with pytest.raises(TypeError, match="ragged"):
        mge.tensor([[1, 2], [3]])


@pytest.mark.parametrize("cls", [mge.Tensor, mge.Parameter])
def test_unknown_keyword_is_an_error_naming_it(cls):
    with pytest.raises(TypeError, match="dtpye"):
        cls([1, 2], dtpye="int32")


# ---- attributes, item, numpy -----------------------------------------------------------------


def test_attributes():
    t = mge.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert (t.shape, t.ndim, t.size, len(t)) == ((2, 3), 2, 6, 2)
    assert isinstance(t.shape, tuple) and isinstance(t.size, int)
    assert t.dtype == np.float32 and t.dtype == "float32" and str(t.dtype) == "float32"
    assert str(t.device) == "xpux:0" and t.device == "xpux"
    assert t.grad is None
    assert mge.tensor(3.5).shape == () and mge.tensor(3.5).ndim == 0


def test_item():
    assert mge.tensor(3.5).item() == 3.5 and type(mge.tensor(3.5).item()) is float
    assert mge.tensor([7]).item() == 7 and type(mge.tensor([7]).item()) is int
    assert mge.tensor([[2.5]]).item() == 2.5
    assert (float(mge.tensor(2.5)), int(mge.tensor(3)), bool(mge.tensor(1))) == (2.5, 3, True)


@pytest.mark.parametrize("call", [lambda t: t.item(), float, bool])
def test_item_needs_one_element(call):
    with pytest.raises(ValueError, match=r"exactly one element, this one has shape \(2,\)"):
        call(mge.tensor([1.0, 2.0]))


def test_numpy_is_a_writable_copy():
    t = mge.tensor([1.0, 2.0])
    a = t.numpy()
    assert a.dtype == np.float32 and a.flags.writeable
    a[0] = 100
    b = t.numpy()
    assert b.tolist() == [1.0, 2.0] and not np.shares_memory(a, b)
    assert repr(mge.tensor(3.5).numpy()) == "array(3.5, dtype=float32)"
    assert np.asarray(t).tolist() == [1.0, 2.0] and t.tolist() == [1.0, 2.0]


def test_iteration_yields_rows():
    t = mge.tensor(np.arange(6).reshape(2, 3))
    rows = list(t)
    assert [repr(r) for r in rows] == [
        "Tensor([0 1 2], dtype=int32, device=xpux:0)",
        "Tensor([3 4 5], dtype=int32, device=xpux:0)",
    ]
    with pytest.raises(TypeError, match="0-d"):
        len(mge.tensor(1.0))


# ---- conversions and shape methods -------------------------------------------------------------


def test_astype_copies():
    t = F.arange(5)
    h = t.astype("float16")
    assert repr(h) == "Tensor([0. 1. 2. 3. 4.], dtype=float16, device=xpux:0)"
    assert t.dtype == np.float32
    assert (
        repr(mge.tensor([1.1, 2.2]).astype("int32")) == "Tensor([1 2], dtype=int32, device=xpux:0)"
    )
    assert (
        repr(mge.tensor([1, 2]).astype(np.float16))
        == "Tensor([1. 2.], dtype=float16, device=xpux:0)"
    )


def test_reshape_forms():
    t = F.arange(6)
    assert t.reshape(2, 3).shape == (2, 3)
    assert t.reshape((3, -1)).shape == (3, 2)
    assert t.reshape([3, -1]).shape == (3, 2)
    assert t.reshape(-1).shape == (6,)
    assert F.reshape(t, (2, 3)).numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    assert mge.tensor(np.zeros((2, 3, 4, 5))).reshape(2, -1, 5).shape == (2, 12, 5)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((-1, -1), "only one dimension can be -1"),
        ((4, 2), r"cannot reshape \(6,\) \(6 elements\) into \(4, 2\)"),
        ((4, -1), r"cannot reshape \(6,\) into \(4, -1\)"),
    ],
)
def test_reshape_errors(shape, message):
    with pytest.raises(ValueError, match=message):
        F.arange(6).reshape(*shape)


def test_flatten_and_transpose():
    t = mge.tensor(np.arange(24).reshape(2, 3, 4))
    assert t.flatten().shape == (24,)
    assert (F.flatten(t, 1).shape, F.flatten(t, 0, 1).shape) == ((2, 12), (6, 4))
    assert t.T.shape == (4, 3, 2) and t.transpose().shape == (4, 3, 2)
    assert t.transpose(0, 2, 1).shape == (2, 4, 3) and t.transpose((2, 0, 1)).shape == (4, 2, 3)
    m = mge.tensor(np.arange(6, dtype="float32").reshape(2, 3))
    expected = "Tensor([[0. 3.]\n [1. 4.]\n [2. 5.]], device=xpux:0)"
    assert repr(m.T) == repr(m.transpose(1, 0)) == repr(F.transpose(m, (1, 0))) == expected
    assert repr(mge.tensor([1.0, 2.0]).T) == "Tensor([1. 2.], device=xpux:0)"
    with pytest.raises(ValueError, match="not a permutation"):
        m.transpose(0, 0)


def test_detach_shares_data_and_drops_grad():
    p = Parameter([1.0, 2.0])
    d = p.detach()
    assert type(d) is Tensor and d.grad is None
    assert repr(d) == "Tensor([1. 2.], device=xpux:0)"


REDUCTIONS = [
    ("sum", "Tensor(15.0, device=xpux:0)", "Tensor([3. 5. 7.], device=xpux:0)"),
    ("mean", "Tensor(2.5, device=xpux:0)", "Tensor([1.5 2.5 3.5], device=xpux:0)"),
    ("max", "Tensor(5.0, device=xpux:0)", "Tensor([3. 4. 5.], device=xpux:0)"),
    ("min", "Tensor(0.0, device=xpux:0)", "Tensor([0. 1. 2.], device=xpux:0)"),
    ("prod", "Tensor(0.0, device=xpux:0)", "Tensor([ 0.  4. 10.], device=xpux:0)"),
]


@pytest.mark.parametrize(("name", "full", "axis0"), REDUCTIONS)
def test_reduction_methods(name, full, axis0):
    t = mge.tensor(np.arange(6, dtype="float32").reshape(2, 3))
    f = getattr(t, name)
    assert (repr(f()), repr(f(axis=0))) == (full, axis0)
    assert f(axis=1, keepdims=True).shape == (2, 1) and f(0, True).shape == (1, 3)


def test_reduction_axes_and_int_dtypes():
    t = mge.tensor(np.arange(24, dtype="float32").reshape(2, 3, 4))
    assert t.sum(axis=(0, 2)).shape == (3,) and t.sum(axis=-1).shape == (2, 3)
    assert t.mean(axis=[0, 1]).shape == (4,)
    assert (
        repr(mge.tensor(np.arange(6).reshape(2, 3)).sum())
        == "Tensor(15, dtype=int32, device=xpux:0)"
    )
    assert repr(mge.tensor(np.arange(6).reshape(2, 3)).mean()) == "Tensor(2.5, device=xpux:0)"


# ---- indexing --------------------------------------------------------------------------------

A12 = np.arange(12).reshape(3, 4)

INDEX_CASES = [
    (1, "Tensor([4 5 6 7], dtype=int32, device=xpux:0)"),
    (-1, "Tensor([ 8  9 10 11], dtype=int32, device=xpux:0)"),
    ((1, 2), "Tensor(6, dtype=int32, device=xpux:0)"),
    (slice(None, None, 2), "Tensor([[ 0  1  2  3]\n [ 8  9 10 11]], dtype=int32, device=xpux:0)"),
    (
        (slice(None), slice(None, None, -1)),
        "Tensor([[ 3  2  1  0]\n [ 7  6  5  4]\n [11 10  9  8]], dtype=int32, device=xpux:0)",
    ),
    ((Ellipsis, 1), "Tensor([1 5 9], dtype=int32, device=xpux:0)"),
    ([0, 2], "Tensor([[ 0  1  2  3]\n [ 8  9 10 11]], dtype=int32, device=xpux:0)"),
    (np.array([0, 0]), "Tensor([[0 1 2 3]\n [0 1 2 3]], dtype=int32, device=xpux:0)"),
    (([0, 2], [1, 3]), "Tensor([ 1 11], dtype=int32, device=xpux:0)"),
    (
        np.array([True, False, True]),
        "Tensor([[ 0  1  2  3]\n [ 8  9 10 11]], dtype=int32, device=xpux:0)",
    ),
    (slice(1, 100), "Tensor([[ 4  5  6  7]\n [ 8  9 10 11]], dtype=int32, device=xpux:0)"),
    (slice(5, None), "Tensor([], dtype=int32, device=xpux:0)"),
]


@pytest.mark.parametrize(("index", "expected"), INDEX_CASES, ids=repr)
def test_indexing(index, expected):
    t = mge.tensor(A12)
    assert repr(t[index]) == expected


def test_indexing_with_tensors_and_none():
    t = mge.tensor(A12)
    assert t[mge.tensor([2, 0])].numpy().tolist() == [A12[2].tolist(), A12[0].tolist()]
    assert t[mge.tensor([True, False, True])].shape == (2, 4)
    assert repr(t[t > 5]) == "Tensor([ 6  7  8  9 10 11], dtype=int32, device=xpux:0)"
    assert (t[None].shape, t[:, None].shape, t[..., None].shape) == (
        (1, 3, 4),
        (3, 1, 4),
        (3, 4, 1),
    )
    f = mge.tensor([1.0, 2.0])
    assert repr(f[0]) == "Tensor(1.0, device=xpux:0)" and f[0].shape == ()


@pytest.mark.parametrize("index", [3, -4, 100])
def test_index_out_of_range_raises(index):
    with pytest.raises(IndexError, match="out of bounds"):
        mge.tensor(A12)[index]


def test_setitem():
    t = mge.tensor([1.0, 2.0])
    t[1] = 7
    assert repr(t) == "Tensor([1. 7.], device=xpux:0)"
    t[:] = mge.tensor([3.0, 4.0])
    assert repr(t) == "Tensor([3. 4.], device=xpux:0)"
    i = mge.tensor([1, 2])
    i[0] = 3.7
    assert repr(i) == "Tensor([3 2], dtype=int32, device=xpux:0)"
    m = mge.tensor(A12)
    m[m > 5] = 0  # NumPy semantics (MegEngine 1.13 scrambles this one; refnotes/tensor.md)
    assert m.numpy().tolist() == [[0, 1, 2, 3], [4, 5, 0, 0], [0, 0, 0, 0]]


def test_setitem_keeps_parameter():
    p = Parameter([1.0, 2.0])
    p[0] = 5.0
    assert type(p) is Parameter and repr(p) == "Parameter([5. 2.], device=xpux:0)"


def test_inplace_operators_keep_identity():
    t = mge.tensor([1.0, 2.0])
    u = t
    t += 1
    assert t is u and repr(t) == "Tensor([2. 3.], device=xpux:0)"
    p = Parameter([1.0, 2.0])
    q = p
    p += 1
    p *= 2
    p -= 1
    p /= 2
    assert p is q and type(p) is Parameter and p.numpy().tolist() == [1.5, 2.5]
    i = mge.tensor([1, 2])
    i += 1.5
    assert repr(i) == "Tensor([2.5 3.5], device=xpux:0)"


# ---- operators ---------------------------------------------------------------------------------

OPERATOR_CASES = [
    (
        lambda: mge.tensor([1.0, 2.0, 3.0]) > mge.tensor([3.0, 2.0, 1.0]),
        "Tensor([False False  True], dtype=bool, device=xpux:0)",
    ),
    (
        lambda: mge.tensor([1.0, 2.0, 3.0]) == mge.tensor([3.0, 2.0, 1.0]),
        "Tensor([False  True False], dtype=bool, device=xpux:0)",
    ),
    (
        lambda: mge.tensor([1.0, 2.0, 3.0]) != 2,
        "Tensor([ True False  True], dtype=bool, device=xpux:0)",
    ),
    (
        lambda: mge.tensor([1.0, 2.0, 3.0]) <= 2,
        "Tensor([ True  True False], dtype=bool, device=xpux:0)",
    ),
    (
        lambda: mge.tensor([1.0, 2.0]) == [1.0, 2.0],
        "Tensor([ True  True], dtype=bool, device=xpux:0)",
    ),
    (
        lambda: mge.tensor([7.0, -7.0, 7.5]) // mge.tensor([2.0, 2.0, -2.0]),
        "Tensor([ 3. -4. -4.], device=xpux:0)",
    ),
    (
        lambda: mge.tensor([7.0, -7.0, 7.5]) % mge.tensor([2.0, 2.0, -2.0]),
        "Tensor([ 1.  -1.   1.5], device=xpux:0)",
    ),
    (
        lambda: mge.tensor([7, -7, 7]) // mge.tensor([2, 2, -2]),
        "Tensor([ 3 -4 -4], dtype=int32, device=xpux:0)",
    ),
    (
        lambda: mge.tensor([7, -7, 7]) % mge.tensor([2, 2, -2]),
        "Tensor([ 1  1 -1], dtype=int32, device=xpux:0)",
    ),
    (
        lambda: mge.tensor([7, -7, 7]) / mge.tensor([2, 2, -2]),
        "Tensor([ 3.5 -3.5 -3.5], device=xpux:0)",
    ),
    (lambda: mge.tensor([7, -7]) / 2, "Tensor([ 3.5 -3.5], device=xpux:0)"),
    (lambda: mge.tensor([7, -7]) // 2.0, "Tensor([ 3. -4.], device=xpux:0)"),
    (lambda: mge.tensor([7, -7]) % 2.5, "Tensor([ 2. -2.], device=xpux:0)"),
    (lambda: mge.tensor([1, 2, 3]) + 1.5, "Tensor([2.5 3.5 4.5], device=xpux:0)"),
    (lambda: 1.5 + mge.tensor([1, 2, 3]), "Tensor([2.5 3.5 4.5], device=xpux:0)"),
    (lambda: mge.tensor([1, 2, 3]) + 1, "Tensor([2 3 4], dtype=int32, device=xpux:0)"),
    (lambda: mge.tensor([1, 2, 3]) * 2.0, "Tensor([2. 4. 6.], device=xpux:0)"),
    (
        lambda: mge.tensor([1, 2, 3]) + mge.tensor([1.0, 2.0, 3.0]),
        "Tensor([2. 4. 6.], device=xpux:0)",
    ),
    (
        lambda: mge.tensor([1, 2, 3]).astype("int8") + mge.tensor([1, 2, 3]),
        "Tensor([2 4 6], dtype=int32, device=xpux:0)",
    ),
    (
        lambda: mge.tensor([1, 2, 3]).astype("uint8") + 1,
        "Tensor([2 3 4], dtype=uint8, device=xpux:0)",
    ),
    (lambda: mge.tensor([1, 2, 3]) ** 2, "Tensor([1. 4. 9.], device=xpux:0)"),
    (lambda: 2 ** mge.tensor([1, 2, 3]), "Tensor([2. 4. 8.], device=xpux:0)"),
    (
        lambda: mge.tensor([1, 2, 3]) ** mge.tensor([1, 2, 3]),
        "Tensor([ 1.  4. 27.], device=xpux:0)",
    ),
    (lambda: mge.tensor([1, 2, 3]) ** 0.5, "Tensor([1.     1.4142 1.7321], device=xpux:0)"),
    (lambda: mge.tensor([1.0, 2.0]) ** 2, "Tensor([1. 4.], device=xpux:0)"),
    (lambda: abs(mge.tensor([1, -2, 3])), "Tensor([1 2 3], dtype=int32, device=xpux:0)"),
    (lambda: -mge.tensor([1, -2, 3]), "Tensor([-1  2 -3], dtype=int32, device=xpux:0)"),
    (lambda: abs(mge.tensor([-1.5, 2.0])), "Tensor([1.5 2. ], device=xpux:0)"),
    (lambda: mge.tensor([1.0, 2.0]) + np.array([10, 20]), "Tensor([11. 22.], device=xpux:0)"),
    (lambda: np.float32(2.0) * mge.tensor([1.0, 2.0]), "Tensor([2. 4.], device=xpux:0)"),
    (
        lambda: mge.tensor([[1.0, 2.0, 3.0]]) + mge.tensor([[1.0], [2.0]]),
        "Tensor([[2. 3. 4.]\n [3. 4. 5.]], device=xpux:0)",
    ),
    (
        lambda: mge.tensor([1.0, 2.0, 3.0]) @ mge.tensor([1.0, 2.0, 3.0]),
        "Tensor(14.0, device=xpux:0)",
    ),
    (
        lambda: (
            mge.tensor(np.arange(6, dtype="float32").reshape(2, 3)) @ mge.tensor([1.0, 1.0, 1.0])
        ),
        "Tensor([ 3. 12.], device=xpux:0)",
    ),
]


@pytest.mark.parametrize(("make", "expected"), OPERATOR_CASES, ids=[c[1] for c in OPERATOR_CASES])
def test_operators(make, expected):
    assert repr(make()) == expected


def test_int_division_gives_float32():
    r = mge.tensor([1, 2]) / mge.tensor([2, 4])
    assert r.dtype == np.float32 and r.numpy().tolist() == [0.5, 0.5]
    assert (mge.tensor([3]) / 2).dtype == np.float32


def test_ndarray_on_the_left_gives_a_tensor():
    r = np.array([1.0, 2.0], dtype="float32") + mge.tensor([1.0, 2.0])
    assert type(r) is Tensor and r.numpy().tolist() == [2.0, 4.0]


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        mge.tensor([1.0, 2.0, 3.0]) + mge.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"shapes \(1, 2\) and \(1, 2\) do not match"):
        F.matmul(mge.tensor([[1.0, 2.0]]), mge.tensor([[1.0, 2.0]]))


def test_ops_on_parameters_return_tensor():
    p = Parameter([1.0, 2.0])
    results = [p + 1, p * p, -p, p.reshape(2, 1), p[0], F.exp(p), p.sum(), p.detach(), p.T]
    assert [type(r).__name__ for r in results] == ["Tensor"] * len(results)
    assert repr(F.exp(p)) == "Tensor([2.7183 7.3891], device=xpux:0)"
    assert repr(p.reshape(2, 1)) == "Tensor([[1.]\n [2.]], device=xpux:0)"
    assert repr(p[0]) == "Tensor(1.0, device=xpux:0)"


# ---- reprs -----------------------------------------------------------------------------------

REPR_CASES = [
    (lambda: mge.tensor(range(5)), "Tensor([0 1 2 3 4], dtype=int32, device=xpux:0)"),
    (
        lambda: mge.tensor(np.array([1.5, 2.0, -3.25], "float32")),
        "Tensor([ 1.5   2.   -3.25], device=xpux:0)",
    ),
    (lambda: F.arange(1, 4, 0.5), "Tensor([1.  1.5 2.  2.5 3.  3.5], device=xpux:0)"),
    (lambda: F.arange(5, dtype="int32"), "Tensor([0 1 2 3 4], dtype=int32, device=xpux:0)"),
    (lambda: mge.tensor(3.5), "Tensor(3.5, device=xpux:0)"),
    (lambda: mge.tensor(-1.0), "Tensor(-1.0, device=xpux:0)"),
    (lambda: mge.tensor(3), "Tensor(3, dtype=int32, device=xpux:0)"),
    (lambda: mge.tensor(1 / 3), "Tensor(0.33333334, device=xpux:0)"),
    (lambda: mge.tensor([1e10, 1.0]), "Tensor([1.e+10 1.e+00], device=xpux:0)"),
    (
        lambda: mge.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        "Tensor([[1. 2. 3.]\n [4. 5. 6.]], device=xpux:0)",
    ),
    (
        lambda: mge.tensor(np.arange(24, dtype="float32").reshape(2, 3, 4)),
        "Tensor([[[ 0.  1.  2.  3.]\n  [ 4.  5.  6.  7.]\n  [ 8.  9. 10. 11.]]\n\n"
        " [[12. 13. 14. 15.]\n  [16. 17. 18. 19.]\n  [20. 21. 22. 23.]]], device=xpux:0)",
    ),
    (lambda: mge.tensor([[1, 2], [3, 4]]), "Tensor([[1 2]\n [3 4]], dtype=int32, device=xpux:0)"),
    (
        lambda: mge.tensor([True, False, True]),
        "Tensor([ True False  True], dtype=bool, device=xpux:0)",
    ),
    (
        lambda: mge.tensor([[True], [False]]),
        "Tensor([[ True]\n [False]], dtype=bool, device=xpux:0)",
    ),
    (
        lambda: mge.tensor(np.array([1, 2, 255], "uint8")),
        "Tensor([  1   2 255], dtype=uint8, device=xpux:0)",
    ),
    (
        lambda: mge.tensor(np.array([1, -2, 3], "int8")),
        "Tensor([ 1 -2  3], dtype=int8, device=xpux:0)",
    ),
    (
        lambda: mge.tensor(np.array([1, -2, 3], "int16")),
        "Tensor([ 1 -2  3], dtype=int16, device=xpux:0)",
    ),
    (lambda: mge.tensor([]), "Tensor([], device=xpux:0)"),
    (lambda: mge.tensor(np.zeros((0, 3), "float32")), "Tensor([], device=xpux:0)"),
    (lambda: Parameter([2.98]), "Parameter([2.98], device=xpux:0)"),
    (lambda: Parameter([[1.0, 2.0], [3.0, 4.0]]), "Parameter([[1. 2.]\n [3. 4.]], device=xpux:0)"),
    (lambda: Parameter(3.0), "Parameter(3.0, device=xpux:0)"),
    (lambda: Parameter([1, 2]), "Parameter([1 2], dtype=int32, device=xpux:0)"),
    (lambda: mge.tensor([1.0, 2.0], device="cpu0"), "Tensor([1. 2.], device=cpu0:0)"),
]


@pytest.mark.parametrize(("make", "expected"), REPR_CASES, ids=[c[1][:40] for c in REPR_CASES])
def test_repr_and_str(make, expected):
    t = make()
    assert repr(t) == expected
    assert str(t) == expected


def test_repr_switches_to_scientific_notation():
    assert repr(mge.tensor([1 / 3, 2 / 3, 1e-8])) == (
        "Tensor([3.3333e-01 6.6667e-01 1.0000e-08], device=xpux:0)"
    )


def test_long_reprs_summarise_like_numpy():
    r = repr(mge.tensor(np.arange(2000, dtype="float32")))
    assert r == (
        "Tensor([0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03], device=xpux:0)"
    )


def test_thousand_elements_print_in_full():
    long = repr(mge.tensor(np.arange(1000, dtype="float32")))
    assert long.startswith("Tensor([  0.   1.   2.") and long.endswith(" 999.], device=xpux:0)")
    assert "..." not in long


def test_type_names():
    assert str(type(mge.tensor([1]))) == "<class 'engine.tensor.Tensor'>"
    assert str(type(Parameter([1.0]))) == "<class 'engine.tensor.Parameter'>"
    assert mge.tensor is Tensor and issubclass(Parameter, Tensor)


def test_to_device_and_copy():
    t = mge.tensor([1.0, 2.0])
    assert str(t.to("cpu0").device) == "cpu0:0"
    c = F.copy(t)
    assert repr(c) == "Tensor([1. 2.], device=xpux:0)" and c is not t
