"""Datasets: map-style ``Dataset``, ``ArrayDataset`` and ``ConcatDataset``; ``StreamDataset``."""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


class Dataset(ABC):
    """A map-style dataset: ``len(ds)`` samples, ``ds[i]`` returns sample ``i``."""

    @abstractmethod
    def __getitem__(self, index: int) -> Any:
        """Return the sample at ``index``."""

    @abstractmethod
    def __len__(self) -> int:
        """Return the number of samples."""


class ArrayDataset(Dataset):
    """Rows of one or more arrays that share their first dimension (e.g. features and labels)."""

    def __init__(self, *arrays: ArrayLike) -> None:
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        converted = tuple(np.asarray(a) for a in arrays)
        for position, array in enumerate(converted):
            if array.ndim == 0:
                raise ValueError(
                    f"ArrayDataset array {position} is a scalar; it needs a first axis"
                )
        lengths = [len(a) for a in converted]
        if len(set(lengths)) != 1:
            raise ValueError(
                "ArrayDataset arrays must have the same first-dimension length, "
                f"got lengths {lengths}"
            )
        self._arrays = converted

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """The underlying arrays."""
        return self._arrays

    def __len__(self) -> int:
        """Return the shared first-dimension length."""
        return len(self._arrays[0])

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        """Return a tuple with row ``index`` of every array."""
        return tuple(a[index] for a in self._arrays)

    def get_batch(self, indices: ArrayLike) -> tuple[np.ndarray, ...]:
        """Return a tuple of stacked rows for integer ``indices`` (one fancy-index per array)."""
        idx = np.asarray(indices)
        if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
            raise ValueError("get_batch expects a 1-D sequence of integer indices")
        idx = idx.astype(np.intp, copy=False)
        return tuple(a[idx] for a in self._arrays)


class StreamDataset(Dataset):
    """A dataset read as a stream: subclasses implement `__iter__`; no length, no indexing.

    A DataLoader reads `batch_size` samples at a time from `iter(dataset)`; the last, shorter
    batch is kept unless the sampler drops it.
    """

    @abstractmethod
    def __iter__(self) -> Iterator[Any]:
        """Yield the samples."""

    def __getitem__(self, index: int) -> Any:
        raise TypeError(f"{type(self).__name__} is a StreamDataset: iterate it, do not index it")

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} is a StreamDataset: it has no length")


class ConcatDataset(Dataset):
    """Several map-style datasets one after another: index `i` runs through them in order."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        for i, dataset in enumerate(self.datasets):
            if isinstance(dataset, StreamDataset):
                raise TypeError(
                    f"ConcatDataset: datasets[{i}] is a StreamDataset, which has no length"
                )
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        """Total number of samples."""
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        """Sample `index` of the concatenation (negative indices count from the end)."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset index {index} is out of range for length {n}")
        if index < 0:
            index += n
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]
