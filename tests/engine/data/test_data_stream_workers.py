"""DataLoader(StreamDataset, num_workers=N): the main process reads, or every worker reads its own.

Expected values for parallel_stream were recorded from MegEngine 1.13 (three runs each).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import engine.data as D
import engine.data.transform as T
from engine.data.seeding import current_rng

pytestmark = pytest.mark.usefixtures("workers_end_cleanly")  # see conftest.py

AUGMENT = T.Compose([T.RandomHorizontalFlip(0.5), T.GaussianNoise(0, 0.01)])


class Images(D.StreamDataset):
    """n small HWC images whose pixels are their number, with the number as label."""

    def __init__(self, n: int, bad: int | None = None, slow: int | None = None, pause=0.3) -> None:
        self.n, self.bad, self.slow, self.pause = n, bad, slow, pause

    def __iter__(self):
        for i in range(self.n):
            if i == self.bad:
                raise ValueError(f"record {i} is broken")
            if i == self.slow:
                time.sleep(self.pause)
            yield np.arange(12, dtype=np.float32).reshape(2, 2, 3) + 100 * i, np.int32(i)


class Shards(D.StreamDataset):
    """Worker k reads shards[k]; the main process (no worker info) reads them all."""

    def __init__(self, shards: list[list[int]]) -> None:
        self.shards = shards

    def __iter__(self):
        info = D.get_worker_info()
        rows = sum(self.shards, []) if info is None else self.shards[info.idx]
        for r in rows:
            yield np.int32(r), np.float32(r) / 2


def epochs(loader: D.DataLoader, n: int = 2) -> list:
    """All batches of n epochs."""
    return [batch for _ in range(n) for batch in loader]


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_workers_give_the_batches_of_the_main_process(workers: int, drop_last: bool) -> None:
    def make(w: int) -> D.DataLoader:
        sampler = D.StreamSampler(batch_size=3, drop_last=drop_last)
        return D.DataLoader(Images(8), sampler, AUGMENT, num_workers=w, seed=4)

    serial, parallel = epochs(make(0)), epochs(make(workers))
    sizes = [3, 3] if drop_last else [3, 3, 2]
    assert [len(b[1]) for b in parallel] == [len(b[1]) for b in serial] == sizes * 2
    for a, b in zip(serial, parallel, strict=True):
        assert b[0].shape[1:] == (2, 2, 3) and b[0].dtype == np.float32 and b[1].dtype == np.int32
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert serial[0][1].tolist() == [0, 1, 2]
    assert not np.array_equal(serial[0][0], serial[len(sizes)][0])  # noise differs per epoch


def test_parallel_stream_interleaves_the_workers_streams_as_megengine() -> None:
    loader = D.DataLoader(Shards([[1, 2, 3], [4, 5, 6], [7, 8, 9]]), D.StreamSampler(2))
    parallel = D.DataLoader(loader.dataset, D.StreamSampler(2), num_workers=3, parallel_stream=True)
    batches = list(parallel)
    assert [b[0].tolist() for b in batches] == [[1, 2], [4, 5], [7, 8], [3], [6], [9]]
    assert [b[1].tolist() for b in batches] == [
        [0.5, 1.0],
        [2.0, 2.5],
        [3.5, 4.0],
        [1.5],
        [3.0],
        [4.5],
    ]
    assert batches[0][0].dtype == np.int32 and batches[0][1].dtype == np.float32
    # the same samples as the main process reading the whole stream, in another order
    serial = np.concatenate([b[0] for b in loader])
    assert sorted(np.concatenate([b[0] for b in batches]).tolist()) == serial.tolist()


def test_a_worker_whose_stream_ends_gets_no_more_batches() -> None:
    data = Shards([[0, 1, 2, 3, 4], [10], [20, 21, 22]])
    loader = D.DataLoader(data, D.StreamSampler(2), num_workers=3, parallel_stream=True)
    expected = [[0, 1], [10], [20, 21], [2, 3], [22], [4]]  # MegEngine 1.13, three runs
    assert [b[0].tolist() for b in loader] == expected
    assert [b[0].tolist() for b in loader] == expected  # every epoch, whatever the timing
    dropping = D.DataLoader(
        data, D.StreamSampler(2, drop_last=True), num_workers=3, parallel_stream=True
    )
    assert [b[0].tolist() for b in dropping] == [[0, 1], [20, 21], [2, 3]]


def test_a_stream_that_is_not_sharded_is_read_by_every_worker() -> None:
    loader = D.DataLoader(Images(3), D.StreamSampler(2), num_workers=2, parallel_stream=True)
    assert [b[1].tolist() for b in loader] == [[0, 1], [0, 1], [2], [2]]


class Jitter(T.Transform):
    """Adds normal noise to the second field, drawn from the loader's per-batch generator."""

    def apply(self, sample):
        return sample[0], sample[1] + current_rng().normal(size=()).astype(np.float32)


def test_parallel_stream_transforms_are_seeded() -> None:
    def run() -> list:
        data = Shards([[1, 2, 3], [4, 5]])
        loader = D.DataLoader(
            data, D.StreamSampler(2), Jitter(), num_workers=2, parallel_stream=True, seed=9
        )
        return [b[1] for b in loader]

    first, second = run(), run()
    assert len(first) == 3
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], [0.5, 1.0], atol=0.01)  # the noise did run


@pytest.mark.parametrize("workers", [0, 2])
def test_a_broken_stream_names_its_sample_after_the_batches_before_it(workers: int) -> None:
    loader = D.DataLoader(Images(9, bad=5), D.StreamSampler(2), num_workers=workers)
    seen = []
    with pytest.raises(
        D.SampleError, match=r"^DataLoader failed on stream sample 5: ValueError: record 5"
    ):
        for batch in loader:
            seen.append(batch[1].tolist())
    assert seen == [[0, 1], [2, 3]]


def test_a_broken_stream_in_a_worker_names_the_worker_and_its_sample() -> None:
    class Broken(Shards):
        def __iter__(self):
            for i, sample in enumerate(super().__iter__()):
                if D.get_worker_info().idx == 1 and i == 1:
                    raise KeyError("missing")
                yield sample

    loader = D.DataLoader(
        Broken([[1, 2, 3], [4, 5, 6]]), D.StreamSampler(2), num_workers=2, parallel_stream=True
    )
    with pytest.raises(
        D.SampleError, match=r"DataLoader worker 1 failed on sample 1 of its stream: KeyError"
    ):
        list(loader)


def test_a_failing_transform_names_the_stream_batch() -> None:
    class Refuse(T.Transform):
        def apply(self, sample):
            if sample[1] == 5:
                raise ValueError("no fives")
            return sample

    loader = D.DataLoader(Images(8), D.StreamSampler(2), Refuse(), num_workers=2)
    with pytest.raises(
        D.SampleError,
        match=r"DataLoader worker 0 failed on stream batch 2 \(in the transform\): ValueError",
    ):
        list(loader)


@pytest.mark.parametrize("workers", [0, 1])
def test_a_slow_stream_read_by_this_process_times_out(workers: int) -> None:
    loader = D.DataLoader(Images(6, slow=3), D.StreamSampler(2), num_workers=workers, timeout=0.1)
    with pytest.raises(RuntimeError, match=r"reading a batch from the stream took 0\.3 s"):
        list(loader)


def test_a_slow_worker_stream_times_out() -> None:
    loader = D.DataLoader(
        Images(6, slow=0, pause=5),
        D.StreamSampler(2),
        num_workers=1,
        timeout=0.2,
        parallel_stream=True,
    )
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"timed out after 0\.2 s waiting for batch 0"):
        list(loader)
    assert time.monotonic() - start < 1.0  # the sleeping worker was stopped, not awaited
