"""engine: a NumPy/CuPy tensor-autodiff engine that speaks MegEngine's Python API.

import engine as mge
import engine.functional as F
from engine.autodiff import GradManager
"""

from . import functional
from . import tensor as _tensor_module
from .core.device import get_default_device, is_cuda_available, set_default_device
from .ops import elementwise as _elementwise_ops
from .serialization import load, save
from .tensor import Parameter, Tensor, tensor

_tensor_module._F = functional
_tensor_module._P = _elementwise_ops

from . import autodiff, random  # noqa: E402  (need Tensor and functional bound first)

__version__ = "0.1.0"

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
