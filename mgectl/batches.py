"""The training set as batches on the device: one full batch, or a DataLoader with a sampler."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

import engine as mge
from engine.core.device import Device
from engine.data import ArrayDataset, DataLoader, RandomSampler, SequentialSampler

Batch = tuple[mge.Tensor, mge.Tensor, np.ndarray]  # features, labels on the device; labels on host


class Batches:
    """Iterates one epoch of (x, y, y_host) batches; each batch crosses to the device once."""

    def __init__(
        self, x: np.ndarray, y: np.ndarray, batch_size: int | str, shuffle: bool, device: Device
    ) -> None:
        self.device = device
        self.sampler: Any = None
        self.full: Batch | None = None
        if batch_size == "full":
            # a full-batch gradient does not depend on the order, so there is nothing to
            # shuffle: the data moves to the device once for the whole run
            self.full = (mge.tensor(x, device=device), mge.tensor(y, device=device), y)
            return
        dataset = ArrayDataset(x, y)
        if shuffle:
            self.sampler = RandomSampler(dataset, int(batch_size))  # seeded from engine.random
        else:
            self.sampler = SequentialSampler(dataset, int(batch_size))
        self.loader = DataLoader(dataset, sampler=self.sampler)

    def __len__(self) -> int:
        """Steps per epoch."""
        return 1 if self.full is not None else len(self.loader)

    def __iter__(self) -> Iterator[Batch]:
        """The batches of one epoch, in the sampler's order."""
        if self.full is not None:
            yield self.full
            return
        for x, y in self.loader:
            yield mge.tensor(x, device=self.device), mge.tensor(y, device=self.device), y

    @property
    def random_sampler(self) -> RandomSampler | None:
        """The sampler whose state a checkpoint must keep, if the order is random."""
        return self.sampler if isinstance(self.sampler, RandomSampler) else None
