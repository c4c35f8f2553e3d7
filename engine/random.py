"""engine.random: one global generator, so `seed(n)` makes a whole run reproducible."""

from __future__ import annotations

from typing import Any

import numpy as np

from .core.device import as_device
from .core.dtype import resolve_dtype
from .core.tracing import host_call
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


def _upload(host: Any, dtype: Any, device: Any) -> Any:
    return device.backend.from_host(np.asarray(host).astype(resolve_dtype(dtype)))


# Host work that host_call runs: a traced function draws new numbers on every replay
def _normal(device: Any, *, mean: float, std: float, size: Any, dtype: Any) -> Any:
    return _upload(get_rng().normal(mean, std, size), dtype, device)


def _uniform(device: Any, *, low: float, high: float, size: Any, dtype: Any) -> Any:
    return _upload(get_rng().uniform(low, high, size), dtype, device)


def _permutation(device: Any, *, n: int, dtype: Any) -> Any:
    return _upload(get_rng().permutation(n), dtype, device)


def _drawn(fn: Any, device: Any, **params: Any) -> Tensor:
    dev = as_device(device)
    return Tensor._wrap(host_call(fn, objects=(dev,), **params), dev)


def _size(size: Any) -> Any:
    return (1,) if size is None else size  # MegEngine's default: one sample, shape (1,)


def normal(
    mean: float = 0.0,
    std: float = 1.0,
    size: Any = None,
    dtype: Any = "float32",
    device: Any = None,
) -> Tensor:
    """Samples from N(mean, std**2)."""
    return _drawn(_normal, device, mean=mean, std=std, size=_size(size), dtype=dtype)


def uniform(
    low: float = 0.0,
    high: float = 1.0,
    size: Any = None,
    dtype: Any = "float32",
    device: Any = None,
) -> Tensor:
    """Samples from U[low, high)."""
    return _drawn(_uniform, device, low=low, high=high, size=_size(size), dtype=dtype)


def permutation(n: Any, dtype: Any = "int32", device: Any = None) -> Tensor:
    """A random permutation of range(n), or of a tensor's elements along axis 0."""
    if isinstance(n, Tensor):
        return n[_drawn(_permutation, n.device, n=n.shape[0], dtype="int64")]
    return _drawn(_permutation, device, n=int(n), dtype=dtype)
