"""ConcatDataset, StreamDataset, ReplacementSampler and Infinite (MegEngine 1.13's semantics)."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest

import engine.data as D


def two_datasets() -> D.ConcatDataset:
    a = D.ArrayDataset(np.arange(3), np.arange(3) * 10)
    b = D.ArrayDataset(np.arange(2) + 100, -np.arange(2))
    return D.ConcatDataset([a, b])


def test_concat_dataset_indexes_through_its_parts() -> None:
    # MegEngine 1.13: len 5, cumulative_sizes [3, 5], c[-1] == (101, -1), c[-5] == (0, 0)
    c = two_datasets()
    assert len(c) == 5 and c.cumulative_sizes == [3, 5]
    assert [tuple(int(v) for v in c[i]) for i in range(5)] == [
        (0, 0),
        (1, 10),
        (2, 20),
        (100, 0),
        (101, -1),
    ]
    assert tuple(int(v) for v in c[-1]) == (101, -1) and tuple(int(v) for v in c[-5]) == (0, 0)
    with pytest.raises(IndexError, match="index 5 is out of range for length 5"):
        c[5]
    with pytest.raises(IndexError, match="index -6 is out of range"):
        c[-6]


def test_concat_dataset_in_a_loader() -> None:
    batches = list(D.DataLoader(two_datasets(), batch_size=2))
    assert [b[0].tolist() for b in batches] == [[0, 1], [2, 100], [101]]


class Counter(D.StreamDataset):
    """0, 1, ..., n-1 as (x, x * x) samples."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield np.float32(i), np.int32(i * i)


def test_concat_refuses_streams_and_empty_lists() -> None:
    with pytest.raises(TypeError, match=r"datasets\[1\] is a StreamDataset"):
        D.ConcatDataset([D.ArrayDataset(np.arange(2)), Counter(3)])
    with pytest.raises(ValueError, match="at least one dataset"):
        D.ConcatDataset([])


def test_stream_dataset_batches() -> None:
    batches = list(D.DataLoader(Counter(5), batch_size=2))
    assert [b[1].tolist() for b in batches] == [[0, 1], [4, 9], [16]]
    dropped = list(D.DataLoader(Counter(5), sampler=D.StreamSampler(batch_size=2, drop_last=True)))
    assert [b[0].tolist() for b in dropped] == [[0.0, 1.0], [2.0, 3.0]]
    with pytest.raises(TypeError, match="no length"):
        len(Counter(3))
    with pytest.raises(TypeError, match="iterate it, do not index it"):
        Counter(3)[0]
    with pytest.raises(ValueError, match="cannot be shuffled"):
        D.DataLoader(Counter(3), shuffle=True)
    with pytest.raises(TypeError, match="needs a StreamSampler"):
        D.DataLoader(Counter(3), sampler=D.SequentialSampler(range(3)))


def test_replacement_sampler_draws_with_weights() -> None:
    s = D.ReplacementSampler(
        range(5), batch_size=4, num_samples=1000, weights=[0, 1, 0, 3, 0], seed=1
    )
    assert len(s) == 250
    drawn = np.concatenate([np.array(b) for b in s])
    assert drawn.size == 1000 and set(drawn.tolist()) == {1, 3}
    assert 0.70 < np.mean(drawn == 3) < 0.80  # p = 3/4
    again = D.ReplacementSampler(
        range(5), batch_size=4, num_samples=1000, weights=[0, 1, 0, 3, 0], seed=1
    )
    assert np.array_equal(np.concatenate([np.array(b) for b in again]), drawn)
    plain = D.ReplacementSampler(range(4), batch_size=3, seed=0)
    assert len(plain) == 2 and sum(len(b) for b in plain) == 4  # num_samples defaults to len


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(weights=[1, 2]), r"one entry per sample \(3\)"),
        (dict(weights=[1, -1, 1]), "finite, >= 0"),
        (dict(weights=[0, 0, 0]), "not all 0"),
        (dict(num_samples=0), "num_samples should be a positive integer"),
    ],
)
def test_replacement_sampler_mistakes(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        D.ReplacementSampler(range(3), **kwargs)


def test_infinite_restarts_its_sampler() -> None:
    inf = D.Infinite(D.SequentialSampler(range(3), batch_size=2))
    assert list(islice(inf, 5)) == [[0, 1], [2], [0, 1], [2], [0, 1]]
    assert len(inf) == 2**63 - 1 and inf.batch_size == 2
    shuffled = D.Infinite(D.RandomSampler(range(4), batch_size=4, seed=3))
    first, second = next(shuffled), next(shuffled)
    assert sorted(first) == sorted(second) == [0, 1, 2, 3] and first != second  # a new epoch
    assert shuffled.epoch == 2
    assert list(islice(inf, 1)) == [[2]]  # one stream of batches: it goes on where it stopped
    fresh = D.Infinite(D.SequentialSampler(range(3), batch_size=2))
    loader = D.DataLoader(D.ArrayDataset(np.arange(3)), sampler=fresh)
    assert [b[0].tolist() for b in islice(loader, 4)] == [[0, 1], [2], [0, 1], [2]]
    with pytest.raises(ValueError, match="at least one batch"):
        D.Infinite([])  # a batch sampler without batches (ours refuse batch_size > n)
