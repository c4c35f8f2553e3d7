"""Neural-network functions (F.nn.*): activations, softmax, linear, batch norm and dropout
live here; convolution, pooling, padding, the other normalisations, embedding, interpolate
and the losses are gathered from their modules."""

from __future__ import annotations

from typing import Any

from ..core.coerce import normalize_axis
from ..core.tracing import host_call
from ..ops import linalg as L
from ..ops import nn as N
from ..ops import norm as B
from ..random import get_rng
from ..tensor import Tensor, apply, as_float, as_tensor
from .convolution import avg_pool2d, conv1d, conv2d, conv_transpose2d, max_pool2d
from .elemwise import (
    gelu,
    hsigmoid,
    hswish,
    leaky_relu,
    logsigmoid,
    relu,
    relu6,
    sigmoid,
    silu,
    softplus,
    tanh,
)
from .embedding import embedding
from .loss import (
    binary_cross_entropy,
    cross_entropy,
    hinge_loss,
    l1_loss,
    square_loss,
)
from .normalization import group_norm, instance_norm, layer_norm
from .padding import pad
from .vision import interpolate

__all__ = [
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "conv1d",
    "conv2d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "embedding",
    "gelu",
    "group_norm",
    "hinge_loss",
    "hsigmoid",
    "hswish",
    "instance_norm",
    "interpolate",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "logsigmoid",
    "logsoftmax",
    "max_pool2d",
    "pad",
    "relu",
    "relu6",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "square_loss",
    "tanh",
]


def _softmax_axis(ndim: int) -> int:
    # MegEngine's default: axis 0 for 0-, 1- and 3-d inputs, else axis 1
    return 0 if ndim in (0, 1, 3) else 1


def softmax(inp: Any, axis: int | None = None) -> Tensor:
    """exp(inp) / sum(exp(inp)) along axis (MegEngine's default axis when None)."""
    inp = as_float(inp)
    axis = _softmax_axis(inp.ndim) if axis is None else normalize_axis(axis, inp.ndim)[0]
    return apply(N.softmax, inp, axis=axis)


def logsoftmax(inp: Any, axis: int) -> Tensor:
    """log(softmax(inp)) along axis, computed stably."""
    inp = as_float(inp)
    return apply(N.logsoftmax, inp, axis=normalize_axis(axis, inp.ndim)[0])


def linear(inp: Any, weight: Any, bias: Any = None) -> Tensor:
    """inp @ weight.T + bias, with weight of shape (out_features, in_features)."""
    inp = as_float(inp)
    weight = as_tensor(weight, inp)
    if inp.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input has {inp.shape[-1]} features but weight {weight.shape} expects "
            f"{weight.shape[-1]}"
        )
    if bias is None:
        return apply(L.linear, inp, weight)
    return apply(L.linear, inp, weight, as_tensor(bias, inp))


# ---- normalisation and dropout -------------------------------------------------------------


def _per_channel(t: Any, inp: Tensor, name: str) -> Any:
    """A per-channel tensor reshaped to (1, C, 1, ...) for inp's rank; None stays None."""
    if t is None:
        return None
    t = as_tensor(t, inp)
    shape = (1, inp.shape[1]) + (1,) * (inp.ndim - 2)
    if t.size != inp.shape[1]:
        raise ValueError(
            f"batch_norm: {name} of shape {t.shape} does not have one value per channel of "
            f"input {inp.shape} ({inp.shape[1]} channels)"
        )
    return t if t.shape == shape else t.reshape(shape)


def _update_running(stat: Tensor, batch: Any, momentum: float) -> None:
    """stat = momentum * stat + (1 - momentum) * batch, in the same Tensor object."""
    new = momentum * stat._data + (1 - momentum) * batch.reshape(stat.shape)
    # a new array rather than an in-place write: eval-mode graphs may still hold the old one
    stat._data = new.astype(stat.dtype, copy=False)


def batch_norm(
    inp: Any,
    running_mean: Any = None,
    running_var: Any = None,
    weight: Any = None,
    bias: Any = None,
    *,
    training: bool = False,
    momentum: float = 0.9,
    eps: float = 1e-5,
    inplace: bool = True,
) -> Any:
    """Normalise inp per channel (axis 1): batch statistics when training, running ones if not.

    Training updates running_mean/var as momentum * old + (1 - momentum) * batch, with the
    unbiased batch variance, as MegEngine does; inplace=False returns (out, mean, var) instead.
    """
    inp = as_float(inp)
    if inp.ndim < 2:
        raise ValueError(
            f"batch_norm: expected an input of at least 2 dims (N, C, ...), got shape {inp.shape}"
        )
    w = _per_channel(weight, inp, "weight")
    b = _per_channel(bias, inp, "bias")
    mean = _per_channel(running_mean, inp, "running_mean")
    var = _per_channel(running_var, inp, "running_var")
    if not training:
        if mean is None or var is None:
            raise ValueError(
                "batch_norm: running_mean and running_var are needed when training=False"
            )
        out = (inp - mean) / (var + eps) ** 0.5
        out = out if w is None else out * w
        return out if b is None else out + b
    out = apply(B.batch_norm, inp, 1.0 if w is None else w, 0.0 if b is None else b, eps=eps)
    if mean is None and var is None:
        return out
    if not inplace:
        batch_mean, batch_var = _batch_stats(inp._data)
        new_mean = new_var = None
        if running_mean is not None:
            new_mean = Tensor(running_mean)
            _update_running(new_mean, batch_mean, momentum)
        if running_var is not None:
            new_var = Tensor(running_var)
            _update_running(new_var, batch_var, momentum)
        return out, new_mean, new_var
    # host work outside apply(): a trace must repeat it on every replay
    host_call(_track_running, inp, objects=(running_mean, running_var), momentum=momentum)
    return out


def _batch_stats(data: Any) -> tuple[Any, Any]:
    """Per-channel batch mean and unbiased variance (as MegEngine's running statistics use)."""
    axes = B.reduce_axes(data.ndim)
    count = data.size // data.shape[1]
    return data.mean(axis=axes), data.var(axis=axes) * (count / max(count - 1, 1))


def _track_running(data: Any, running_mean: Any, running_var: Any, momentum: float) -> None:
    """Fold one batch's statistics into the running ones, in the same Tensor objects."""
    batch_mean, batch_var = _batch_stats(data)
    if running_mean is not None:
        _update_running(running_mean, batch_mean, momentum)
    if running_var is not None:
        _update_running(running_var, batch_var, momentum)


def dropout(inp: Any, drop_prob: float, training: bool = True) -> Tensor:
    """Zero each element with probability drop_prob and scale the rest by 1 / (1 - drop_prob).

    The mask comes from engine.random's global generator on the host, so a seeded run drops
    the same elements on every device.
    """
    if not 0 <= drop_prob < 1:
        raise ValueError(f"dropout: drop_prob must be in [0, 1), got {drop_prob}")
    inp = as_tensor(inp)
    if not training or drop_prob == 0:
        return inp
    inp = as_float(inp)
    keep = host_call(_keep_mask, inp, objects=(inp.device,), drop_prob=drop_prob)
    return apply(B.dropout, inp, keep, scale=1.0 / (1.0 - drop_prob))


def _keep_mask(data: Any, device: Any, drop_prob: float) -> Any:
    """A fresh dropout mask from the global generator (host work a trace repeats)."""
    return device.backend.from_host(get_rng().random(data.shape) >= drop_prob)
