"""Sequential and random batch samplers; the random ones draw MegEngine 1.13's indices."""

from typing import Any

import numpy as np
import pytest

import engine.random
from engine.data import (
    ArrayDataset,
    DataLoader,
    RandomSampler,
    ReplacementSampler,
    SequentialSampler,
)
from engine.data.sampler import seed_from_engine_random


def test_sequential_batches_and_len() -> None:
    sampler = SequentialSampler(range(10), batch_size=4)
    assert list(sampler) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(sampler) == 3


def test_sequential_drop_last() -> None:
    sampler = SequentialSampler(range(10), batch_size=4, drop_last=True)
    assert list(sampler) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(sampler) == 2


def test_exact_multiple_and_tiny_dataset() -> None:
    assert len(SequentialSampler(range(8), batch_size=4, drop_last=True)) == 2
    assert len(SequentialSampler(range(8), batch_size=4)) == 2
    assert list(SequentialSampler(range(3), batch_size=3, drop_last=True)) == [[0, 1, 2]]
    assert list(SequentialSampler(range(3), batch_size=3)) == [[0, 1, 2]]


def test_batches_are_python_int_lists() -> None:
    batch = next(iter(RandomSampler(range(5), batch_size=2, seed=0)))
    assert isinstance(batch, list)
    assert all(type(i) is int for i in batch)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "2"])
def test_batch_size_must_be_a_positive_int(bad: Any) -> None:
    # MegEngine 1.13's ValueError and words, for a wrong type as for a wrong value
    with pytest.raises(
        ValueError,
        match=f"batch_size should be a positive integer value, but got batch_size={bad}$",
    ):
        RandomSampler(range(5), batch_size=bad, seed=0)


def test_batch_size_may_be_a_numpy_int() -> None:
    # MegEngine refuses np.int64(2) (not an int); a NumPy integer is one here
    assert list(SequentialSampler(range(3), np.int64(2))) == [[0, 1], [2]]


def test_drop_last_must_be_a_bool() -> None:
    with pytest.raises(
        ValueError, match="drop_last should be a boolean value, but got drop_last=1"
    ):
        SequentialSampler(range(5), 2, 1)  # type: ignore[arg-type]


def test_random_covers_every_index_once_per_epoch() -> None:
    sampler = RandomSampler(range(23), batch_size=5, seed=3)
    batches = list(sampler)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert sorted(i for b in batches for i in b) == list(range(23))
    assert len(sampler) == 5


def test_random_drop_last() -> None:
    sampler = RandomSampler(range(23), batch_size=5, drop_last=True, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 4
    assert all(len(b) == 5 for b in batches)


def test_random_reproducible_and_reshuffles() -> None:
    a = RandomSampler(range(50), batch_size=50, seed=7)
    b = RandomSampler(range(50), batch_size=50, seed=7)
    first_a, second_a = next(iter(a)), next(iter(a))
    first_b, second_b = next(iter(b)), next(iter(b))
    assert first_a == first_b and second_a == second_b
    assert first_a != second_a
    assert next(iter(RandomSampler(range(50), batch_size=50, seed=8))) != first_a


def test_random_state_round_trip_continues_order() -> None:
    reference = RandomSampler(range(30), batch_size=4, seed=11)
    epochs = [list(reference) for _ in range(3)]

    run = RandomSampler(range(30), batch_size=4, seed=11)
    assert list(run) == epochs[0]
    state = run.state_dict()
    assert state["epoch"] == 1

    resumed = RandomSampler(range(30), batch_size=4, seed=999)
    resumed.load_state_dict(state)
    assert resumed.epoch == 1
    assert list(resumed) == epochs[1]
    assert list(resumed) == epochs[2]
    assert resumed.epoch == 3


def test_state_dict_is_a_snapshot() -> None:
    sampler = RandomSampler(range(10), seed=1)
    state = sampler.state_dict()
    key = state["rng"]["state"]["key"].copy()
    first = list(sampler)
    assert np.array_equal(state["rng"]["state"]["key"], key)  # later draws leave it alone
    assert not np.array_equal(sampler.state_dict()["rng"]["state"]["key"], key)
    sampler.load_state_dict(state)
    assert np.array_equal(sampler.state_dict()["rng"]["state"]["key"], key)
    assert list(sampler) == first


def test_load_state_dict_rejects_incomplete_state() -> None:
    with pytest.raises(KeyError, match="missing"):
        RandomSampler(range(4), seed=0).load_state_dict({"epoch": 2})


# Two epochs (iterating the same sampler twice) as MegEngine 1.13 yields them, recorded with
# megengine.data.sampler.RandomSampler(dataset, batch_size=, drop_last=, seed=).
MEGENGINE_RANDOM = [
    ((6, 3, False, 1), [[[2, 1, 4], [0, 3, 5]], [[4, 2, 0], [5, 3, 1]]]),
    (
        (10, 4, False, 0),
        [[[2, 8, 4, 9], [1, 6, 7, 3], [0, 5]], [[3, 5, 1, 2], [9, 8, 0, 6], [7, 4]]],
    ),
    ((10, 4, True, 0), [[[2, 8, 4, 9], [1, 6, 7, 3]], [[3, 5, 1, 2], [9, 8, 0, 6]]]),
    ((7, 2, False, 42), [[[0, 1], [5, 2], [4, 3], [6]], [[5, 0], [3, 2], [1, 6], [4]]]),
    ((5, 1, False, 2**32 - 1), [[[4], [1], [0], [2], [3]], [[1], [3], [2], [0], [4]]]),
]


@pytest.mark.parametrize("args, epochs", MEGENGINE_RANDOM, ids=lambda v: str(v)[:20])
def test_random_sampler_draws_megengine_s_indices(args: tuple, epochs: list) -> None:
    n, batch_size, drop_last, seed = args
    sampler = RandomSampler(range(n), batch_size=batch_size, drop_last=drop_last, seed=seed)
    assert [list(sampler), list(sampler)] == epochs
    assert sampler.epoch == 2


# megengine.data.sampler.ReplacementSampler(range(n), batch_size=, drop_last=, num_samples=,
# weights=, seed=), two epochs each, recorded.
MEGENGINE_REPLACEMENT: list[tuple[dict[str, Any], list]] = [
    (
        dict(n=5, batch_size=4, num_samples=8, weights=[0, 1, 0, 3, 0], seed=1),
        [[[3, 3, 1, 3], [1, 1, 1, 3]], [[3, 3, 3, 3], [1, 3, 1, 3]]],
    ),
    (
        dict(n=5, batch_size=3, num_samples=8, drop_last=True, weights=[0, 1, 0, 3, 0], seed=1),
        [[[3, 3, 1], [3, 1, 1]], [[3, 3, 3], [3, 1, 3]]],
    ),
    (
        dict(n=4, batch_size=3, num_samples=7, weights=[0.1, 0.2, 0.3, 0.4], seed=5),
        [[[1, 3, 1], [3, 2, 3], [3]], [[2, 1, 1], [0, 3, 2], [1]]],
    ),
    (dict(n=6, batch_size=4, seed=3), [[[2, 0, 1, 3], [0, 0]], [[0, 5, 5, 3], [2, 3]]]),
    (dict(n=6, batch_size=4, drop_last=True, seed=3), [[[2, 0, 1, 3]], [[0, 5, 5, 3]]]),
]


@pytest.mark.parametrize("kwargs, epochs", MEGENGINE_REPLACEMENT, ids=lambda v: str(v)[:40])
def test_replacement_sampler_draws_megengine_s_indices(kwargs: dict, epochs: list) -> None:
    kwargs = dict(kwargs)
    sampler = ReplacementSampler(range(kwargs.pop("n")), **kwargs)
    assert [list(sampler), list(sampler)] == epochs


def test_seed_none_is_megengine_s_fresh_generator() -> None:
    # MegEngine's RandomState(None): seeded by the OS, so engine.random.seed does not repeat it
    # (two equal permutations of 20 would be a 1 in 20! event)
    engine.random.seed(0)
    a = RandomSampler(range(20), batch_size=20)
    engine.random.seed(0)
    b = RandomSampler(range(20), batch_size=20)
    assert a.seed is None and a.state_dict()["seed"] is None
    assert list(a) != list(b)


def test_seed_from_engine_random_follows_engine_random_seed() -> None:
    engine.random.seed(4)
    seed = seed_from_engine_random()
    engine.random.seed(4)
    assert seed_from_engine_random() == seed and 0 <= seed < 2**32
    assert list(RandomSampler(range(20), 20, seed=seed)) == list(
        RandomSampler(range(20), 20, seed=seed)
    )


def test_shuffling_loader_without_a_seed_follows_engine_random() -> None:
    data = ArrayDataset(np.arange(12))

    def order() -> list[int]:
        loader = DataLoader(data, batch_size=12, shuffle=True)
        return [int(i) for batch in loader for i in batch[0]]

    engine.random.seed(7)
    first = order()
    engine.random.seed(7)
    assert order() == first and sorted(first) == list(range(12))


@pytest.mark.parametrize(
    "seed, error, message",
    [
        (-1, ValueError, r"between 0 and 2\*\*32 - 1, got -1"),
        (2**32, ValueError, r"between 0 and 2\*\*32 - 1, got 4294967296"),
        (1.5, TypeError, "seed must be an int or None, got float"),
        (True, TypeError, "seed must be an int or None, got bool"),
    ],
)
def test_seeds_random_state_refuses(seed: Any, error: type, message: str) -> None:
    # MegEngine 1.13 raises ValueError "Seed must be between 0 and 2**32 - 1" (and a TypeError
    # for 1.5) from np.random.RandomState
    with pytest.raises(error, match=message):
        RandomSampler(range(3), seed=seed)
