"""``DataLoader``: turns a dataset and a batch sampler into an iterable of numpy batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import count
from typing import Any

import numpy as np

from engine.data.dataset import StreamDataset
from engine.data.sampler import RandomSampler, Sampler, SequentialSampler, StreamSampler
from engine.data.seeding import batch_generator, drawing_from
from engine.data.transform.meta_transform import Transform
from engine.data.workers import SampleError, run_workers

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
    is built from ``batch_size``/``drop_last``/``seed``; a ``StreamDataset`` is read
    ``batch_size`` samples at a time (or as a ``StreamSampler`` says).

    ``transform`` is either a ``engine.data.transform.Transform``, applied to every sample
    before the samples are stacked (MegEngine's way), or any callable, applied to each
    stacked batch tuple. Random transforms draw from a generator derived from
    (``seed``, epoch, batch position), so ``num_workers`` never changes the batches.
    Datasets with a ``get_batch`` method (like ``ArrayDataset``) are fetched with one
    fancy-index per batch unless a per-sample ``Transform`` needs the samples.

    ``num_workers > 0`` prepares batches in that many worker processes, up to two per worker
    ahead of the training loop; ``timeout`` (seconds, 0 = wait forever) bounds the wait for
    one batch. With ``device`` (``"gpu0"``, ``"xpux"``, ...) the arrays of each batch
    become engine Tensors on that device: one upload per batch, none per step.
    """

    def __init__(
        self,
        dataset: Any,
        sampler: Sampler | StreamSampler | None = None,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        transform: Transform | Callable[[Batch], Any] | None = None,
        seed: int | None = None,
        device: str | None = None,
        num_workers: int = 0,
        timeout: float = 0.0,
    ) -> None:
        self.stream = isinstance(dataset, StreamDataset)
        if sampler is None:
            if self.stream and shuffle:
                raise ValueError("a StreamDataset cannot be shuffled: it has no indices")
            if self.stream:
                sampler = StreamSampler(batch_size, drop_last)
            elif shuffle:
                sampler = RandomSampler(dataset, batch_size, drop_last, seed=seed)
            else:
                sampler = SequentialSampler(dataset, batch_size, drop_last)
        elif shuffle or batch_size != 1 or drop_last or (seed is not None and not self.stream):
            raise ValueError(
                "DataLoader got a sampler together with batch_size/shuffle/drop_last/seed; "
                "configure the sampler instead"
            )
        if self.stream != isinstance(sampler, StreamSampler):
            raise TypeError(
                "a StreamDataset needs a StreamSampler, and a StreamSampler a StreamDataset"
            )
        if (
            transform is not None
            and not callable(transform)
            and not isinstance(transform, Transform)
        ):
            raise TypeError("transform must be an engine.data.transform.Transform or a callable")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers must be an integer >= 0, got {num_workers!r}")
        if num_workers and self.stream:
            raise ValueError("num_workers > 0 is not supported for a StreamDataset; use 0")
        if not isinstance(timeout, int | float) or timeout < 0:
            raise ValueError(f"timeout must be a number of seconds >= 0, got {timeout!r}")
        self.dataset = dataset
        self.sampler = sampler
        self.transform = transform
        self.device = device
        self.num_workers = num_workers
        self.timeout = float(timeout)
        self.seed = seed if seed is not None else _draw_seed(transform)
        self._epochs = count(1)
        if device is not None:
            from engine.core.device import as_device

            as_device(device)  # a bad name fails here, not at the first batch

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self.stream:
            raise TypeError("a DataLoader over a StreamDataset has no length")
        return len(self.sampler)

    def __iter__(self) -> Iterator[Any]:
        """Yield the batches of one epoch."""
        if self.stream:
            return self._stream_batches()
        batches = iter(self.sampler)  # fixes this epoch's order (and advances its epoch)
        epoch = getattr(self.sampler, "epoch", None)
        epoch = next(self._epochs) if epoch is None else epoch
        build = _Builder(self, epoch)
        if self.num_workers:
            prepared = run_workers(build, batches, self.num_workers, self.seed, self.timeout)
        else:
            prepared = (build(position, indices) for position, indices in enumerate(batches))
        return self._deliver(prepared)

    def _deliver(self, prepared: Iterator[Any]) -> Iterator[Any]:
        for batch in prepared:
            yield batch if self.device is None else _to_device(batch, self.device)

    def _stream_batches(self) -> Iterator[Any]:
        size, drop_last = self.sampler.batch_size, self.sampler.drop_last
        epoch = next(self._epochs)
        samples = iter(self.dataset)
        for position in count():
            chunk = [s for _, s in zip(range(size), samples, strict=False)]
            if not chunk or (drop_last and len(chunk) < size):
                return
            batch = self._finish(chunk, None, epoch, position)
            yield batch if self.device is None else _to_device(batch, self.device)

    def fetch(self, indices: Sequence[int]) -> Batch:
        """Return the stacked batch for ``indices`` (before any transform)."""
        get_batch = getattr(self.dataset, "get_batch", None)
        if get_batch is not None:
            try:
                return tuple(get_batch(indices))
            except Exception as exc:
                raise SampleError.naming(f"samples {list(indices)}", exc) from exc
        return collate(self._samples(indices))

    def _samples(self, indices: Sequence[int]) -> list[Any]:
        samples = []
        for i in indices:
            try:
                samples.append(self.dataset[i])
            except Exception as exc:
                raise SampleError.naming(f"sample {i}", exc) from exc
        return samples

    def _finish(self, samples: list[Any] | None, indices: Any, epoch: int, position: int) -> Any:
        """Transform and stack one batch, drawing from this batch's own random stream."""
        with drawing_from(batch_generator(self.seed, epoch, position)):
            if isinstance(self.transform, Transform):
                samples = self._samples(indices) if samples is None else samples
                try:
                    samples = list(self.transform.apply_batch(samples))
                except Exception as exc:
                    where = f"samples {list(indices)}" if indices is not None else "a stream batch"
                    raise SampleError.naming(f"{where} (in the transform)", exc) from exc
                return collate(samples)
            batch = collate(samples) if samples is not None else self.fetch(indices)
            return batch if self.transform is None else self.transform(batch)


class _Builder:
    """Builds batch `position` of one epoch: the same code in the main process and workers."""

    def __init__(self, loader: DataLoader, epoch: int) -> None:
        self.loader = loader
        self.epoch = epoch

    def __call__(self, position: int, indices: list[int]) -> Any:
        return self.loader._finish(None, indices, self.epoch, position)


def _draw_seed(transform: Any) -> int:
    """A seed for per-sample transforms from engine.random (0 when nothing random can run)."""
    if transform is None:
        return 0
    from engine.random import get_rng

    return int(get_rng().integers(2**63))


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
