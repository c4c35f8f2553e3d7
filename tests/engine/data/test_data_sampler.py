"""Sequential and random batch samplers."""

import sys
import types

import numpy as np
import pytest

from engine.data import RandomSampler, SequentialSampler


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
    assert list(SequentialSampler(range(3), batch_size=5, drop_last=True)) == []
    assert list(SequentialSampler(range(3), batch_size=5)) == [[0, 1, 2]]


def test_batches_are_python_int_lists() -> None:
    batch = next(iter(RandomSampler(range(5), batch_size=2, seed=0)))
    assert isinstance(batch, list)
    assert all(type(i) is int for i in batch)


@pytest.mark.parametrize("bad", [0, -3])
def test_batch_size_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError, match=f"batch_size must be >= 1, got {bad}"):
        SequentialSampler(range(5), batch_size=bad)


def test_batch_size_must_be_int() -> None:
    with pytest.raises(TypeError, match="batch_size must be an int"):
        RandomSampler(range(5), batch_size=2.5, seed=0)  # type: ignore[arg-type]


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
    assert first_a == np.random.default_rng(7).permutation(50).tolist()
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
    list(sampler)
    assert state != sampler.state_dict()
    sampler.load_state_dict(state)
    assert sampler.state_dict() == state


def test_load_state_dict_rejects_incomplete_state() -> None:
    with pytest.raises(KeyError, match="missing"):
        RandomSampler(range(4), seed=0).load_state_dict({"epoch": 2})


def test_seed_none_uses_engine_random(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("engine.random")
    fake.get_rng = lambda: np.random.default_rng(123)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "engine.random", fake)
    a = RandomSampler(range(20), batch_size=20)
    b = RandomSampler(range(20), batch_size=20)
    assert a.seed == b.seed
    assert list(a) == list(b)
