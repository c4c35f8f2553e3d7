"""The training set's batches: a batch size beyond the data is one batch of all of it."""

from __future__ import annotations

import numpy as np
import pytest

import engine.random
from engine.core.device import as_device
from mgectl.train.batches import Batches


def epoch_labels(batch_size: int, shuffle: bool) -> list[list[int]]:
    """Labels of each batch of one epoch over 10 samples, engine.random seeded with 3."""
    x = np.arange(20, dtype="float32").reshape(10, 2)
    engine.random.seed(3)
    batches = Batches(x, np.arange(10), batch_size, shuffle, as_device("cpu0"))
    return [b.labels.tolist() for b in batches]


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_batch_larger_than_the_data_is_all_of_it(shuffle: bool) -> None:
    # the engine's samplers, like MegEngine's, refuse batch_size > len(dataset)
    whole = epoch_labels(10, shuffle)
    assert len(whole) == 1 and sorted(whole[0]) == list(range(10))
    assert epoch_labels(64, shuffle) == whole
