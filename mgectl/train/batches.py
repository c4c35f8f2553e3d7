"""The training set as batches on the device: one full batch, or a DataLoader with a sampler.

With several processes each rank gets its share of every global batch (DistributedSampler):
the ranks' shares laid end to end are the batch one process would draw. `Batch.count` and
`Batch.total` say how much this rank's share weighs in the step, so that a short last batch
split unevenly still averages exactly like one process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

import engine as mge
from engine.core.device import Device
from engine.data import ArrayDataset, DataLoader, RandomSampler, SequentialSampler
from engine.data.sampler import seed_from_engine_random


class Batch(NamedTuple):
    """One step's batch of this rank, and how much of the global batch it holds."""

    x: mge.Tensor  # features on the device
    y: mge.Tensor  # labels on the device
    labels: np.ndarray  # labels on the host
    count: int  # samples of this rank that count in the step (0 for a padding sample)
    total: int  # samples in the step over all ranks


def tail_count(tail: int, rank: int, size: int) -> int:
    """Samples of rank RANK that count in a last batch of TAIL samples split over SIZE ranks.

    Follows DistributedSampler: np.array_split of the tail, padded to one sample per rank
    (padding counts for nothing) when it has fewer samples than ranks.
    """
    if tail < size:
        return 1 if rank < tail else 0
    return tail // size + (1 if rank < tail % size else 0)


class Batches:
    """Iterates one epoch of Batch; each batch crosses to the device once."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int | str,
        shuffle: bool,
        device: Device,
        rank: int = 0,
        size: int = 1,
    ) -> None:
        self.device, self.rank, self.size = device, rank, size
        self.sampler: Any = None
        self.full: Batch | None = None
        n = len(y)
        if batch_size == "full":
            # a full-batch gradient does not depend on the order, so there is nothing to
            # shuffle: the data (this rank's share) moves to the device once for the run
            rows = self._share(n)
            xs, ys = (x, y) if size == 1 else (x[rows], y[rows])
            count = tail_count(n, rank, size)
            on_device = mge.tensor(xs, device=device), mge.tensor(ys, device=device)
            self.full = Batch(*on_device, ys, count, n)
            return
        dataset = ArrayDataset(x, y)
        if size > 1:
            from engine.distributed import DistributedSampler

            # the batch size is this rank's share; the seed is drawn as RandomSampler draws it
            self.sampler = DistributedSampler(dataset, int(batch_size), shuffle=shuffle)
        else:
            # a batch larger than the training set is all of it (MegEngine's samplers, and so
            # ours, refuse batch_size > len(dataset)); the order is the same either way
            size_of_batch = min(int(batch_size), n)
            if shuffle:
                # seeded from engine.random, so the experiment's seed decides the order
                seed = seed_from_engine_random()
                self.sampler = RandomSampler(dataset, size_of_batch, seed=seed)
            else:
                self.sampler = SequentialSampler(dataset, size_of_batch)
        self.loader = DataLoader(dataset, sampler=self.sampler)
        self.global_batch = int(batch_size) * size
        self.full_steps, self.tail = divmod(n, self.global_batch)

    def _share(self, n: int) -> np.ndarray:
        """This rank's rows of a single batch holding all N samples (the sampler's tail rule)."""
        order = np.arange(n)
        if n < self.size:
            order = np.concatenate([order, np.resize(order, self.size - n)])
        return np.array_split(order, self.size)[self.rank]

    def __len__(self) -> int:
        """Steps per epoch."""
        return 1 if self.full is not None else len(self.loader)

    def __iter__(self) -> Iterator[Batch]:
        """The batches of one epoch, in the sampler's order."""
        if self.full is not None:
            yield self.full
            return
        for step, (x, y) in enumerate(self.loader):
            if self.size == 1:
                count = total = len(y)
            elif step < self.full_steps:
                count, total = len(y), self.global_batch
            else:
                count, total = tail_count(self.tail, self.rank, self.size), self.tail
            on_device = mge.tensor(x, device=self.device), mge.tensor(y, device=self.device)
            yield Batch(*on_device, y, count, total)

    @property
    def random_sampler(self) -> RandomSampler | None:
        """The sampler whose state a checkpoint must keep, if the order is random."""
        if isinstance(self.sampler, RandomSampler) and getattr(self.sampler, "shuffle", True):
            return self.sampler
        return None
