"""engine.device on a real CUDA GPU: counts, memory figures and CUDA versions agree with CuPy."""

from __future__ import annotations

import pytest

import engine as mge
import engine.device as device

pytestmark = pytest.mark.skipif(not mge.is_cuda_available(), reason="needs a real CUDA GPU")


def test_counts_and_xpu() -> None:
    import cupy

    assert device.get_device_count("gpu") == cupy.cuda.runtime.getDeviceCount() >= 1
    assert device.get_device_count("xpu") == device.get_device_count("gpu")
    assert device.what_is_xpu() == "cuda"


def test_memory_figures_follow_an_allocation() -> None:
    device.coalesce_free_memory()
    before = device.get_allocated_memory("gpu0")
    x = mge.tensor([[1.0] * 1024] * 1024, device="gpu0")  # 4 MiB
    assert device.get_allocated_memory("gpu0") >= before + 4 * 1024 * 1024
    assert device.get_reserved_memory("gpu0") >= device.get_allocated_memory("gpu0")
    total, free = device.get_mem_status_bytes("gpu0")
    assert 0 < free < total
    del x


def test_cuda_properties() -> None:
    import cupy

    prop = device.get_cuda_device_property(0)
    cc = cupy.cuda.Device(0).compute_capability  # "90" for sm_90
    assert device.get_cuda_compute_capability(0) == int(cc)
    assert prop["totalGlobalMem"] > 0
    assert device.get_cuda_version() == cupy.cuda.runtime.runtimeGetVersion()
    with pytest.raises(ValueError, match="device must be a GPU number"):
        device.get_cuda_device_property(99)
