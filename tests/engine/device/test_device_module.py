"""engine.device answers as megengine.device does, and device names parse as MegEngine's do.

Expected names and values were recorded in MegEngine 1.13.0 on a CPU-only machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import engine as mge
import engine.device as device


@pytest.fixture(autouse=True)
def _restore_default() -> Iterator[None]:
    old = device.get_default_device()
    yield
    device.set_default_device(old)


@pytest.mark.parametrize(
    "name, printed, physical",
    [
        ("cpu:0", "cpu0:0", "cpu0:0"),
        ("cpu:1", "cpu0:1", "cpu0:1"),  # without an index, ':N' is the stream
        ("cpu0:0", "cpu0:0", "cpu0:0"),
        ("cpu0", "cpu0:0", "cpu0:0"),
        ("cpu1:2", "cpu1:2", "cpu1:2"),
        ("cpux", "cpux:0", "cpu0:0"),
        ("cpux:1", "cpux:1", "cpu0:1"),
    ],
)
def test_device_names_as_megengine_prints_them(name: str, printed: str, physical: str) -> None:
    x = mge.tensor([1.0], device=name)
    assert str(x.device) == printed
    assert repr(x.device) == f'CompNode("{physical}" from "{printed}")'
    assert repr(x) == f"Tensor([1.], device={printed})"


def test_xpu_colon_stream_without_a_gpu(no_gpu) -> None:
    assert repr(mge.tensor([1.0], device="xpu:0").device) == 'CompNode("cpu0:0" from "xpu0:0")'


@pytest.mark.parametrize("name", ["cpu", "cpu:", "cpu0:", "cpu0:x", ":0"])
def test_names_megengine_refuses(name: str) -> None:
    with pytest.raises(ValueError, match=f"invalid device {name!r}"):
        mge.tensor([1.0], device=name)


def test_to_cpu0_prints_cpu0() -> None:
    y = mge.tensor([1.0]).to("cpu0")
    assert str(y.device) == "cpu0:0" and repr(y) == "Tensor([1.], device=cpu0:0)"
    assert str(mge.tensor([1.0]).to("cpu:0").device) == "cpu0:0"  # MegEngine's to() refuses it


def test_device_counts_without_a_gpu(no_gpu) -> None:
    assert device.get_device_count("gpu") == 0
    assert device.get_device_count("cpu") == os.cpu_count()
    assert device.get_device_count("xpu") == os.cpu_count()
    assert device.get_device_count("rocm") == 0
    assert device.what_is_xpu() == "cpu"
    assert not device.is_cuda_available()
    assert not (device.is_rocm_available() or device.is_atlas_available())
    assert not device.is_cambricon_available()


@pytest.mark.parametrize("kind", ["tpu", "cuda", "GPU", ""])
def test_device_count_of_an_unknown_type(kind: str) -> None:
    with pytest.raises(ValueError, match="device_type must be one of xpu, cpu, gpu, rocm"):
        device.get_device_count(kind)


def test_default_device_round_trip() -> None:
    assert device.get_default_device() == "xpux"
    device.set_default_device("cpu0")
    assert device.get_default_device() == "cpu0"
    assert str(mge.tensor([1.0]).device) == "cpu0:0"
    with pytest.raises(ValueError, match="invalid device 'nope'"):
        device.set_default_device("nope")
    assert device.get_default_device() == "cpu0"


def test_cpu_memory_figures() -> None:
    total, free = device.get_mem_status_bytes("cpu0")
    page = os.sysconf("SC_PAGE_SIZE")
    assert total == os.sysconf("SC_PHYS_PAGES") * page and 0 < free <= total
    # MegEngine reports 0 for the CPU's allocator figures
    assert device.get_allocated_memory("cpu0") == 0
    assert device.get_reserved_memory("cpu0") == 0
    assert device.coalesce_free_memory() is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: device.get_cuda_compute_capability(0),
        lambda: device.get_cuda_device_property(0),
        device.get_cuda_version,
        device.get_cuda_driver_version,
    ],
    ids=["compute_capability", "device_property", "cuda_version", "driver_version"],
)
def test_cuda_queries_without_a_gpu(no_gpu, call) -> None:
    with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
        call()
