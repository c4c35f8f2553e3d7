"""Neural-network functions (F.nn.*): activations, softmax, linear, and the losses."""

from __future__ import annotations

from typing import Any

from ..ops import linalg as L
from ..ops import nn as N
from ..tensor import Tensor, apply
from .elemwise import _float, as_tensor, gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh
from .loss import (
    binary_cross_entropy,
    cross_entropy,
    hinge_loss,
    l1_loss,
    square_loss,
)
from .math import normalize_axis

__all__ = [
    "binary_cross_entropy", "cross_entropy", "gelu", "hinge_loss", "l1_loss", "leaky_relu",
    "linear", "logsoftmax", "relu", "sigmoid", "silu", "softmax", "softplus", "square_loss", "tanh",
]


def _softmax_axis(ndim: int) -> int:
    # MegEngine's default: axis 0 for 0-, 1- and 3-d inputs, else axis 1
    return 0 if ndim in (0, 1, 3) else 1


def softmax(inp: Any, axis: int | None = None) -> Tensor:
    """exp(inp) / sum(exp(inp)) along axis (MegEngine's default axis when None)."""
    inp = _float(inp)
    axis = _softmax_axis(inp.ndim) if axis is None else normalize_axis(axis, inp.ndim)[0]
    return apply(N.softmax, inp, axis=axis)


def logsoftmax(inp: Any, axis: int) -> Tensor:
    """log(softmax(inp)) along axis, computed stably."""
    inp = _float(inp)
    return apply(N.logsoftmax, inp, axis=normalize_axis(axis, inp.ndim)[0])


def linear(inp: Any, weight: Any, bias: Any = None) -> Tensor:
    """inp @ weight.T + bias, with weight of shape (out_features, in_features)."""
    inp = _float(inp)
    weight = as_tensor(weight, inp)
    if inp.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input has {inp.shape[-1]} features but weight {weight.shape} expects "
            f"{weight.shape[-1]}"
        )
    if bias is None:
        return apply(L.linear, inp, weight)
    return apply(L.linear, inp, weight, as_tensor(bias, inp))
