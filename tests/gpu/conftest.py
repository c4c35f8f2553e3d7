"""The GPU suite: skipped unless CuPy imports and a CUDA GPU answers.

Set MGE_TEST_GPU=sim0 to dry-run the whole suite on the simulated device (no GPU needed).
"""

from __future__ import annotations

import os

import pytest

import engine
from engine.testing import simulated

DEVICE = os.environ.get("MGE_TEST_GPU", "gpu0")


def _usable() -> bool:
    if DEVICE.startswith("sim"):
        simulated.install()
        return True
    return engine.is_cuda_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this folder's tests when there is no GPU to run them on."""
    if _usable():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA GPU (gpu0)")
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(skip)


@pytest.fixture
def gpu() -> str:
    """The device under test: 'gpu0' (or MGE_TEST_GPU)."""
    return DEVICE
