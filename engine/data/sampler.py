"""Batch samplers: each iteration yields the list of dataset indices for one batch."""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence, Sized
from typing import Any

import numpy as np


def _check_batch_size(batch_size: Any) -> int:
    if _not_int(batch_size) or batch_size < 1:
        raise ValueError(
            f"batch_size should be a positive integer value, but got batch_size={batch_size}"
        )
    return int(batch_size)


class Sampler(ABC):
    """Base class (MegEngine's ``MapSampler``): one epoch's index order, cut into batches.

    ``num_samples`` (default ``len(dataset)``) counts the indices of all ranks; each of the
    ``world_size`` ranks gets ``ceil(num_samples / world_size)`` of them, and that share is
    what ``self.num_samples``, ``len()`` and the batch-size check use. ``world_size`` and
    ``rank`` default to ``engine.distributed``'s once ``init_process_group()`` has run, else
    1 and 0.
    """

    def __init__(
        self,
        dataset: Sized,
        batch_size: int = 1,
        drop_last: bool = False,
        num_samples: int | None = None,
        world_size: int | None = None,
        rank: int | None = None,
    ) -> None:
        self.batch_size = _check_batch_size(batch_size)
        self.drop_last = _check_drop_last(drop_last)
        total = len(dataset) if num_samples is None else _check_num_samples(num_samples)
        self.population = len(dataset)
        self.world_size, self.rank = _world(world_size, rank)
        self.num_samples = -(-total // self.world_size)  # this rank's share, rounded up
        self._check_enough_samples()

    def _check_enough_samples(self) -> None:
        if self.num_samples < self.batch_size:  # MegEngine's words, its odd comma included
            raise ValueError(
                "num_samples should be greater than batch_size , but got "
                f"num_samples={self.num_samples} and batch_size={self.batch_size}"
            )

    @abstractmethod
    def order(self) -> np.ndarray:
        """Return the index order of a new epoch, all ranks' (called once per ``iter()``)."""

    def __len__(self) -> int:
        """Number of batches per epoch, counted from ``num_samples`` (as MegEngine counts)."""
        if self.drop_last:
            return self.num_samples // self.batch_size
        return (self.num_samples + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        """Start an epoch: fix its order now, then yield one list of indices per batch."""
        return self._batches(self.order())

    def scatter(self, order: np.ndarray) -> np.ndarray:
        """This rank's share of ORDER: every ``world_size``-th index, starting at ``rank``.

        As MegEngine does, ORDER is first padded to ``num_samples * world_size`` by repeating
        its head, so every rank gets ``num_samples`` indices.
        """
        total = self.num_samples * self.world_size
        _check_scatter(len(order), total)
        if len(order) == 0:
            return order
        # np.resize repeats ORDER from its start: MegEngine's padding, which also works where
        # MegEngine's would need more than one copy of the head
        return np.resize(order, total)[self.rank :: self.world_size]

    def _batches(self, order: np.ndarray) -> Iterator[list[int]]:
        if self.world_size > 1:
            order = self.scatter(order)
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield order[start : start + self.batch_size].tolist()


class SequentialSampler(Sampler):
    """Yields indices ``0..n-1`` (or ``indices``) in order, ``batch_size`` at a time.

    ``indices`` replaces the order, not the count: ``len()`` still counts ``len(dataset)``
    samples, as MegEngine's does.
    """

    def __init__(
        self,
        dataset: Sized,
        batch_size: int = 1,
        drop_last: bool = False,
        indices: Sequence[int] | None = None,
        world_size: int | None = None,
        rank: int | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, None, world_size, rank)
        self.indices = _check_indices(indices, self)

    def order(self) -> np.ndarray:
        """Return ``arange(n)``, or ``indices`` as they are."""
        if self.indices is None:
            return np.arange(self.population)
        return np.asarray(self.indices)


class _SeededSampler(Sampler):
    """A sampler whose epochs draw from its own ``np.random.RandomState``, which it can save."""

    def __init__(
        self,
        dataset: Sized,
        batch_size: int = 1,
        drop_last: bool = False,
        num_samples: int | None = None,
        world_size: int | None = None,
        rank: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, num_samples, world_size, rank)
        if seed is None and self.world_size > 1:
            seed = 0  # as MegEngine: the ranks split one order, so they must all draw it
        self.seed = None if seed is None else _check_seed(seed)
        self._rng = np.random.RandomState(self.seed)
        self.epoch = 0

    def state_dict(self) -> dict[str, Any]:
        """Return ``{"epoch", "seed", "rng"}``; ``rng`` is the MT19937 state as a plain dict."""
        return {"epoch": self.epoch, "seed": self.seed, "rng": self._rng.get_state(legacy=False)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the generator state and epoch counter saved by ``state_dict()``."""
        missing = {"epoch", "rng"} - set(state)
        if missing:
            raise KeyError(f"{type(self).__name__} state is missing {sorted(missing)}")
        self._rng.set_state(state["rng"])
        self.epoch = int(state["epoch"])
        self.seed = state.get("seed", self.seed)


class RandomSampler(_SeededSampler):
    """Yields a fresh random permutation each epoch, drawn as MegEngine 1.13 draws it.

    The sampler owns a ``np.random.RandomState(seed)`` and takes ``permutation(n)`` (or
    ``permutation(indices)``) from it once per epoch, so a seed gives MegEngine's batches
    epoch after epoch. ``seed=None`` is MegEngine's default: a generator seeded from the
    operating system, different every run (seed 0 when ``world_size > 1``, so that all ranks
    agree); pass ``seed=seed_from_engine_random()`` to make ``engine.random.seed(n)`` decide
    the order. ``state_dict()`` captures the generator state that will produce the *next*
    epoch's order, so saving after an epoch and loading it into a new sampler continues with
    exactly the order an uninterrupted run would use.
    """

    def __init__(
        self,
        dataset: Sized,
        batch_size: int = 1,
        drop_last: bool = False,
        indices: Sequence[int] | None = None,
        world_size: int | None = None,
        rank: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, None, world_size, rank, seed)
        self.indices = _check_indices(indices, self)

    def order(self) -> np.ndarray:
        """Return a new permutation of ``0..n-1`` (or of ``indices``); advance the epoch."""
        self.epoch += 1
        return self._rng.permutation(self.population if self.indices is None else self.indices)


class ReplacementSampler(_SeededSampler):
    """Draws ``num_samples`` indices with replacement each epoch, optionally weighted.

    ``weights`` (one per sample, need not sum to 1) make index ``i`` come up with probability
    ``weights[i] / sum(weights)``. Each epoch is MegEngine 1.13's draw,
    ``RandomState(seed).choice(n, num_samples, replace=True, p=weights)`` (``num_samples``
    rounded up to a multiple of ``world_size``, then scattered); seeding and ``state_dict()``
    work as in ``RandomSampler``.
    """

    def __init__(
        self,
        dataset: Sized,
        batch_size: int = 1,
        drop_last: bool = False,
        num_samples: int | None = None,
        weights: Any = None,
        world_size: int | None = None,
        rank: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, num_samples, world_size, rank, seed)
        self.weights = None if weights is None else _probabilities(weights, self.population)

    def order(self) -> np.ndarray:
        """Return every rank's indices drawn with replacement and advance the epoch."""
        self.epoch += 1
        size = self.num_samples * self.world_size
        return self._rng.choice(self.population, size=size, replace=True, p=self.weights)


def seed_from_engine_random() -> int:
    """A sampler seed drawn from ``engine.random``'s generator (one ``RandomState`` accepts)."""
    from engine.random import get_rng

    return int(get_rng().integers(2**32))


def _process_group() -> Any:
    """``engine.distributed`` once a process group is initialised, else None."""
    # MegEngine asks only once a process group is initialised; one that was never imported
    # was never initialised, and importing it here would load it for every DataLoader
    dist = sys.modules.get("engine.distributed")
    return dist if dist is not None and dist.get_backend() is not None else None


def group_size() -> int:
    """The number of processes a sampler built now splits its indices across by default."""
    dist = _process_group()
    return 1 if dist is None else int(dist.get_world_size())


def _world(world_size: Any, rank: Any) -> tuple[int, int]:
    """``(world_size, rank)``, those not given from ``engine.distributed``'s process group."""
    dist = _process_group()
    if world_size is None:
        world_size = 1 if dist is None else dist.get_world_size()
    if rank is None:
        rank = 0 if dist is None else dist.get_rank()
    if _not_int(world_size) or world_size < 1:
        raise ValueError(
            f"world_size should be a positive integer, but got world_size={world_size!r}"
        )
    if _not_int(rank) or not 0 <= rank < world_size:
        raise ValueError(
            f"rank should be an integer in [0, world_size={world_size}), but got rank={rank!r}"
        )
    return int(world_size), int(rank)


def _check_indices(indices: Any, sampler: Sampler) -> Sequence[int] | None:
    if indices is None:
        return None
    if not isinstance(indices, Sequence):
        raise ValueError(f"indices should be None or a sequence, but got indices={indices}")
    if sampler.world_size > 1:  # one process takes them all, however many
        _check_scatter(len(indices), sampler.num_samples * sampler.world_size)
    return indices


def _check_scatter(count: int, total: int) -> None:
    if count > total:
        raise ValueError(
            f"{count} indices cannot be scattered: the ranks take world_size * num_samples = "
            f"{total} (num_samples = ceil(len(dataset) / world_size))"
        )


def _not_int(value: Any) -> bool:
    """Whether VALUE is not an integer (Python's or NumPy's; a bool is not one here)."""
    return isinstance(value, bool) or not isinstance(value, int | np.integer)


def _check_drop_last(drop_last: Any) -> bool:
    if not isinstance(drop_last, bool | np.bool_):
        raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
    return bool(drop_last)


def _check_num_samples(num_samples: Any) -> int:
    if _not_int(num_samples) or num_samples < 1:
        raise ValueError(
            f"num_samples should be a positive integer value, but got num_samples={num_samples}"
        )
    return int(num_samples)


def _check_seed(seed: Any) -> int:
    if _not_int(seed):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be between 0 and 2**32 - 1, got {seed}")
    return int(seed)


def _probabilities(weights: Any, n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have one entry per sample ({n}), got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, >= 0 and not all 0")
    return w / sum(w.tolist())  # Python's sum, as MegEngine normalises: the same bits


class Infinite:
    """Wraps a batch sampler and restarts it whenever it runs out: batches never end.

    Attributes it does not have (``batch_size``, ``seed``, ...) are the wrapped sampler's.
    """

    def __init__(self, sampler: Any) -> None:
        if len(sampler) == 0:
            raise ValueError("Infinite needs a sampler that yields at least one batch")
        self.sampler = sampler
        self._batches: Iterator[list[int]] = iter(sampler)

    def __iter__(self) -> Infinite:
        return self

    def __next__(self) -> list[int]:
        try:
            return next(self._batches)
        except StopIteration:
            self._batches = iter(self.sampler)
            return next(self._batches)

    def __len__(self) -> int:
        """The largest int64, as MegEngine reports for an endless sampler."""
        return int(np.iinfo(np.int64).max)

    def __getattr__(self, name: str) -> Any:
        if name == "sampler":  # not set yet (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.sampler, name)


class StreamSampler:
    """Batch size (and drop_last) for reading a ``StreamDataset``: batches have no indices."""

    def __init__(self, batch_size: int = 1, drop_last: bool = False) -> None:
        self.batch_size = _check_batch_size(batch_size)
        self.drop_last = bool(drop_last)
