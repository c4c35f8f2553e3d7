"""The random stream of data-pipeline work: one Generator per batch.

A DataLoader derives each batch's Generator from (its seed, the epoch, the batch's position),
so random transforms draw the same numbers whether the batch is prepared in the main
process or in any worker process. Outside a loader, transforms draw from engine.random.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

_current: list[np.random.Generator] = []


def current_rng() -> np.random.Generator:
    """The Generator random transforms draw from right now."""
    if _current:
        return _current[-1]
    from engine.random import get_rng

    return get_rng()


def batch_generator(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The Generator of batch number `batch` in `epoch` of a loader seeded with `seed`."""
    return np.random.default_rng([seed, epoch, batch])


@contextmanager
def drawing_from(rng: np.random.Generator) -> Iterator[np.random.Generator]:
    """Make `rng` the one random transforms use inside the block."""
    _current.append(rng)
    try:
        yield rng
    finally:
        _current.pop()


__all__ = ["batch_generator", "current_rng", "drawing_from"]
