"""Fixtures for the DataLoader worker tests: a hang fails its test, no worker outlives it."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Iterator

import pytest

DEADLINE_SECONDS = 30


@pytest.fixture
def workers_end_cleanly() -> Iterator[None]:
    """Fail (instead of hanging) after DEADLINE_SECONDS; afterwards no child process is left."""

    def expire(*_):
        raise TimeoutError(f"test exceeded {DEADLINE_SECONDS} s: the DataLoader hung")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(DEADLINE_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)
    assert multiprocessing.active_children() == []  # no worker outlives its loader
