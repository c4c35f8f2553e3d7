"""Parameter initialisers (M.init.*), MegEngine's names and formulas.

Each one overwrites the tensor's array in place, through its device's backend, so a
Parameter keeps its identity; random values come from engine.random's global generator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..random import get_rng
from ..tensor import Tensor


def _write(tensor: Tensor, host: Any) -> None:
    """Overwrite tensor's elements with host values (converted to its dtype)."""
    values = np.broadcast_to(np.asarray(host, dtype=tensor.dtype), tensor.shape)
    tensor._data[...] = tensor.device.backend.from_host(np.ascontiguousarray(values))


def fill_(tensor: Tensor, val: float) -> None:
    """Fill tensor with the value val."""
    _write(tensor, val)


def zeros_(tensor: Tensor) -> None:
    """Fill tensor with 0."""
    fill_(tensor, 0)


def ones_(tensor: Tensor) -> None:
    """Fill tensor with 1."""
    fill_(tensor, 1)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> None:
    """Fill tensor with samples from U(a, b)."""
    _write(tensor, get_rng().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> None:
    """Fill tensor with samples from N(mean, std ** 2)."""
    _write(tensor, get_rng().normal(mean, std, tensor.shape))


_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (1 linear/sigmoid, 5/3 tanh, sqrt 2 relu, ...)."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[float, float]:
    """(fan_in, fan_out) of a weight in NCHW layout; a 5-d group-conv weight drops its groups."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(
            "fan_in and fan_out can not be computed for tensor with fewer than 2 dimensions"
        )
    if len(shape) == 2:  # Linear: (out, in)
        return shape[1], shape[0]
    if len(shape) >= 5:  # (groups, out/groups, in/groups, kh, kw): fans are per group
        shape = shape[1:]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_correct_fan(tensor: Tensor, mode: str) -> float:
    """fan_in or fan_out of tensor, as mode says."""
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> None:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> None:
    """Glorot normal: N(0, std ** 2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def msra_uniform_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> None:
    """He uniform: U(-b, b) with b = sqrt(3) * gain / sqrt(fan)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(calculate_correct_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    uniform_(tensor, -bound, bound)


def msra_normal_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> None:
    """He normal: N(0, std ** 2) with std = gain / sqrt(fan)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(calculate_correct_fan(tensor, mode))
    normal_(tensor, 0, std)
