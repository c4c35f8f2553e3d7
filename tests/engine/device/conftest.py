"""Fixtures for device tests: pretend this machine has no GPU, whatever it has."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.core import device as device_mod


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pretend CuPy is missing, whatever this machine has."""
    monkeypatch.setitem(device_mod._gpu_state, "backend", None)
    monkeypatch.delitem(device_mod._backends, "gpu", raising=False)
    device_mod._cache.clear()
    yield
    device_mod._cache.clear()
