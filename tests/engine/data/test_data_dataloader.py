"""DataLoader batching, shuffling and transforms."""

import numpy as np
import pytest

from engine.data import ArrayDataset, DataLoader, Dataset, RandomSampler, SequentialSampler


class SquaresDataset(Dataset):
    """A dataset without get_batch: sample i is (i, i*i) as small arrays."""

    def __len__(self) -> int:
        return 7

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return np.array([index, index + 0.5]), np.array(index * index)


def _xy() -> tuple[np.ndarray, np.ndarray]:
    return np.arange(20, dtype=np.float32).reshape(10, 2), np.arange(10, dtype=np.int32)


def test_sequential_batches_from_array_dataset() -> None:
    x, y = _xy()
    loader = DataLoader(ArrayDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    bx, by = batches[0]
    np.testing.assert_array_equal(bx, x[:4])
    np.testing.assert_array_equal(by, [0, 1, 2, 3])
    assert bx.dtype == np.float32 and by.dtype == np.int32
    np.testing.assert_array_equal(batches[2][1], [8, 9])


def test_drop_last_len() -> None:
    x, y = _xy()
    loader = DataLoader(ArrayDataset(x, y), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(b[1]) for b in loader] == [4, 4]


def test_shuffle_is_seeded_and_complete() -> None:
    x, y = _xy()
    first = [
        b[1].tolist() for b in DataLoader(ArrayDataset(x, y), batch_size=3, shuffle=True, seed=5)
    ]
    again = [
        b[1].tolist() for b in DataLoader(ArrayDataset(x, y), batch_size=3, shuffle=True, seed=5)
    ]
    assert first == again
    flat = [i for batch in first for i in batch]
    assert sorted(flat) == list(range(10))
    assert flat != list(range(10))
    for bx, by in DataLoader(ArrayDataset(x, y), batch_size=3, shuffle=True, seed=5):
        np.testing.assert_array_equal(bx[:, 0], 2 * by)


def test_builds_the_right_sampler() -> None:
    ds = ArrayDataset(np.zeros(4))
    assert isinstance(DataLoader(ds).sampler, SequentialSampler)
    assert isinstance(DataLoader(ds, shuffle=True, seed=0).sampler, RandomSampler)


def test_explicit_sampler() -> None:
    x, y = _xy()
    sampler = RandomSampler(range(10), batch_size=5, seed=2)
    expected = RandomSampler(range(10), batch_size=5, seed=2)
    loader = DataLoader(ArrayDataset(x, y), sampler=sampler)
    assert [b[1].tolist() for b in loader] == list(expected)


def test_sampler_conflicts_with_loader_options() -> None:
    ds = ArrayDataset(np.zeros(4))
    with pytest.raises(ValueError, match="configure the sampler"):
        DataLoader(ds, sampler=SequentialSampler(ds), batch_size=2)


def test_generic_dataset_is_stacked() -> None:
    batches = list(DataLoader(SquaresDataset(), batch_size=3))
    assert len(batches) == 3
    bx, by = batches[1]
    np.testing.assert_array_equal(bx, [[3, 3.5], [4, 4.5], [5, 5.5]])
    np.testing.assert_array_equal(by, [9, 16, 25])


def test_transform_applied_per_batch() -> None:
    x, y = _xy()

    def scale(batch: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        bx, by = batch
        return bx / 10.0, by

    bx, by = next(iter(DataLoader(ArrayDataset(x, y), batch_size=2, transform=scale)))
    np.testing.assert_allclose(bx, [[0.0, 0.1], [0.2, 0.3]])
    np.testing.assert_array_equal(by, [0, 1])


def test_transform_must_be_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        DataLoader(ArrayDataset(np.zeros(2)), transform=3)  # type: ignore[arg-type]
