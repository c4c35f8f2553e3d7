"""engine: a NumPy/CuPy tensor-autodiff engine that speaks MegEngine's Python API.

import engine as mge
import engine.functional as F
from engine.autodiff import GradManager

Importing the package loads only Tensor, the primitives and the device helpers; the
submodules (mge.functional, mge.optimizer, mge.data, ...) load on first use. Importing
changes nothing process-wide: call `engine.core.allocator.tune_allocator()` to let
malloc recycle big blocks (mgectl and the benchmarks do).
"""

import importlib
from typing import Any

from .core.device import get_default_device, is_cuda_available, set_default_device
from .tensor import Parameter, Tensor, tensor

__version__ = "0.1.0"

# Reachable as attributes (mge.functional.relu) but imported on first use only.
_LAZY_SUBMODULES = (
    "autodiff",
    "data",
    "device",
    "distributed",
    "functional",
    "jit",
    "module",
    "optimizer",
    "random",
    "serialization",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))


def save(obj: Any, f: Any) -> None:
    """Write nested dicts/lists of tensors and arrays to a path (atomically) or a binary file
    object such as io.BytesIO; never pickle."""
    from .serialization import save as _save

    _save(obj, f)


def load(f: Any, map_location: Any = None) -> Any:
    """Read what save() wrote from a path or a binary file object; a foreign or truncated
    file is a clear ValueError."""
    from .serialization import load as _load

    return _load(f, map_location)


__all__ = [
    "Parameter",
    "Tensor",
    "autodiff",
    "data",
    "device",
    "distributed",
    "functional",
    "get_default_device",
    "is_cuda_available",
    "jit",
    "load",
    "module",
    "optimizer",
    "random",
    "save",
    "set_default_device",
    "tensor",
]
