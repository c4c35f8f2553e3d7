"""engine.device: MegEngine's `megengine.device` functions (counts, defaults, memory, CUDA info).

Device names and the GPU probe belong to `engine.core.device`; this module answers questions
about them. CPU memory figures come from the OS; GPU ones from CuPy's memory pool, whose peaks
and pre-allocation policy `engine.core.gpu_memory` keeps.
"""

from __future__ import annotations

import enum
import os

from .core import gpu_memory
from .core.device import (
    Device,
    as_device,
    get_default_device,
    gpu_count,
    is_cuda_available,
    set_default_device,
)

_DEVICE_TYPES = ("xpu", "cpu", "gpu", "rocm")


class DeviceType(enum.IntEnum):
    """MegEngine's device kinds, with its numbers (the engine drives CPU and CUDA ones)."""

    UNSPEC = 0
    CUDA = 1
    CPU = 2
    CAMBRICON = 3
    ROCM = 8
    ATLAS = 9
    MULTITHREAD = 11
    MAX_DEVICE_ID = 12


def is_cambricon_available() -> bool:
    """Always False: the engine has no Cambricon backend."""
    return False


def is_atlas_available() -> bool:
    """Always False: the engine has no Atlas backend."""
    return False


def is_rocm_available() -> bool:
    """Always False: the engine has no ROCm backend."""
    return False


def get_device_count(device_type: str) -> int:
    """Number of devices of a type: 'gpu' (CUDA GPUs), 'cpu' (cores), 'xpu' (GPUs, else cores).

    Example:
        >>> engine.device.get_device_count("gpu")  # on a machine without a GPU
        0
    """
    if device_type not in _DEVICE_TYPES:
        raise ValueError(
            f"device_type must be one of {', '.join(_DEVICE_TYPES)}, got {device_type!r}"
        )
    if device_type == "rocm":
        return 0
    gpus = gpu_count() if device_type in ("gpu", "xpu") else 0
    if device_type == "gpu" or gpus:
        return gpus
    return os.cpu_count() or 1


def what_is_xpu() -> str:
    """What 'xpux' means on this machine: 'cuda' when a GPU answers, else 'cpu'."""
    return "cuda" if is_cuda_available() else "cpu"


def _device(device: str | Device | None) -> Device:
    return as_device(device if device is not None else get_default_device())


def _gpu_pool(device: Device) -> object | None:
    """CuPy's memory pool when `device` is a real CUDA GPU, else None."""
    if device.on_host or not device.backend.is_gpu:
        return None
    return device.xp.get_default_memory_pool()


def get_mem_status_bytes(device: str | None = None) -> tuple[int, int]:
    """(total, free) memory in bytes of `device` (the default device when None)."""
    dev = _device(device)
    if dev.on_host:
        page = os.sysconf("SC_PAGE_SIZE")
        return os.sysconf("SC_PHYS_PAGES") * page, os.sysconf("SC_AVPHYS_PAGES") * page
    if _gpu_pool(dev) is None:
        raise RuntimeError(f"device {dev} cannot report its memory")
    free, total = dev.xp.cuda.runtime.memGetInfo()
    return int(total), int(free)


def get_allocated_memory(device: str | None = None) -> int:
    """Bytes held by live arrays on `device` (0 on the CPU, as MegEngine reports)."""
    pool = _gpu_pool(_device(device))
    return 0 if pool is None else int(pool.used_bytes())


def get_reserved_memory(device: str | None = None) -> int:
    """Bytes the device's caching allocator holds, in use or cached (0 on the CPU)."""
    pool = _gpu_pool(_device(device))
    return 0 if pool is None else int(pool.total_bytes())


def _tracker(device: str | None) -> gpu_memory.PoolTracker | None:
    """The GPU pool's tracker when `device` is a real CUDA GPU, else None."""
    return None if _gpu_pool(_device(device)) is None else gpu_memory.tracker()


def get_max_allocated_memory(device: str | None = None) -> int:
    """Most bytes live arrays have held on `device` since the last reset (0 on the CPU)."""
    tracker = _tracker(device)
    return 0 if tracker is None else tracker.max_used


def get_max_reserved_memory(device: str | None = None) -> int:
    """Most bytes the caching allocator has held on `device` since the last reset (0 on CPU)."""
    tracker = _tracker(device)
    return 0 if tracker is None else tracker.max_reserved


def reset_max_memory_stats(device: str | None = None) -> None:
    """Restart the peaks of `device` from its current figures (nothing to do on the CPU)."""
    tracker = _tracker(device)
    if tracker is not None:
        tracker.reset_peaks()


def set_prealloc_config(
    alignment: int = 1,
    min_req: int = 32 * 1024 * 1024,
    max_overhead: int = 0,
    growth_factor: float = 2.0,
    device_type: DeviceType = DeviceType.CUDA,
) -> None:
    """How much GPU memory to take from the driver each time the pool must grow.

    A request the pool cannot serve reserves min(max(size, min_req, growth_factor *
    reserved), size + max_overhead) bytes rounded up to `alignment` (MegEngine's rule; the
    defaults reserve nothing extra). Call it before the first GPU tensor: later calls warn
    and change nothing, as in MegEngine. Other device types have no pool to configure.

    Example:
        >>> engine.device.set_prealloc_config(min_req=64 << 20, max_overhead=256 << 20)
    """
    if not isinstance(device_type, DeviceType):
        raise TypeError(f"device_type must be a DeviceType, got {device_type!r}")
    config = gpu_memory.PreallocConfig(alignment, min_req, max_overhead, growth_factor)
    if device_type is DeviceType.CUDA:
        gpu_memory.set_prealloc_config(config)


def coalesce_free_memory() -> None:
    """Give the GPU memory the caching allocator keeps but no array uses back to the driver."""
    dev = as_device("gpu0") if is_cuda_available() else None
    pool = _gpu_pool(dev) if dev is not None else None
    if pool is not None:
        pool.free_all_blocks()


def _cuda_runtime() -> object:
    if not is_cuda_available():
        raise RuntimeError("no CUDA GPU is available (CuPy missing or no device)")
    return as_device("gpu0").xp.cuda.runtime


def get_cuda_device_property(device: int) -> dict:
    """The CUDA properties of GPU number `device` (name, totalGlobalMem, major, minor, ...)."""
    runtime = _cuda_runtime()
    count = gpu_count()
    if not 0 <= device < count:
        raise ValueError(f"device must be a GPU number in [0, {count}), got {device}")
    return runtime.getDeviceProperties(device)


def get_cuda_compute_capability(device: int) -> int:
    """The SM version of GPU number `device` as major * 10 + minor (e.g. 90 for sm_90)."""
    prop = get_cuda_device_property(device)
    return int(prop["major"]) * 10 + int(prop["minor"])


def get_cuda_version() -> int:
    """The CUDA runtime version CuPy uses, as CUDA_VERSION (major * 1000 + minor * 10)."""
    return int(_cuda_runtime().runtimeGetVersion())


def get_cuda_driver_version() -> int:
    """The installed CUDA driver's version (major * 1000 + minor * 10)."""
    return int(_cuda_runtime().driverGetVersion())


def get_cudnn_version() -> int:
    """0: the engine's GPU kernels are CuPy's and use no cuDNN (MegEngine: its build's cuDNN)."""
    return 0


def get_tensorrt_version() -> int:
    """0: the engine has no TensorRT runtime (MegEngine: the TensorRT version of its build)."""
    return 0


__all__ = [
    "DeviceType",
    "coalesce_free_memory",
    "get_allocated_memory",
    "get_cuda_compute_capability",
    "get_cuda_device_property",
    "get_cuda_driver_version",
    "get_cuda_version",
    "get_cudnn_version",
    "get_default_device",
    "get_device_count",
    "get_max_allocated_memory",
    "get_max_reserved_memory",
    "get_mem_status_bytes",
    "get_reserved_memory",
    "get_tensorrt_version",
    "is_atlas_available",
    "is_cambricon_available",
    "is_cuda_available",
    "is_rocm_available",
    "reset_max_memory_stats",
    "set_default_device",
    "set_prealloc_config",
    "what_is_xpu",
]
