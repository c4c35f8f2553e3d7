"""DataLoader batching, shuffling and transforms."""

import numpy as np
import pytest

from engine.data import (
    ArrayDataset,
    Collator,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
)
from engine.data.transform import Transform
from engine.tensor import Tensor


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


def test_batches_are_what_megengine_gives() -> None:
    # MegEngine 1.13: DataLoader(ArrayDataset(x, y), SequentialSampler(.., batch_size=4)) yields
    # lists [float32 (4, 2), int32 (4,)] then [(2, 2), (2,)]; with preload=True the same as
    # Tensors on xpux:0
    x, y = np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6, dtype=np.int32)
    data = ArrayDataset(x, y)
    for per_sample in (data, SquaresLike(x, y)):  # the get_batch fast path and the Collator
        batches = list(DataLoader(per_sample, SequentialSampler(data, batch_size=4)))
        assert [type(b) for b in batches] == [list, list]
        assert [(b[0].shape, b[1].shape) for b in batches] == [((4, 2), (4,)), ((2, 2), (2,))]
        assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int32
        np.testing.assert_array_equal(batches[1][0], [[8, 9], [10, 11]])
    preloaded = list(DataLoader(data, SequentialSampler(data, batch_size=4), preload=True))
    assert [type(b) for b in preloaded] == [list, list]
    first = preloaded[0]
    assert all(isinstance(t, Tensor) and str(t.device) == "xpux:0" for t in first)
    assert first[0].shape == (4, 2) and first[1].dtype == np.int32
    np.testing.assert_array_equal(preloaded[1][1].numpy(), [4, 5])


class SquaresLike(Dataset):
    """The rows of x and y one at a time, without get_batch."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.int32]:
        return self.x[i], self.y[i]


def test_arguments_in_megengine_order() -> None:
    data = SquaresLike(*_xy())

    class Halve(Transform):
        def apply(self, sample):
            return sample[0] / 2, sample[1]

    class Named:  # any object with apply(samples); Collator.apply recurses through self.apply
        def apply(self, inputs):
            x, y = Collator().apply(inputs)
            return {"x": x, "y": y}

    loader = DataLoader(data, SequentialSampler(data, batch_size=3), Halve(), Named(), 0, 5)
    assert loader.timeout == 5.0 and loader.num_workers == 0
    batch = next(iter(loader))
    assert list(batch) == ["x", "y"]
    np.testing.assert_array_equal(batch["x"], [[0, 0.5], [1, 1.5], [2, 2.5]])
    np.testing.assert_array_equal(batch["y"], [0, 1, 2])
    # a collator of its own is used for ArrayDataset too (no fast path around it)
    arrays = ArrayDataset(*_xy())
    assert list(next(iter(DataLoader(arrays, collator=Named())))) == ["x", "y"]
    with pytest.raises(TypeError, match="collator must have an apply"):
        DataLoader(data, collator=len)  # type: ignore[arg-type]


def test_dict_samples_are_collated_by_key() -> None:
    class Records(Dataset):
        def __len__(self) -> int:
            return 3

        def __getitem__(self, i: int) -> dict:
            return {"id": i, "name": f"r{i}", "score": np.float32(i) / 4}

    batch = next(iter(DataLoader(Records(), batch_size=3)))
    assert batch["id"].dtype == np.int64 and batch["id"].tolist() == [0, 1, 2]
    assert batch["name"] == ["r0", "r1", "r2"]  # strings stay a list (MegEngine 1.13)
    assert batch["score"].dtype == np.float32 and batch["score"].tolist() == [0, 0.25, 0.5]


def test_preload_moves_the_next_batch_before_this_one_is_used() -> None:
    built = []

    class Counting(SquaresLike):
        def __getitem__(self, i: int):
            built.append(i)
            return super().__getitem__(i)

    it = iter(DataLoader(Counting(*_xy()), batch_size=4, preload=True, device="cpu0"))
    first = next(it)
    assert built == list(range(8))  # batches 0 and 1, none further
    assert str(first[0].device) == "cpu0:0"
    assert [b[1].numpy().tolist() for b in it] == [[4, 5, 6, 7], [8, 9]]
