"""Normalisation over features rather than the batch: layer_norm, group_norm, instance_norm.

Each is composed of mean, sub, mul and sqrt, so the gradients come from those primitives;
the variance is the biased one, as MegEngine's.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor, as_float, as_tensor
from .elemwise import sqrt
from .math import mean
from .tensor import reshape


def _standardise(x: Tensor, axes: tuple, eps: float) -> Tensor:
    centred = x - mean(x, axes, keepdims=True)
    return centred / sqrt(mean(centred * centred, axes, keepdims=True) + eps)


def _affine(fn: str, out: Tensor, affine: bool, weight: Any, bias: Any, shape: tuple) -> Tensor:
    if not affine:
        return out
    if weight is None or bias is None:
        raise ValueError(f"{fn}: weight and bias must be given when affine is True")
    weight, bias = as_tensor(weight, out), as_tensor(bias, out)
    return out * reshape(weight, shape) + reshape(bias, shape)


def layer_norm(
    inp: Any,
    normalized_shape: Any,
    affine: bool,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Tensor:
    """Standardise over the trailing normalized_shape axes, then scale and shift if affine."""
    inp = as_float(inp)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or inp.shape[inp.ndim - len(shape) :] != shape:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} is not the trailing shape of input {inp.shape}"
        )
    axes = tuple(range(inp.ndim - len(shape), inp.ndim))
    return _affine("layer_norm", _standardise(inp, axes, eps), affine, weight, bias, shape)


def group_norm(
    inp: Any,
    num_groups: int,
    affine: bool,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Tensor:
    """Standardise each group of channels (axis 1) of each sample, then scale and shift per
    channel if affine."""
    inp = as_float(inp)
    if inp.ndim < 2 or inp.shape[1] % num_groups:
        raise ValueError(
            f"group_norm: input of shape {inp.shape} has no channel axis that {num_groups} "
            f"groups divide"
        )
    n, c = inp.shape[:2]
    grouped = reshape(inp, (n, num_groups, -1))
    out = reshape(_standardise(grouped, (2,), eps), inp.shape)
    per_channel = (1, c) + (1,) * (inp.ndim - 2)
    return _affine("group_norm", out, affine, weight, bias, per_channel)


def instance_norm(
    inp: Any, affine: bool, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Tensor:
    """Standardise each channel of each sample on its own (group_norm with one channel a group)."""
    inp = as_float(inp)
    if inp.ndim < 2:
        raise ValueError(f"instance_norm: expected (N, C, ...) input, got shape {inp.shape}")
    return group_norm(inp, inp.shape[1], affine, weight, bias, eps)
