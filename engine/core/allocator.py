"""Keep freed array memory in the heap, so per-step temporaries do not pay page faults.

NumPy allocates every intermediate with malloc. glibc serves blocks above its mmap
threshold (128 KiB to start) with fresh mmap()s and returns them to the kernel on free,
so a training step that makes a few MiB of temporaries page-faults on every one of them,
every step: up to half the time of a small CNN step. Raising the mmap and trim thresholds
lets glibc recycle those blocks instead, which is what a framework's caching allocator
does. Set ENGINE_ALLOCATOR=system (or any MALLOC_*_ variable) to leave malloc alone.

Importing the engine changes nothing: programs call `tune_allocator()` themselves (`mgectl
train` and `mgectl sweep` do before training, the benchmarks when they load the engine).
"""

from __future__ import annotations

import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 * 1024 * 1024  # blocks below this come from the reusable heap
TRIM_THRESHOLD = 256 * 1024 * 1024  # free heap kept before returning memory to the kernel

TUNED = False  # whether tune_allocator() changed malloc's thresholds in this process


def tune_allocator() -> bool:
    """Raise glibc's mmap/trim thresholds (idempotent); returns whether malloc is tuned."""
    global TUNED
    if sys.platform != "linux" or os.environ.get("ENGINE_ALLOCATOR", "") == "system":
        return False
    if any(key.startswith("MALLOC_") for key in os.environ):
        return False  # the user tunes malloc themselves
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    TUNED = ok and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return TUNED
