"""DataLoader(num_workers=N): real worker processes, the same batches as N=0, clean failures.

Every test runs under a deadline, so a hang fails the test instead of the suite.
"""

from __future__ import annotations

import multiprocessing
import os
import time

import numpy as np
import pytest

import engine as mge
import engine.data as D
import engine.data.transform as T

pytestmark = pytest.mark.usefixtures("workers_end_cleanly")  # see conftest.py


class Images(D.Dataset):
    """n small HWC images whose pixels are their index, with the index as label."""

    def __init__(self, n: int, bad: int | None = None, exit_at: int | None = None) -> None:
        self.n, self.bad, self.exit_at = n, bad, exit_at

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        if i == self.bad:
            raise ValueError(f"row {i} is broken")
        if i == self.exit_at:
            os._exit(3)  # a worker that dies (like a segfault or an OOM kill)
        return np.full((4, 6, 3), i, dtype=np.float32), np.int32(i)


AUGMENT = T.Compose(
    [
        T.RandomHorizontalFlip(0.5),
        T.RandomCrop(3, padding_size=1),
        T.GaussianNoise(0, 0.01),
        T.ToMode(),
    ]
)


def epochs(loader: D.DataLoader, n: int = 2) -> list:
    """All batches of n epochs."""
    return [batch for _ in range(n) for batch in loader]


@pytest.mark.parametrize("workers", [1, 3])
def test_workers_give_the_batches_of_the_main_process(workers: int) -> None:
    def make(w: int) -> D.DataLoader:
        return D.DataLoader(
            Images(22), batch_size=4, shuffle=True, seed=11, transform=AUGMENT, num_workers=w
        )

    serial, parallel = epochs(make(0)), epochs(make(workers))
    assert len(serial) == len(parallel) == 12
    for a, b in zip(serial, parallel, strict=True):
        assert a[0].shape == b[0].shape and a[0].dtype == b[0].dtype == np.float32
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    # the augmentation is random per batch: epochs differ, but a seed repeats them
    assert not np.array_equal(serial[0][0], serial[6][0])
    np.testing.assert_array_equal(epochs(make(0))[3][0], serial[3][0])


def test_array_dataset_with_a_batch_transform_and_a_device() -> None:
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.arange(20)

    def scale(batch):
        return batch[0] * 2, batch[1]

    def make(w: int) -> D.DataLoader:
        data = D.ArrayDataset(x, y)
        return D.DataLoader(
            data, batch_size=6, shuffle=True, seed=2, transform=scale, num_workers=w, device="cpu0"
        )

    serial, parallel = epochs(make(0)), epochs(make(2))
    for a, b in zip(serial, parallel, strict=True):
        assert isinstance(b[0], mge.Tensor) and str(b[0].device) == "cpu0:0"
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    assert sorted(np.concatenate([b[1].numpy() for b in parallel[:4]]).tolist()) == list(range(20))


def test_an_error_in_a_worker_names_the_sample_and_stops_the_workers() -> None:
    loader = D.DataLoader(Images(12, bad=7), batch_size=2, num_workers=2)
    seen = []
    with pytest.raises(
        D.SampleError, match=r"DataLoader worker 1 failed on sample 7: ValueError: row 7 is broken"
    ):
        for batch in loader:
            seen.append(batch[1].tolist())
    assert seen == [[0, 1], [2, 3], [4, 5]]  # every batch before the broken one arrives


def test_the_same_error_without_workers() -> None:
    with pytest.raises(
        D.SampleError, match=r"^DataLoader failed on sample 7: ValueError: row 7"
    ) as info:
        list(D.DataLoader(Images(12, bad=7), batch_size=2))
    assert isinstance(info.value.__cause__, ValueError)


def test_a_worker_that_dies_is_reported() -> None:
    with pytest.raises(
        RuntimeError, match=r"DataLoader worker \d \(pid \d+\) exited unexpectedly with code 3"
    ):
        list(D.DataLoader(Images(8, exit_at=5), batch_size=2, num_workers=2))


class Slow(Images):
    def __getitem__(self, i: int):
        time.sleep(5)
        return super().__getitem__(i)


def test_timeout_ends_the_wait() -> None:
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 s waiting for batch 0"):
        list(D.DataLoader(Slow(4), batch_size=2, num_workers=1, timeout=0.5))
    assert time.monotonic() - start < 5  # the sleeping worker was terminated, not awaited


class Recording(Images):
    """Counts built samples in shared memory, so the test can see work done ahead."""

    def __init__(self, n: int, counter) -> None:
        super().__init__(n)
        self.counter = counter

    def __getitem__(self, i: int):
        with self.counter.get_lock():
            self.counter.value += 1
        return super().__getitem__(i)


def test_batches_are_prepared_while_the_caller_works() -> None:
    counter = multiprocessing.get_context("fork").Value("i", 0)
    it = iter(D.DataLoader(Recording(40, counter), batch_size=2, num_workers=2))
    next(it)
    deadline = time.monotonic() + 10
    while counter.value < 8 and time.monotonic() < deadline:  # 2 workers x 2 batches ahead
        time.sleep(0.01)
    assert counter.value >= 8  # built without the caller asking for them
    it.close()  # leaving early stops the workers (checked by the fixture)


def worker_info_dataset():
    class Info(D.Dataset):
        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int):
            info = D.get_worker_info()
            return np.array([-1 if info is None else info.idx, -1 if info is None else info.worker])

    return Info()


def test_get_worker_info() -> None:
    assert D.get_worker_info() is None
    # a sample that is one array gives a batch that is one array, as in MegEngine
    rows = np.concatenate(list(D.DataLoader(worker_info_dataset(), batch_size=1, num_workers=2)))
    assert rows.tolist() == [[0, 2], [1, 2], [0, 2], [1, 2]]  # batch k goes to worker k % 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_workers=-1), "num_workers must be an integer >= 0"),
        (dict(num_workers=1.5), "num_workers must be an integer >= 0"),
        (dict(timeout=-1), "timeout must be a number of seconds >= 0"),
    ],
)
def test_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        D.DataLoader(Images(4), **kwargs)
