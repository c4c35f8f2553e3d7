"""ArrayDataset and Dataset behaviour."""

import numpy as np
import pytest

from engine.data import ArrayDataset, Dataset


def test_dataset_is_abstract() -> None:
    with pytest.raises(TypeError):
        Dataset()  # type: ignore[abstract]


def test_array_dataset_rows_and_len() -> None:
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.array([0, 1, 0, 1, 1, 0])
    ds = ArrayDataset(x, y)
    assert len(ds) == 6
    row_x, row_y = ds[4]
    np.testing.assert_array_equal(row_x, [8.0, 9.0])
    assert row_y == 1


def test_array_dataset_get_batch_fancy_index() -> None:
    x = np.arange(12).reshape(6, 2)
    y = np.arange(6) * 10
    bx, by = ArrayDataset(x, y).get_batch([5, 0, 3])
    np.testing.assert_array_equal(bx, [[10, 11], [0, 1], [6, 7]])
    np.testing.assert_array_equal(by, [50, 0, 30])


def test_array_dataset_accepts_lists() -> None:
    ds = ArrayDataset([[1, 2], [3, 4]], [0, 1])
    assert isinstance(ds.arrays[0], np.ndarray)
    assert ds[1][1] == 1


def test_array_dataset_length_mismatch_names_lengths() -> None:
    with pytest.raises(ValueError, match=r"same first-dimension length, got lengths \[4, 3\]"):
        ArrayDataset(np.zeros((4, 2)), np.zeros(3))


def test_array_dataset_needs_arrays() -> None:
    with pytest.raises(ValueError, match="at least one array"):
        ArrayDataset()
    with pytest.raises(ValueError, match="scalar"):
        ArrayDataset(np.float32(1.0))


def test_get_batch_rejects_float_indices() -> None:
    with pytest.raises(ValueError, match="integer indices"):
        ArrayDataset(np.zeros(3)).get_batch(np.array([0.5]))
