"""Peaks of the GPU memory pool and MegEngine's pre-allocation policy, on top of CuPy's pool.

CuPy's memory pool reports what arrays use now and what it holds from the driver now, not
the most either has ever been. Both figures only grow when the pool hands out a block, so
an allocator that asks the pool for the block and then reads the two figures sees every
peak exactly. The same allocator applies MegEngine's pre-allocation policy: when the pool
had to ask the driver for more, it asks the pool for the extra MegEngine's policy would have
reserved and drops it at once, leaving a cached block later requests reuse. (MegEngine takes
the request and the extra as one driver allocation; CuPy's pool cannot split a driver
allocation it did not size itself, and may serve the extra from blocks it already caches.)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class PreallocConfig:
    """How much to take from the driver when the pool must grow (MegEngine's defaults).

    A request of `size` bytes that the pool cannot serve from its cache reserves
    min(max(size, min_req, growth_factor * reserved), size + max_overhead) bytes, rounded
    up to a multiple of `alignment`. With max_overhead=0 (the default) nothing extra is
    reserved, as in MegEngine.
    """

    alignment: int = 1
    min_req: int = 32 * MIB
    max_overhead: int = 0
    growth_factor: float = 2.0

    def __post_init__(self) -> None:
        checks = (
            ("alignment", self.alignment > 0, "> 0"),
            ("min_req", self.min_req > 0, "> 0"),
            ("max_overhead", self.max_overhead >= 0, ">= 0"),
            ("growth_factor", self.growth_factor >= 1, ">= 1"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"Invalid {name}: {getattr(self, name)} (must be {rule})")

    def reserve_size(self, size: int, reserved: int) -> int:
        """Bytes to take from the driver for a `size`-byte request when `reserved` are held."""
        upper = max(size, self.min_req, int(reserved * self.growth_factor))
        upper = min(upper, size + self.max_overhead)
        return -(-upper // self.alignment) * self.alignment


class PoolTracker:
    """An allocator in front of a CuPy memory pool: notes peaks, pre-reserves by policy.

    `pool` needs CuPy's MemoryPool methods `malloc(size)`, `used_bytes()` and
    `total_bytes()`; blocks go back to the pool when the returned pointer is dropped.
    """

    def __init__(self, pool: Any, config: PreallocConfig | None = None) -> None:
        self.pool = pool
        self.config = config or PreallocConfig()
        self.allocated = False  # whether any block was handed out (the config is fixed then)
        self.max_used = int(pool.used_bytes())
        self.max_reserved = int(pool.total_bytes())

    def malloc(self, size: int) -> Any:
        """A block of `size` bytes from the pool (the signature cupy.cuda.set_allocator wants)."""
        reserved = int(self.pool.total_bytes())
        block = self.pool.malloc(size)
        self.allocated = True
        self.max_used = max(self.max_used, int(self.pool.used_bytes()))
        grown = int(self.pool.total_bytes()) - reserved
        if grown > 0:
            self._reserve_spare(grown, reserved)
        self.max_reserved = max(self.max_reserved, int(self.pool.total_bytes()))
        return block

    def _reserve_spare(self, grown: int, reserved: int) -> None:
        spare = self.config.reserve_size(grown, reserved) - grown
        if spare <= 0:
            return
        try:
            block = self.pool.malloc(spare)
        except MemoryError:  # CuPy's OutOfMemoryError: MegEngine also settles for the request
            return
        del block  # back to the pool's cache, still reserved

    def reset_peaks(self) -> None:
        """Make the peaks the current figures (MegEngine's reset_max_memory_stats)."""
        self.max_used = int(self.pool.used_bytes())
        self.max_reserved = int(self.pool.total_bytes())

    def configure(self, config: PreallocConfig) -> bool:
        """Use `config` from now on, unless memory was already handed out (then warn)."""
        if self.allocated:
            warnings.warn(
                "set_prealloc_config after GPU memory was allocated has no effect; "
                "call it before the first GPU tensor is created",
                RuntimeWarning,
                stacklevel=3,
            )
            return False
        self.config = config
        return True


_state: dict[str, Any] = {"config": PreallocConfig(), "tracker": None}


def track(cupy: Any) -> PoolTracker:
    """Route CuPy's allocations through a PoolTracker of its default pool (once per process)."""
    tracker = _state["tracker"]
    if tracker is None:
        tracker = PoolTracker(cupy.get_default_memory_pool(), _state["config"])
        cupy.cuda.set_allocator(tracker.malloc)
        _state["tracker"] = tracker
    return tracker


def tracker() -> PoolTracker | None:
    """The tracker of the GPU's pool, or None while no GPU is in use."""
    return _state["tracker"]


def set_prealloc_config(config: PreallocConfig) -> bool:
    """Use `config` for the GPU pool; False (with a warning) once GPU memory was handed out."""
    current = _state["tracker"]
    if current is not None and not current.configure(config):
        return False
    _state["config"] = config
    return True


def prealloc_config() -> PreallocConfig:
    """The pre-allocation policy in force (or to be used when the GPU pool starts)."""
    return _state["config"]


__all__ = [
    "PoolTracker",
    "PreallocConfig",
    "prealloc_config",
    "set_prealloc_config",
    "track",
    "tracker",
]
