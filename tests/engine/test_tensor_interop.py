"""Tensors meet None, strings, objects and NumPy as MegEngine 1.13's do (recorded there).

MegEngine raises TypeError("the operand is None and is not supported.") for None operands,
RuntimeError for strings/objects and "unsupported numpy dtype" data; the engine raises
TypeError for all of them, naming the dtype.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest

import engine as mge
import engine.functional as F
from engine.autodiff import GradManager

OPERATORS = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.floordiv,
    operator.mod,
    operator.pow,
    operator.matmul,
    operator.eq,
    operator.ne,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
]
IDS = [op.__name__ for op in OPERATORS]


@pytest.mark.parametrize("op", OPERATORS, ids=IDS)
def test_none_operands_raise_megengine_s_type_error(op) -> None:
    x = mge.tensor([1.0, 2.0])
    for args in ((x, None), (None, x)):
        with pytest.raises(TypeError, match=r"^the operand is None and is not supported\.$"):
            op(*args)
    with pytest.raises(TypeError, match="the operand is None"):
        F.add(x, None)
    with pytest.raises(TypeError, match="the operand is None"):
        None & mge.tensor([True])


@pytest.mark.parametrize("op", OPERATORS, ids=IDS)
@pytest.mark.parametrize("other", ["abc", b"ab", object()], ids=["str", "bytes", "object"])
def test_strings_and_objects_are_type_errors(op, other) -> None:
    x = mge.tensor([1.0, 2.0])
    if op is operator.mod and isinstance(other, (str, bytes)):
        pytest.skip("'abc' % x is Python's string formatting, in MegEngine too")
    for args in ((x, other), (other, x)):
        with pytest.raises(TypeError, match="cannot make a tensor (of dtype|from ragged or non)"):
            op(*args)


@pytest.mark.parametrize(
    "data, dtype",
    [
        ("abc", "<U3"),
        (["a", "b"], "<U1"),
        (np.array(["a"]), "<U1"),
        (b"abc", "|S3"),
        (1 + 2j, "complex128"),
        ([1 + 2j], "complex128"),
        (np.array([1 + 2j], dtype=np.complex64), "complex64"),
    ],
)
def test_tensor_of_non_numeric_data_names_the_dtype(data, dtype: str) -> None:
    with pytest.raises(TypeError, match=f"cannot make a tensor of dtype {dtype} from "):
        mge.tensor(data)


def test_object_data_is_refused_and_none_is_empty() -> None:
    with pytest.raises(TypeError, match="NumPy sees dtype object"):
        mge.tensor(object())
    with pytest.raises(TypeError, match="NumPy sees dtype object"):
        mge.tensor(np.array([object()], dtype=object))
    assert mge.tensor(None).shape == (0,)  # MegEngine: Tensor([], device=xpux:0)


A = np.array([10.0, 20.0], dtype=np.float32)


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda x: np.add(x, A), [11.0, 22.0]),
        (lambda x: np.add(A, x), [11.0, 22.0]),
        (lambda x: A + x, [11.0, 22.0]),
        (lambda x: A * x, [10.0, 40.0]),
        (lambda x: np.exp(x), [2.7182817, 7.389056]),
        (lambda x: np.sqrt(x), [1.0, 1.4142135]),
        (lambda x: np.maximum(x, 1.5), [1.5, 2.0]),
        (lambda x: np.negative(x), [-1.0, -2.0]),
        (lambda x: np.matmul(x, A), 50.0),
        (lambda x: np.reshape(x, (2, 1)), [[1.0], [2.0]]),
        (lambda x: np.float32(2) * x, [2.0, 4.0]),
        (lambda x: np.int64(2) + x, [3.0, 4.0]),
    ],
)
def test_numpy_ufuncs_give_tensors_as_in_megengine(call, expected) -> None:
    x = mge.tensor([1.0, 2.0], device="cpu0")
    out = call(x)
    assert type(out) is mge.Tensor and out.dtype == np.float32
    assert str(out.device) == "cpu0:0"  # back on the operand's device
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_numpy_comparisons_and_predicates_give_bool_tensors() -> None:
    x = mge.tensor([1.0, 20.0])
    for out, expected in (
        (A == x, [False, True]),
        (A < x, [False, False]),
        (np.isnan(x), [False, False]),
    ):
        assert type(out) is mge.Tensor and out.dtype == np.bool_
        assert out.numpy().tolist() == expected


def test_numpy_functions_that_return_arrays_in_megengine_too() -> None:
    x = mge.tensor([1.0, 2.0])
    for out in (np.concatenate([x, x]), np.stack([x, A]), np.where(x > 1.5, x, A), np.asarray(x)):
        assert type(out) is np.ndarray and out.dtype == np.float32
    assert np.where(x > 1.5, x, A).tolist() == [10.0, 2.0]
    out = np.zeros(2, np.float32)
    assert np.add(x, 1, out=out) is out and out.tolist() == [2.0, 3.0]
    assert np.dot(x, A) == 50.0 and np.allclose(x, [1.0, 2.0])
    np.testing.assert_allclose(x, [1.0, 2.0])


def test_numpy_reductions_raise_as_in_megengine() -> None:
    # MegEngine: "sum() got an unexpected keyword argument 'out'" (NumPy passes out=)
    with pytest.raises(TypeError, match="unexpected keyword argument 'out'"):
        np.sum(mge.tensor([1.0, 2.0]))


def test_ndarray_on_the_left_still_records_gradients() -> None:
    w = mge.Parameter([1.0, 2.0])
    gm = GradManager().attach([w])
    with gm:
        gm.backward((A * w).sum())  # Tensor.__rmul__, not NumPy's host ufunc
    assert w.grad.numpy().tolist() == [10.0, 20.0]


def test_tensor_name() -> None:
    # MegEngine 1.13: '' by default, set by name= or assignment, not carried into results
    t = mge.tensor([1.0])
    assert t.name == ""
    t.name = "w"
    assert t.name == "w" and repr(t) == "Tensor([1.], device=xpux:0)"
    assert mge.Parameter([1.0], name="bias").name == "bias"
    named = mge.tensor([1.0], name="abc")
    assert named.name == "abc" and (named * 2).name == ""
    with pytest.raises(TypeError, match="Tensor.name must be a str, got int"):
        t.name = 3
