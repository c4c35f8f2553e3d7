"""``DataLoader``: turns a dataset and a batch sampler into an iterable of numpy batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from engine.data.sampler import RandomSampler, Sampler, SequentialSampler

Batch = tuple[np.ndarray, ...]


def collate(items: Sequence[Any]) -> Batch:
    """Stack a list of samples (tuples of arrays, or single arrays) into a tuple of arrays."""
    if not items:
        raise ValueError("cannot collate an empty batch")
    first = items[0]
    if isinstance(first, tuple | list):
        width = len(first)
        return tuple(np.stack([np.asarray(item[k]) for item in items]) for k in range(width))
    return (np.stack([np.asarray(item) for item in items]),)


class DataLoader:
    """Iterates over a dataset in batches; each batch is a tuple of stacked numpy arrays.

    Without a ``sampler`` a ``SequentialSampler`` (or a ``RandomSampler`` when ``shuffle``)
    is built from ``batch_size``/``drop_last``/``seed``. Datasets with a ``get_batch`` method
    (like ``ArrayDataset``) are fetched with one fancy-index per batch; other datasets are
    indexed per sample and stacked. ``transform`` is applied to every batch tuple.
    With ``device`` (``"gpu0"``, ``"xpux"``, ...) the arrays of each batch, after the
    transform, become engine Tensors on that device: one upload per batch, none per step.
    """

    def __init__(
        self,
        dataset: Any,
        sampler: Sampler | None = None,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        transform: Callable[[Batch], Any] | None = None,
        seed: int | None = None,
        device: str | None = None,
    ) -> None:
        if sampler is None:
            if shuffle:
                sampler = RandomSampler(dataset, batch_size, drop_last, seed=seed)
            else:
                sampler = SequentialSampler(dataset, batch_size, drop_last)
        elif shuffle or batch_size != 1 or drop_last or seed is not None:
            raise ValueError(
                "DataLoader got a sampler together with batch_size/shuffle/drop_last/seed; "
                "configure the sampler instead"
            )
        if transform is not None and not callable(transform):
            raise TypeError("transform must be callable")
        self.dataset = dataset
        self.sampler = sampler
        self.transform = transform
        self.device = device
        if device is not None:
            from engine.core.device import as_device

            as_device(device)  # a bad name fails here, not at the first batch

    def __len__(self) -> int:
        """Number of batches per epoch."""
        return len(self.sampler)

    def __iter__(self) -> Iterator[Any]:
        """Yield the batches of one epoch."""
        for indices in self.sampler:
            batch = self.fetch(indices)
            if self.transform is not None:
                batch = self.transform(batch)
            yield batch if self.device is None else _to_device(batch, self.device)

    def fetch(self, indices: Sequence[int]) -> Batch:
        """Return the stacked batch for ``indices``."""
        get_batch = getattr(self.dataset, "get_batch", None)
        if get_batch is not None:
            return tuple(get_batch(indices))
        return collate([self.dataset[i] for i in indices])


def _to_device(batch: Any, device: str) -> Any:
    """Arrays (in a tuple, list or dict) as Tensors on `device`; other values unchanged."""
    from engine.tensor import Tensor

    if isinstance(batch, np.ndarray):
        return Tensor(batch, device=device)
    if isinstance(batch, tuple | list):
        return type(batch)(_to_device(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: _to_device(value, device) for key, value in batch.items()}
    return batch
