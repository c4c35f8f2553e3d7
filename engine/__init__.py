"""engine: a NumPy/CuPy tensor-autodiff engine that speaks MegEngine's Python API.

import engine as mge
import engine.functional as F
from engine.autodiff import GradManager
"""

from typing import Any

from .core.allocator import tune_allocator
from .core.device import get_default_device, is_cuda_available, set_default_device
from .tensor import Parameter, Tensor, tensor

ALLOCATOR_TUNED = tune_allocator()

from . import autodiff, functional, random  # noqa: E402

__version__ = "0.1.0"


def save(obj: Any, path: Any) -> None:
    """Write nested dicts/lists of tensors and arrays to `path` (no pickle; atomic)."""
    from .serialization import save as _save

    _save(obj, path)


def load(path: Any, map_location: Any = None) -> Any:
    """Read what save() wrote; a foreign or truncated file is a clear ValueError."""
    from .serialization import load as _load

    return _load(path, map_location)


__all__ = [
    "Parameter",
    "Tensor",
    "autodiff",
    "functional",
    "get_default_device",
    "is_cuda_available",
    "load",
    "random",
    "save",
    "set_default_device",
    "tensor",
]
