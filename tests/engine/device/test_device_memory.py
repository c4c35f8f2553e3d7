"""Memory peaks, reset and the pre-allocation policy of engine.device, on the CPU and a fake GPU.

CPU values were recorded in MegEngine 1.13.0 (CPU build): every allocator figure of 'cpu0' is 0
and reset_max_memory_stats returns None. The GPU path runs against FakePool, a stand-in for
CuPy's MemoryPool (512-byte rounding, cached blocks split for smaller requests, blocks back
to the cache when dropped); its expected numbers are derived by hand in the comments.
"""

from __future__ import annotations

import gc
import types
import weakref
from collections.abc import Iterator

import pytest

import engine.device as device
from engine.core import device as device_mod
from engine.core import gpu_memory
from engine.core.gpu_memory import PoolTracker, PreallocConfig


class Block:
    """A pointer into the pool: the block returns to the cache when this is dropped."""

    def __init__(self, size: int) -> None:
        self.size = size


class FakePool:
    """CuPy's MemoryPool in miniature: used_bytes, total_bytes, a cache of freed blocks."""

    def __init__(self) -> None:
        self.used = 0
        self.total = 0
        self.cache: list[int] = []

    def malloc(self, size: int) -> object:
        size = -(-size // 512) * 512
        fits = [c for c in self.cache if c >= size]
        if fits:
            chunk = min(fits)
            self.cache.remove(chunk)
            if chunk > size:
                self.cache.append(chunk - size)
        else:
            self.total += size
        self.used += size
        block = Block(size)
        weakref.finalize(block, self._free, size)
        return block

    def _free(self, size: int) -> None:
        self.used -= size
        self.cache.append(size)

    def used_bytes(self) -> int:
        return self.used

    def total_bytes(self) -> int:
        return self.total


def test_peaks_follow_the_pool_and_reset_to_current() -> None:
    pool = FakePool()
    tracker = PoolTracker(pool)
    a, b = tracker.malloc(1000), tracker.malloc(3000)  # 1024 + 3072 bytes
    assert (tracker.max_used, tracker.max_reserved) == (4096, 4096)
    del a, b
    gc.collect()
    assert pool.used == 0 and tracker.max_used == 4096  # the peak outlives the arrays
    c = tracker.malloc(512)  # served by splitting the cached 1024-byte block
    assert (pool.used, pool.total) == (512, 4096)
    tracker.reset_peaks()
    assert (tracker.max_used, tracker.max_reserved) == (512, 4096)
    d = tracker.malloc(8192)  # no cached block fits: the pool grows
    assert (tracker.max_used, tracker.max_reserved) == (512 + 8192, 4096 + 8192)
    del c, d


def test_default_policy_reserves_nothing_extra() -> None:
    pool = FakePool()
    block = PoolTracker(pool).malloc(1000)
    assert pool.total == 1024  # max_overhead=0 caps the reservation at the request
    del block


def test_prealloc_policy_reserves_a_spare_block() -> None:
    pool = FakePool()
    config = PreallocConfig(alignment=4096, min_req=10000, max_overhead=20000, growth_factor=2.0)
    tracker = PoolTracker(pool, config)
    first = tracker.malloc(1000)  # min(max(1024, 10000, 0), 21024) = 10000 -> 12288 aligned
    assert (pool.total, pool.used, tracker.max_reserved) == (12288, 1024, 12288)
    assert tracker.max_used == 1024  # the spare block is reserved, never counted as used
    second = tracker.malloc(11000)  # 11264 bytes: the whole spare, no growth
    assert pool.total == 12288 and not pool.cache
    third = tracker.malloc(20000)  # 20480: min(max(20480, 10000, 2 * 12288), 40480) = 24576
    assert (pool.total, tracker.max_reserved) == (12288 + 24576, 36864)
    fourth = tracker.malloc(4000)  # 4096 bytes from the new spare
    assert pool.total == 36864 and tracker.max_used == 1024 + 11264 + 20480 + 4096
    del first, second, third, fourth


@pytest.mark.parametrize(
    "size, reserved, config, want",
    [
        (1024, 0, PreallocConfig(), 1024),
        (1024, 0, PreallocConfig(max_overhead=1 << 30), 32 * 1024 * 1024),
        (100, 1000, PreallocConfig(max_overhead=10_000, min_req=1, growth_factor=1.5), 1500),
        (100, 0, PreallocConfig(alignment=64, min_req=150, max_overhead=50), 192),
    ],
)
def test_reserve_size_is_megengines_rule(size, reserved, config, want) -> None:
    assert config.reserve_size(size, reserved) == want


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alignment": 0}, "Invalid alignment: 0"),
        ({"min_req": 0}, "Invalid min_req: 0"),
        ({"max_overhead": -1}, "Invalid max_overhead: -1"),
        ({"growth_factor": 0.5}, "Invalid growth_factor: 0.5"),
    ],
)
def test_set_prealloc_config_refuses_what_megengine_asserts(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):  # MegEngine: AssertionError
        device.set_prealloc_config(**kwargs)


def test_device_type_numbers_are_megengines() -> None:
    assert {t.name: int(t) for t in device.DeviceType} == {
        "UNSPEC": 0,
        "CUDA": 1,
        "CPU": 2,
        "CAMBRICON": 3,
        "ROCM": 8,
        "ATLAS": 9,
        "MULTITHREAD": 11,
        "MAX_DEVICE_ID": 12,
    }
    with pytest.raises(TypeError, match="device_type must be a DeviceType"):
        device.set_prealloc_config(device_type="gpu")  # MegEngine: TypeError too


def test_cpu_figures_are_zero_as_in_megengine() -> None:
    for query in (device.get_max_allocated_memory, device.get_max_reserved_memory):
        assert query("cpu0") == 0
    assert device.reset_max_memory_stats("cpu0") is None
    assert device.reset_max_memory_stats() is None


def test_cudnn_and_tensorrt_are_absent() -> None:
    # MegEngine's CPU wheel reports its build's 7603 and 6001; the engine links neither
    assert device.get_cudnn_version() == 0
    assert device.get_tensorrt_version() == 0


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePool]:
    """A GPU backend whose namespace has a FakePool as CuPy's default memory pool."""
    pool = FakePool()
    allocators: list = []
    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1)
    cuda = types.SimpleNamespace(runtime=runtime, set_allocator=allocators.append)
    xp = types.SimpleNamespace(cuda=cuda, get_default_memory_pool=lambda: pool)
    backend = device_mod.Backend("gpu", xp, lambda a: a, lambda a: a, is_gpu=True)
    monkeypatch.setattr(gpu_memory, "_state", {"config": PreallocConfig(), "tracker": None})
    monkeypatch.setitem(device_mod._gpu_state, "backend", backend)
    monkeypatch.delitem(device_mod._backends, "gpu", raising=False)
    device_mod._cache.clear()
    tracker = gpu_memory.track(xp)
    assert allocators == [tracker.malloc]  # CuPy's allocations now go through the tracker
    yield pool
    device_mod._cache.clear()


def test_device_functions_read_the_gpu_tracker(fake_gpu: FakePool) -> None:
    allocate = gpu_memory.tracker().malloc
    block = allocate(2048)
    more = allocate(4096)
    assert device.get_allocated_memory("gpu0") == 6144
    del more
    gc.collect()
    assert device.get_max_allocated_memory("gpu0") == 6144
    assert device.get_max_reserved_memory("gpu0") == 6144
    device.reset_max_memory_stats("gpu0")
    assert device.get_max_allocated_memory("gpu0") == 2048
    assert device.get_max_reserved_memory("gpu0") == 6144  # the cache still holds it
    assert device.get_max_allocated_memory("cpu0") == 0
    del block


def test_prealloc_config_is_fixed_once_gpu_memory_exists(fake_gpu: FakePool) -> None:
    device.set_prealloc_config(min_req=1, max_overhead=1, device_type=device.DeviceType.CPU)
    assert gpu_memory.prealloc_config() == PreallocConfig()  # the CPU has no pool to configure
    device.set_prealloc_config(min_req=8192, max_overhead=8192)  # before any allocation
    block = gpu_memory.tracker().malloc(100)  # min(max(512, 8192, 0), 8704) = 8192
    assert fake_gpu.total == 8192
    with pytest.warns(RuntimeWarning, match="after GPU memory was allocated has no effect"):
        device.set_prealloc_config(min_req=1 << 20, max_overhead=1 << 20)
    assert gpu_memory.prealloc_config().min_req == 8192
    del block
