"""Samplers' ``indices``, ``world_size`` and ``rank``, and their checks, against MegEngine 1.13.

Every list of batches below was printed by the real megengine.data.sampler (1.13) for the
same arguments: two epochs of one sampler unless said otherwise.
"""

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import engine as mge
from engine.data import (
    ArrayDataset,
    DataLoader,
    RandomSampler,
    ReplacementSampler,
    SequentialSampler,
)
from engine.distributed import group as group_module


def two_epochs(sampler: Any) -> list:
    """The batches of two epochs, iterating the same sampler twice."""
    return [list(sampler), list(sampler)]


# ---- indices -------------------------------------------------------------------------------
def test_random_sampler_permutes_its_indices() -> None:
    sampler = RandomSampler(range(10), 2, False, [3, 1, 2, 7, 5], seed=4)
    assert two_epochs(sampler) == [[[3, 7], [1, 5], [2]], [[1, 2], [5, 7], [3]]]
    sampler = RandomSampler(range(12), 5, True, list(range(0, 12, 2)), seed=9)
    assert two_epochs(sampler) == [[[10, 2, 4, 6, 0]], [[10, 4, 0, 6, 8]]]


def test_sequential_sampler_yields_its_indices_in_order() -> None:
    sampler = SequentialSampler(range(10), 2, False, [3, 1, 2, 7, 5])
    assert two_epochs(sampler) == [[[3, 1], [2, 7], [5]]] * 2


def test_len_counts_the_dataset_not_the_indices() -> None:
    # MegEngine's len() comes from len(dataset): 10 samples in batches of 2, though only
    # three batches of indices come out
    assert len(SequentialSampler(range(10), 2, False, [3, 1, 2, 7, 5])) == 5
    assert len(RandomSampler(range(10), 2, False, [3, 1, 2, 7, 5], seed=4)) == 5
    empty = RandomSampler(range(4), 1, False, [], seed=0)
    assert list(empty) == [] and len(empty) == 4


def test_fourth_positional_argument_is_indices() -> None:
    sampler = RandomSampler(range(10), 2, False, [3, 1, 2], seed=0)
    assert sampler.indices == [3, 1, 2] and sampler.seed == 0
    assert two_epochs(sampler) == [[[2, 1], [3]], [[2, 3], [1]]]
    sampler = RandomSampler(range(10), 2, False, [3, 1, 2], 1, 0, 0)  # seed is the 7th
    assert two_epochs(sampler) == [[[2, 1], [3]], [[2, 3], [1]]]


@pytest.mark.parametrize(
    "indices, shown", [(3, "3"), (np.arange(3), "[0 1 2]"), ({1, 2}, "{1, 2}")]
)
@pytest.mark.parametrize("cls", [SequentialSampler, RandomSampler])
def test_indices_must_be_a_sequence(cls: type, indices: Any, shown: str) -> None:
    # MegEngine's check is collections.abc.Sequence, which a NumPy array is not
    message = f"indices should be None or a sequence, but got indices={shown}"
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        cls(range(5), 1, False, indices)


# ---- world_size and rank -------------------------------------------------------------------
@pytest.mark.parametrize(
    "rank, batches, dropped",
    [(0, [[0, 2], [4]], [[0, 2]]), (1, [[1, 3], [0]], [[1, 3]])],  # rank 1's 0 pads 5 to 6
)
def test_sequential_ranks_take_every_other_index(rank: int, batches: list, dropped: list) -> None:
    sampler = SequentialSampler(range(5), 2, False, world_size=2, rank=rank)
    assert two_epochs(sampler) == [batches, batches] and len(sampler) == 2
    sampler = SequentialSampler(range(5), 2, True, world_size=2, rank=rank)
    assert two_epochs(sampler) == [dropped, dropped] and len(sampler) == 1


def test_three_ranks_pad_from_the_head() -> None:
    ranks = [list(SequentialSampler(range(7), 2, False, None, 3, r)) for r in range(3)]
    assert ranks == [[[0, 3], [6]], [[1, 4], [0]], [[2, 5], [1]]]


def test_sequential_ranks_split_the_indices() -> None:
    assert list(SequentialSampler(range(6), 2, False, [5, 3, 1, 0], 2, 0)) == [[5, 1], [5]]
    assert list(SequentialSampler(range(6), 2, False, [5, 3, 1, 0], 2, 1)) == [[3, 0], [3]]


@pytest.mark.parametrize(
    "rank, seeded, unseeded",
    [
        (0, [[[0, 2], [4]], [[2, 0], [3]]], [[[2, 1], [4]], [[0, 1], [3]]]),
        (1, [[[3, 1], [0]], [[1, 4], [2]]], [[[0, 3], [2]], [[2, 4], [0]]]),
    ],
)
def test_random_ranks_split_one_permutation(rank: int, seeded: list, unseeded: list) -> None:
    assert two_epochs(RandomSampler(range(5), 2, False, None, 2, rank, 7)) == seeded
    # seed=None with several ranks is seed 0, so that every rank draws the same permutation
    sampler = RandomSampler(range(5), 2, False, None, 2, rank)
    assert sampler.seed == 0 and two_epochs(sampler) == unseeded


@pytest.mark.parametrize(
    "rank, epochs",
    [
        (0, [[[6, 5], [9, 6], [5]], [[4, 8], [6, 4], [8]]]),
        (1, [[[4, 8], [7, 4], [8]], [[5, 7], [9, 5], [7]]]),
    ],
)
def test_random_ranks_split_permuted_indices(rank: int, epochs: list) -> None:
    sampler = RandomSampler(range(10), 2, False, [9, 8, 7, 6, 5, 4], 2, rank, 3)
    assert two_epochs(sampler) == epochs and len(sampler) == 3


@pytest.mark.parametrize(
    "rank, weighted, plain",
    [
        (0, [[[1, 1], [2, 4]], [[1, 0], [2, 5]]], [[[3, 0], [3]], [[0, 4], [1]]]),
        (1, [[[4, 5], [2, 2]], [[1, 2], [1, 1]]], [[[4, 1], [0]], [[1, 4], [2]]]),
    ],
)
def test_replacement_ranks_split_one_draw(rank: int, weighted: list, plain: list) -> None:
    # num_samples=7 over 2 ranks: 4 each, drawn as one choice of 8
    sampler = ReplacementSampler(range(6), 2, False, 7, [1, 2, 3, 0, 1, 1], 2, rank, 5)
    assert two_epochs(sampler) == weighted and sampler.num_samples == 4
    sampler = ReplacementSampler(range(5), 2, False, world_size=2, rank=rank, seed=1)
    assert two_epochs(sampler) == plain and len(sampler) == 2


def test_a_rank_s_state_resumes_its_order() -> None:
    # MegEngine, rank 1 of 2, 7 samples, seed 3: three epochs
    epochs = [[[6, 3], [0, 4]], [[4, 2], [5, 6]], [[1, 4], [5, 6]]]
    run = RandomSampler(range(7), 2, False, None, 2, 1, 3)
    assert list(run) == epochs[0]
    resumed = RandomSampler(range(7), 2, False, None, 2, 1, 99)
    resumed.load_state_dict(run.state_dict())
    assert [list(resumed), list(resumed)] == epochs[1:]


def test_ranks_repeat_a_short_list_from_its_head() -> None:
    # one sample for four ranks: MegEngine's padding (one copy of the head) falls short and
    # fails an assert; repeating the head until every rank has its share gives each rank it
    assert [list(SequentialSampler(range(1), 1, False, None, 4, r)) for r in range(4)] == [
        [[0]]
    ] * 4


def test_more_indices_than_the_ranks_take_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"6 indices cannot be scattered: .* = 4 \(num_samples"):
        SequentialSampler(range(4), 1, False, list(range(6)), world_size=2, rank=1)
    # one process takes them all, as in MegEngine
    assert list(SequentialSampler(range(4), 3, False, list(range(6)))) == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(world_size=2, rank=2),
            r"rank should be an integer in \[0, world_size=2\), but got rank=2",
        ),
        (dict(world_size=2, rank=-1), r"in \[0, world_size=2\), but got rank=-1"),
        (
            dict(world_size=0, rank=0),
            "world_size should be a positive integer, but got world_size=0",
        ),
        (dict(world_size=2.0, rank=0), "a positive integer, but got world_size=2.0"),
    ],
)
def test_rank_must_be_in_the_world(kwargs: dict, message: str) -> None:
    # MegEngine takes rank=2 of 2 and fails an assert while scattering
    with pytest.raises(ValueError, match=message):
        SequentialSampler(range(5), 1, **kwargs)


def test_ranks_come_from_an_initialised_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    # rank 1 of a 2-process group: what MegEngine's samplers take from megengine.distributed
    monkeypatch.setitem(group_module._state, "comm", SimpleNamespace(rank=1, size=2))
    monkeypatch.setitem(group_module._state, "backend", "mpi")
    sampler = SequentialSampler(range(5), 2)
    assert (sampler.world_size, sampler.rank) == (2, 1)
    assert list(sampler) == [[1, 3], [0]]
    assert two_epochs(RandomSampler(range(5), 2)) == [[[0, 3], [2]], [[2, 4], [0]]]
    assert SequentialSampler(range(5), 2, rank=0).rank == 0  # what is given wins


def test_a_launcher_without_a_process_group_is_one_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # MegEngine asks megengine.distributed only once init_process_group has run
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    monkeypatch.setitem(group_module._state, "comm", None)
    monkeypatch.setitem(group_module._state, "backend", None)
    assert group_module.get_world_size() == 2  # what engine.distributed says before init
    sampler = RandomSampler(range(5), 2, seed=0)
    assert (sampler.world_size, sampler.rank) == (1, 0)


# ---- batch size against the samples -----------------------------------------------------------
@pytest.mark.parametrize(
    "make, shown",
    [
        (lambda: SequentialSampler(range(3), 4), "num_samples=3 and batch_size=4"),
        (
            lambda: RandomSampler(range(5), 4, world_size=2, rank=0),
            "num_samples=3 and batch_size=4",
        ),
        (lambda: ReplacementSampler(range(10), 4, num_samples=3), "num_samples=3 and batch_size=4"),
        (lambda: SequentialSampler([], 1), "num_samples=0 and batch_size=1"),
    ],
)
def test_fewer_samples_than_a_batch_is_megengine_s_error(make: Any, shown: str) -> None:
    message = f"num_samples should be greater than batch_size , but got {shown}"
    with pytest.raises(ValueError, match=message):
        make()


def test_a_shuffling_dataloader_gives_ranks_disjoint_shares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # each rank seeds engine.random differently; the order must still be one for all
    monkeypatch.setitem(group_module._state, "backend", "mpi")
    shares = []
    for rank, seed in ((0, 11), (1, 22)):
        monkeypatch.setitem(group_module._state, "comm", SimpleNamespace(rank=rank, size=2))
        mge.random.seed(seed)
        loader = DataLoader(ArrayDataset(np.arange(8)), batch_size=2, shuffle=True)
        shares.append(sorted(int(x) for (batch,) in loader for x in batch))
    assert len(shares[0]) == len(shares[1]) == 4 and not set(shares[0]) & set(shares[1])
    assert sorted(shares[0] + shares[1]) == list(range(8))
