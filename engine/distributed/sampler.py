"""DistributedSampler: each rank's share of the batches one process would draw.

Every rank draws the same epoch order (same seed), cuts it into global batches of
`batch_size * world_size` indices, and keeps its own slice `[rank*b, (rank+1)*b)` of
each. Rank 0's, rank 1's, ... slices laid end to end are exactly the batch a single
process with batch size `world_size * b` gets, so averaging the gradients of N ranks
("mean" allreduce) is the single-process step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import numpy as np

from ..data.sampler import RandomSampler, seed_from_engine_random
from .group import WORLD, get_rank, get_world_size


class DistributedSampler(RandomSampler):
    """Batches of `batch_size` (per rank) for this rank; shuffled with a seed shared by all ranks.

    With `drop_last=False` the last, short global batch is split as evenly as possible
    (padded from the epoch's start when it has fewer indices than ranks, so no rank gets
    an empty batch); use `drop_last=True` when every step must match a single process.
    `seed=None` draws one seed from rank 0's engine.random generator and broadcasts it.
    """

    def __init__(
        self,
        dataset: Sized,
        batch_size: int = 1,
        drop_last: bool = False,
        shuffle: bool = True,
        seed: int | None = None,
        world_size: int | None = None,
        rank: int | None = None,
    ) -> None:
        world_size = get_world_size() if world_size is None else int(world_size)
        rank = get_rank() if rank is None else int(rank)
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is out of range for a world of {world_size}")
        if seed is None and shuffle:
            seed = _shared_seed(world_size)
        # one order for the whole world (RandomSampler's world of one), cut below by rank
        super().__init__(
            dataset, batch_size, drop_last, world_size=1, rank=0, seed=0 if seed is None else seed
        )
        self.shuffle = bool(shuffle)
        self.world_size = world_size
        self.rank = rank
        self.global_batch_size = self.batch_size * world_size

    def _check_enough_samples(self) -> None:
        pass  # a global batch larger than the dataset is one short batch, split over the ranks

    def order(self) -> np.ndarray:
        """The epoch's order, identical on every rank."""
        if self.shuffle:
            return super().order()
        self.epoch += 1
        return np.arange(self.num_samples)

    def __len__(self) -> int:
        """Number of batches per epoch (the same on every rank)."""
        n, g = self.num_samples, self.global_batch_size
        return n // g if self.drop_last else (n + g - 1) // g

    def _batches(self, order: np.ndarray) -> Iterator[list[int]]:
        b, g, r = self.batch_size, self.global_batch_size, self.rank
        full = (self.num_samples // g) * g
        for start in range(0, full, g):
            yield order[start + r * b : start + (r + 1) * b].tolist()
        if not self.drop_last and full < self.num_samples:
            tail = order[full:]
            if len(tail) < self.world_size:
                tail = np.concatenate([tail, np.resize(order, self.world_size - len(tail))])
            yield np.array_split(tail, self.world_size)[r].tolist()


def _shared_seed(world_size: int) -> int:
    """A seed from rank 0's engine.random generator (as mgectl seeds a RandomSampler), on all."""
    # every rank draws, so every rank's generator stays where a single process's would be;
    # rank 0's draw is the one all of them use
    seed = seed_from_engine_random()
    return seed if world_size == 1 else WORLD.comm.bcast_object(seed, root=0)
