"""engine.random: one global generator, so `seed(n)` makes a whole run reproducible."""

from __future__ import annotations

from typing import Any

import numpy as np

from .core.device import as_device
from .core.dtype import resolve_dtype
from .tensor import Tensor

# Created on first use: importing numpy.random costs ~10 ms that `import engine` need not pay.
_state: dict[str, Any] = {"rng": None}


def seed(seed: int) -> None:
    """Reseed the global generator."""
    _state["rng"] = np.random.default_rng(int(seed))


def get_rng() -> np.random.Generator:
    """The global NumPy Generator that engine.random, init and data draw from."""
    rng = _state["rng"]
    if rng is None:
        rng = _state["rng"] = np.random.default_rng(0)
    return rng


def get_state() -> dict:
    """The generator's state, for checkpoints."""
    return get_rng().bit_generator.state


def set_state(state: dict) -> None:
    """Restore a state from get_state()."""
    get_rng().bit_generator.state = state


def _tensor(host: np.ndarray, dtype: Any, device: Any) -> Tensor:
    dev = as_device(device)
    return Tensor._wrap(dev.backend.from_host(host.astype(resolve_dtype(dtype))), dev)


def normal(
    mean: float = 0.0,
    std: float = 1.0,
    size: Any = None,
    dtype: Any = "float32",
    device: Any = None,
) -> Tensor:
    """Samples from N(mean, std**2)."""
    return _tensor(get_rng().normal(mean, std, size), dtype, device)


def uniform(
    low: float = 0.0,
    high: float = 1.0,
    size: Any = None,
    dtype: Any = "float32",
    device: Any = None,
) -> Tensor:
    """Samples from U[low, high)."""
    return _tensor(get_rng().uniform(low, high, size), dtype, device)


def permutation(n: Any, dtype: Any = "int32", device: Any = None) -> Tensor:
    """A random permutation of range(n), or of a tensor's elements along axis 0."""
    if isinstance(n, Tensor):
        return n[Tensor(get_rng().permutation(n.shape[0]), device=n.device)]
    return _tensor(get_rng().permutation(int(n)), dtype, device)
