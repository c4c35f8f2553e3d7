"""Engine tests print reprs with `device=xpux:0`: run each with MegEngine's default device."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import engine as mge


@pytest.fixture(autouse=True)
def default_device_xpux() -> Iterator[None]:
    """Start every engine test on 'xpux' and restore whatever default was set before."""
    before = mge.get_default_device()
    mge.set_default_device("xpux")
    yield
    mge.set_default_device(before)
