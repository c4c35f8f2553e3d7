"""``DataLoader``: turns a dataset and a sampler into an iterable of batches, like MegEngine."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from itertools import count, repeat
from typing import Any

import numpy as np

from engine.data.collator import Collator
from engine.data.dataset import StreamDataset
from engine.data.sampler import (
    RandomSampler,
    Sampler,
    SequentialSampler,
    StreamSampler,
    group_size,
    seed_from_engine_random,
)
from engine.data.seeding import batch_generator, drawing_from
from engine.data.transform.meta_transform import Transform
from engine.data.workers import Exhausted, SampleError, run_workers

_END = object()


class DataLoader:
    """Iterates over a dataset in batches: samples -> ``transform`` -> ``collator`` -> batch.

    The positional arguments are MegEngine's. Without a ``sampler`` a ``SequentialSampler``
    (or a ``RandomSampler`` when ``shuffle``) is built from the keyword-only
    ``batch_size``/``drop_last``/``seed``; a ``StreamDataset`` is read ``batch_size`` samples
    at a time (or as a ``StreamSampler`` says). The default ``Collator`` stacks each field:
    tuple samples give a list of arrays, dict samples a dict.

    ``transform`` is either a ``engine.data.transform.Transform``, applied to every sample
    before collating (MegEngine's way), or any callable, applied to each collated batch.
    Random transforms draw from a generator derived from (``seed``, epoch, batch position),
    so ``num_workers`` never changes the batches. Datasets with a ``get_batch`` method (like
    ``ArrayDataset``) are fetched with one fancy-index per batch when nothing per-sample runs.

    ``num_workers > 0`` prepares batches in that many worker processes, up to two per worker
    ahead of the training loop. For a ``StreamDataset`` the main process reads the stream and
    the workers transform and collate, so the batches are those of ``num_workers=0``; with
    ``parallel_stream=True`` every worker iterates the dataset itself (shard it by
    ``get_worker_info().idx``, or each worker yields all of it) and batch k comes from worker
    k % num_workers until a worker's stream ends. ``timeout`` (seconds, 0 = wait forever)
    bounds the wait for a worker's batch; a stream read in the main process that took longer
    raises once it returns. With ``device`` (``"gpu0"``, ...) the arrays of each batch become
    engine Tensors on that device; ``preload=True`` does so on the default device (unless
    ``device`` names one) and moves the next batch there before the current one is used.
    """

    def __init__(
        self,
        dataset: Any,
        sampler: Sampler | StreamSampler | None = None,
        transform: Transform | Callable[[Any], Any] | None = None,
        collator: Collator | None = None,
        num_workers: int = 0,
        timeout: float = 0.0,
        preload: bool = False,
        parallel_stream: bool = False,
        *,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        device: str | None = None,
    ) -> None:
        self.stream = isinstance(dataset, StreamDataset)
        if sampler is None:
            if self.stream and shuffle:
                raise ValueError("a StreamDataset cannot be shuffled: it has no indices")
            if self.stream:
                sampler = StreamSampler(batch_size, drop_last)
            elif shuffle:
                # unlike a bare RandomSampler(seed=None), engine.random.seed(n) decides the order;
                # across ranks it is the sampler's seed 0, so their shares never overlap
                order_seed = seed
                if seed is None and group_size() == 1:
                    order_seed = seed_from_engine_random()
                sampler = RandomSampler(dataset, batch_size, drop_last, seed=order_seed)
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
        if collator is None:
            collator = Collator()
        elif not callable(getattr(collator, "apply", None)):
            raise TypeError(
                "collator must have an apply(samples) method, like engine.data.collator.Collator"
            )
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers must be an integer >= 0, got {num_workers!r}")
        if not isinstance(timeout, int | float) or timeout < 0:
            raise ValueError(f"timeout must be a number of seconds >= 0, got {timeout!r}")
        self.dataset = dataset
        self.sampler = sampler
        self.transform = transform
        self.collator = collator
        self.num_workers = num_workers
        self.timeout = float(timeout)
        self.preload = bool(preload)
        self.parallel_stream = bool(parallel_stream)
        self.device = device
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
            epoch = next(self._epochs)
            build = _Builder(self, epoch)
            if self.num_workers and self.parallel_stream:
                build, tasks = _OwnStream(self, epoch), repeat(None)
            else:  # this process reads the stream; the tasks are the samples of each batch
                tasks = iter(_StreamReader(self, "stream sample {}", self.timeout).next_batch, None)
        else:
            tasks = iter(self.sampler)  # fixes this epoch's order (and advances its epoch)
            epoch = getattr(self.sampler, "epoch", None)
            build = _Builder(self, epoch if epoch is not None else next(self._epochs))
        if self.num_workers:
            prepared = run_workers(build, tasks, self.num_workers, self.seed, self.timeout)
        else:
            prepared = (build(position, task) for position, task in enumerate(tasks))
        return self._deliver(prepared)

    def _deliver(self, prepared: Iterator[Any]) -> Iterator[Any]:
        device = self.device
        if device is None and self.preload:
            from engine.core.device import get_default_device

            device = get_default_device()
        try:
            if device is None:
                yield from prepared
                return
            batches = (_to_device(batch, device) for batch in prepared)
            if not self.preload:
                yield from batches
                return
            ahead = next(batches, _END)
            while ahead is not _END:
                current, ahead = ahead, next(batches, _END)  # the next one is on the device
                yield current
        finally:
            prepared.close()  # an epoch left early stops its workers now

    def fetch(self, indices: Sequence[int]) -> Any:
        """The collated batch for ``indices`` (before any batch transform)."""
        get_batch = getattr(self.dataset, "get_batch", None)
        if get_batch is not None and type(self.collator) is Collator:
            # one fancy-index per array gives the arrays the Collator would stack from the rows
            try:
                return [np.ascontiguousarray(array) for array in get_batch(indices)]
            except Exception as exc:
                raise SampleError.naming(f"samples {list(indices)}", exc) from exc
        return self.collator.apply(self._samples(indices))

    def _samples(self, indices: Sequence[int]) -> list[Any]:
        samples = []
        for i in indices:
            try:
                samples.append(self.dataset[i])
            except Exception as exc:
                raise SampleError.naming(f"sample {i}", exc) from exc
        return samples

    def _finish(self, samples: list[Any] | None, indices: Any, epoch: int, position: int) -> Any:
        """Transform and collate one batch, drawing from this batch's own random stream."""
        with drawing_from(batch_generator(self.seed, epoch, position)):
            if isinstance(self.transform, Transform):
                samples = self._samples(indices) if samples is None else samples
                try:
                    samples = list(self.transform.apply_batch(samples))
                except Exception as exc:
                    where = f"stream batch {position}"
                    if indices is not None:
                        where = f"samples {list(indices)}"
                    raise SampleError.naming(f"{where} (in the transform)", exc) from exc
                return self.collator.apply(samples)
            batch = self.collator.apply(samples) if samples is not None else self.fetch(indices)
            return batch if self.transform is None else self.transform(batch)


class _Builder:
    """Builds batch `position` of one epoch: the same code in the main process and workers."""

    def __init__(self, loader: DataLoader, epoch: int) -> None:
        self.loader = loader
        self.epoch = epoch

    def __call__(self, position: int, task: Any) -> Any:
        """`task` is the batch's indices, or the samples read from a stream."""
        if self.loader.stream:
            return self.loader._finish(task, None, self.epoch, position)
        return self.loader._finish(None, task, self.epoch, position)


class _OwnStream(_Builder):
    """``parallel_stream``: a worker reads the next batch from its own iterator over the data."""

    reader: _StreamReader | None = None

    def __call__(self, position: int, task: Any) -> Any:
        """Batch `position` from this worker's stream; Exhausted once that stream has ended."""
        if self.reader is None:  # the first batch asked of this worker, in its own process
            self.reader = _StreamReader(self.loader, "sample {} of its stream")
        samples = self.reader.next_batch()
        if samples is None:
            raise Exhausted
        return super().__call__(position, samples)


class _StreamReader:
    """Reads a StreamDataset one batch at a time, naming the sample that failed to come."""

    def __init__(self, loader: DataLoader, name: str, timeout: float = 0.0) -> None:
        self.samples = iter(loader.dataset)
        self.size = loader.sampler.batch_size
        self.drop_last = loader.sampler.drop_last
        self.name = name
        self.timeout = timeout
        self.read = 0
        self.ended = False

    def next_batch(self) -> list[Any] | None:
        """The samples of the next batch; None when the stream has no batch left."""
        start = time.monotonic()
        batch = []
        while len(batch) < self.size and not self.ended:
            try:
                batch.append(next(self.samples))
            except StopIteration:
                self.ended = True
            except Exception as exc:
                raise SampleError.naming(self.name.format(self.read), exc) from exc
            else:
                self.read += 1
        waited = time.monotonic() - start
        if self.timeout and waited > self.timeout:
            raise RuntimeError(
                f"DataLoader timed out: reading a batch from the stream took {waited:.1f} s "
                f"(timeout {self.timeout} s)"
            )
        if not batch or (self.drop_last and len(batch) < self.size):
            return None
        return batch


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
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple
        return type(batch)(*(_to_device(item, device) for item in batch))
    if isinstance(batch, tuple | list):
        return type(batch)(_to_device(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: _to_device(value, device) for key, value in batch.items()}
    return batch
