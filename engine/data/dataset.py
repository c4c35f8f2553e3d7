"""Map-style datasets: the abstract ``Dataset`` and the in-memory ``ArrayDataset``."""

from __future__ import annotations

from abc import ABC, abstractmethod
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
