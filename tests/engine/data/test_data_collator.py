"""Collator: the values, dtypes and structures MegEngine 1.13's default Collator gives."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

from engine.data.collator import Collator

apply = Collator().apply
Point = namedtuple("Point", "x y")


def same(actual: np.ndarray, values: list, dtype: str) -> None:
    """actual is an ndarray with exactly these values and this dtype."""
    assert isinstance(actual, np.ndarray) and actual.dtype == np.dtype(dtype)
    assert actual.tolist() == values


@pytest.mark.parametrize(
    "samples, values, dtype",
    [
        # recorded from megengine.data.collator.Collator().apply in MegEngine 1.13
        ([1, 2, 3], [1, 2, 3], "int64"),
        ([1.0, 2.5], [1.0, 2.5], "float64"),
        ([1, 2.5], [1.0, 2.5], "float64"),
        ([True, False], [True, False], "bool"),
        ([np.int32(1), np.int32(2)], [1, 2], "int32"),
        ([np.float16(1), np.float16(2)], [1.0, 2.0], "float16"),
        ([np.bytes_(b"a"), np.bytes_(b"bc")], [b"a", b"bc"], "S2"),
        ([np.array(["a"]), np.array(["b"])], [["a"], ["b"]], "<U1"),
    ],
)
def test_numbers_and_scalars(samples: list, values: list, dtype: str) -> None:
    same(apply(samples), values, dtype)


def test_arrays_are_stacked_contiguous() -> None:
    batch = apply([np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)])
    assert batch.shape == (2, 2, 3) and batch.dtype == np.float32
    assert batch[1].tolist() == [[1.0] * 3] * 2
    strided = np.arange(6).reshape(2, 3)[:, ::2]
    batch = apply([strided, strided])
    assert batch.shape == (2, 2, 2) and batch.flags["C_CONTIGUOUS"]


def test_tuples_become_lists_of_fields() -> None:
    batch = apply([(np.array([1.0, 2.0], np.float32), 3), (np.array([4.0, 5.0], np.float32), 6)])
    assert type(batch) is list and len(batch) == 2
    same(batch[0], [[1.0, 2.0], [4.0, 5.0]], "float32")
    same(batch[1], [3, 6], "int64")
    x, y = apply([[1, 2.0], [3, 4.0]])
    same(x, [1, 3], "int64")
    same(y, [2.0, 4.0], "float64")


def test_nested_dicts_namedtuples_and_strings() -> None:
    batch = apply([{"x": np.int8(1), "name": "a"}, {"x": np.int8(2), "name": "b"}])
    assert list(batch) == ["x", "name"] and batch["name"] == ["a", "b"]
    same(batch["x"], [1, 2], "int8")
    point = apply([Point(1, 2.0), Point(3, 4.0)])
    assert type(point) is Point
    same(point.x, [1, 3], "int64")
    same(point.y, [2.0, 4.0], "float64")
    assert apply(["a", "b"]) == ["a", "b"] and apply([b"a", b"b"]) == [b"a", b"b"]
    assert apply([np.str_("a"), np.str_("b")]) == ["a", "b"]
    first, (second, third) = apply([(1, (2.0, np.int16(3))), (4, (5.0, np.int16(6)))])
    same(first, [1, 4], "int64")
    same(second, [2.0, 5.0], "float64")
    same(third, [3, 6], "int16")


@pytest.mark.parametrize(
    "samples, error, message",
    [
        # MegEngine 1.13 raises the same types (its TypeError says "found <class 'NoneType'>")
        ([None], TypeError, "Collator cannot batch samples of NoneType"),
        ([object()], TypeError, "samples of object"),
        ([{1, 2}], TypeError, "samples of set"),
        ([np.array([object()], dtype=object)], TypeError, "samples of object arrays"),
        ([], IndexError, "empty list of samples"),
        ([np.zeros(2), np.zeros(3)], ValueError, "all input arrays must have the same shape"),
        # MegEngine silently cuts both samples to one field here
        ([(1, 2), (3,)], ValueError, r"samples of different lengths \[1, 2\]"),
    ],
)
def test_what_cannot_be_batched(samples: list, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        apply(samples)
