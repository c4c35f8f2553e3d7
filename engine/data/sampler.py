"""Batch samplers: each iteration yields the list of dataset indices for one batch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sized
from typing import Any

import numpy as np


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return int(batch_size)


class Sampler(ABC):
    """Base class: splits an epoch's index order into batches of ``batch_size`` indices."""

    def __init__(self, dataset: Sized, batch_size: int = 1, drop_last: bool = False) -> None:
        self.batch_size = _check_batch_size(batch_size)
        self.drop_last = bool(drop_last)
        self.num_samples = len(dataset)

    @abstractmethod
    def order(self) -> np.ndarray:
        """Return the index order for a new epoch (called once per ``iter()``)."""

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self.drop_last:
            return self.num_samples // self.batch_size
        return (self.num_samples + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        """Start an epoch: fix its order now, then yield one list of indices per batch."""
        return self._batches(self.order())

    def _batches(self, order: np.ndarray) -> Iterator[list[int]]:
        stop = len(self) * self.batch_size
        for start in range(0, stop, self.batch_size):
            yield order[start : start + self.batch_size].tolist()


class SequentialSampler(Sampler):
    """Yields indices ``0..n-1`` in order, ``batch_size`` at a time."""

    def order(self) -> np.ndarray:
        """Return ``arange(n)``."""
        return np.arange(self.num_samples)


class RandomSampler(Sampler):
    """Yields a fresh random permutation each epoch, drawn as MegEngine 1.13 draws it.

    The sampler owns a ``np.random.RandomState(seed)`` and takes ``permutation(n)`` from it
    once per epoch, so a seed gives MegEngine's batches epoch after epoch. ``seed=None`` is
    MegEngine's default: a generator seeded from the operating system, different every run;
    pass ``seed=seed_from_engine_random()`` to make ``engine.random.seed(n)`` decide the order.
    ``state_dict()`` captures the generator state that will produce the *next* epoch's order,
    so saving after an epoch and loading it into a new sampler continues with exactly the
    order an uninterrupted run would use.
    """

    def __init__(
        self,
        dataset: Sized,
        batch_size: int = 1,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last)
        self.seed = None if seed is None else _check_seed(seed)
        self._rng = np.random.RandomState(self.seed)
        self.epoch = 0

    def order(self) -> np.ndarray:
        """Return a new permutation of ``0..n-1`` and advance the epoch counter."""
        self.epoch += 1
        return self._rng.permutation(self.num_samples)

    def state_dict(self) -> dict[str, Any]:
        """Return ``{"epoch", "seed", "rng"}``; ``rng`` is the MT19937 state as a plain dict."""
        return {"epoch": self.epoch, "seed": self.seed, "rng": self._rng.get_state(legacy=False)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the generator state and epoch counter saved by ``state_dict()``."""
        missing = {"epoch", "rng"} - set(state)
        if missing:
            raise KeyError(f"RandomSampler state is missing {sorted(missing)}")
        self._rng.set_state(state["rng"])
        self.epoch = int(state["epoch"])
        self.seed = state.get("seed", self.seed)


class ReplacementSampler(RandomSampler):
    """Draws ``num_samples`` indices with replacement each epoch, optionally weighted.

    ``weights`` (one per sample, need not sum to 1) make index ``i`` come up with probability
    ``weights[i] / sum(weights)``. Each epoch is MegEngine 1.13's draw,
    ``RandomState(seed).choice(n, num_samples, replace=True, p=weights)``; seeding and
    ``state_dict()`` work as in ``RandomSampler``.
    """

    def __init__(
        self,
        dataset: Sized,
        batch_size: int = 1,
        drop_last: bool = False,
        num_samples: int | None = None,
        weights: Any = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, seed=seed)
        self.population = len(dataset)
        if num_samples is not None:
            self.num_samples = _check_count("num_samples", num_samples)
        self.weights = None if weights is None else _probabilities(weights, self.population)

    def order(self) -> np.ndarray:
        """Return ``num_samples`` indices drawn with replacement and advance the epoch."""
        self.epoch += 1
        n, size = self.population, self.num_samples
        return self._rng.choice(n, size=size, replace=True, p=self.weights)


def seed_from_engine_random() -> int:
    """A sampler seed drawn from ``engine.random``'s generator (one ``RandomState`` accepts)."""
    from engine.random import get_rng

    return int(get_rng().integers(2**32))


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be between 0 and 2**32 - 1, got {seed}")
    return int(seed)


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} should be a positive integer, got {name}={value!r}")
    return int(value)


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
