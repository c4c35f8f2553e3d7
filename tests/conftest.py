"""Fixtures shared by all test folders: the simulated second device."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.core.device import Device, as_device
from engine.testing import simulated


@pytest.fixture
def sim_device() -> Iterator[Device]:
    """`sim0`, a simulated device whose arrays refuse implicit host conversion (a test aid)."""
    simulated.install()
    simulated.TRANSFERS.reset()
    yield as_device("sim0")
