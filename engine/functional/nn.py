"""Neural-network functions (F.nn.*): activations, softmax, linear, convolution, pooling,
normalisation, dropout, padding, and the losses."""

from __future__ import annotations

from typing import Any

from ..core.coerce import normalize_axis
from ..core.tracing import host_call
from ..ops import conv as C
from ..ops import linalg as L
from ..ops import nn as N
from ..ops import norm as B
from ..ops import shape as S
from ..random import get_rng
from ..tensor import Tensor, apply, as_float, as_tensor
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
from .loss import (
    binary_cross_entropy,
    cross_entropy,
    hinge_loss,
    l1_loss,
    square_loss,
)

__all__ = [
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "conv2d",
    "cross_entropy",
    "dropout",
    "gelu",
    "hinge_loss",
    "hsigmoid",
    "hswish",
    "l1_loss",
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


# ---- convolution and pooling ---------------------------------------------------------------


def _pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as an (h, w) pair, each at least `minimum`."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < minimum for v in pair):
        raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_image(fn: str, inp: Tensor) -> None:
    if inp.ndim != 4:
        raise ValueError(f"{fn}: expected a 4-d NCHW input, got shape {inp.shape}")


def _conv_weight(inp: Tensor, weight: Tensor, groups: int) -> Tensor:
    """Validate weight against inp and return it in the kernel's (out, in/groups, kh, kw)."""
    if groups < 1 or int(groups) != groups:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    if groups == 1 and weight.ndim != 4:
        raise ValueError(
            f"conv2d: weight must be 4-d (out_channels, in_channels, kh, kw), got shape "
            f"{weight.shape} for input of shape {inp.shape}"
        )
    if groups > 1:
        # MegEngine's group layout: (groups, out/groups, in/groups, kh, kw)
        if weight.ndim != 5 or weight.shape[0] != groups:
            raise ValueError(
                f"conv2d: with groups={groups} weight must be 5-d (groups, out_channels // "
                f"groups, in_channels // groups, kh, kw), got shape {weight.shape} for input of "
                f"shape {inp.shape}"
            )
        g, og, cg, kh, kw = weight.shape
        weight = weight.reshape(g * og, cg, kh, kw)
    if inp.shape[1] != weight.shape[1] * groups:
        raise ValueError(
            f"conv2d: input of shape {inp.shape} has {inp.shape[1]} channels but weight of "
            f"shape {weight.shape} expects {weight.shape[1] * groups} (in_channels / groups = "
            f"{weight.shape[1]}, groups={groups})"
        )
    return weight


def _check_bias(bias: Tensor, out_channels: int, inp: Tensor, weight: Tensor) -> None:
    want = (1, out_channels, 1, 1)
    # MegEngine adds the bias with broadcasting, so (out, 1, 1) works as well as (1, out, 1, 1)
    if bias.ndim > 4 or (1,) * (4 - bias.ndim) + tuple(bias.shape) != want:
        raise ValueError(
            f"conv2d: bias of shape {bias.shape} does not fit {out_channels} output channels "
            f"(input {inp.shape}, weight {weight.shape}); use shape {want}"
        )


def _check_out(fn: str, inp: Tensor, out_hw: tuple, what: str) -> None:
    if min(out_hw) < 1:
        raise ValueError(f"{fn}: input of shape {inp.shape} is smaller than {what}")


def conv2d(
    inp: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    conv_mode: str = "cross_correlation",
    compute_mode: str = "default",
) -> Tensor:
    """2-D cross-correlation of NCHW inp with weight (plus bias of shape (1, out, 1, 1))."""
    if conv_mode.lower() != "cross_correlation":
        raise ValueError(
            f"conv2d: only conv_mode='cross_correlation' is supported, got {conv_mode!r}"
        )
    inp = as_float(inp)
    _check_image("conv2d", inp)
    weight = as_tensor(weight, inp)
    kernel = _conv_weight(inp, weight, groups)
    out_channels, _, kh, kw = kernel.shape
    if out_channels % groups:
        raise ValueError(
            f"conv2d: {out_channels} output channels do not split into {groups} groups"
        )
    stride, padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    dilation = _pair(dilation, "dilation", 1)
    out_hw = tuple(
        C.out_size(inp.shape[2 + a], (kh, kw)[a], stride[a], padding[a], dilation[a])
        for a in (0, 1)
    )
    _check_out("conv2d", inp, out_hw, f"the dilated kernel of weight {weight.shape}")
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    if bias is None:
        return apply(C.conv2d, inp, kernel, **params)
    bias = as_tensor(bias, inp)
    _check_bias(bias, out_channels, inp, weight)
    return apply(C.conv2d, inp, kernel, bias, **params)


def _pool_params(fn: str, inp: Tensor, kernel_size: Any, stride: Any, padding: Any) -> dict:
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, "stride", 1)
    padding = _pair(padding, "padding", 0)
    if padding[0] >= kernel[0] or padding[1] >= kernel[1]:
        # MegEngine rejects windows lying wholly in the padding
        raise ValueError(f"{fn}: padding {padding} must be smaller than kernel_size {kernel}")
    out_hw = tuple(C.out_size(inp.shape[2 + a], kernel[a], stride[a], padding[a]) for a in (0, 1))
    _check_out(fn, inp, out_hw, f"kernel_size {kernel}")
    return {"kernel_size": kernel, "stride": stride, "padding": padding}


def max_pool2d(inp: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Maximum over each kernel window of NCHW inp (stride defaults to kernel_size)."""
    inp = as_float(inp)
    _check_image("max_pool2d", inp)
    return apply(C.max_pool2d, inp, **_pool_params("max_pool2d", inp, kernel_size, stride, padding))


_AVG_MODES = ("average", "average_count_exclude_padding")


def avg_pool2d(
    inp: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    mode: str = "average_count_exclude_padding",
) -> Tensor:
    """Mean over each kernel window; by default padded pixels are left out of the count."""
    if mode not in _AVG_MODES:
        raise ValueError(f"avg_pool2d: mode must be one of {_AVG_MODES}, got {mode!r}")
    inp = as_float(inp)
    _check_image("avg_pool2d", inp)
    params = _pool_params("avg_pool2d", inp, kernel_size, stride, padding)
    return apply(C.avg_pool2d, inp, mode=mode, **params)


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


# ---- padding -------------------------------------------------------------------------------

_PAD_MODES = {
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "edge": "replicate",
}


def _pad_axis(x: Tensor, axis: int, before: int, after: int, mode: str) -> Tensor:
    """x extended along one axis by mirroring ("reflect") or repeating the edge ("replicate")."""
    from .tensor import broadcast_to, concat

    n = x.shape[axis]

    def take(index: slice) -> Tensor:
        full = [slice(None)] * x.ndim
        full[axis] = index
        return x[tuple(full)]

    def repeat(edge: Tensor, times: int) -> Tensor:
        shape = list(x.shape)
        shape[axis] = times
        return broadcast_to(edge, shape)

    parts = []
    if mode == "reflect":
        if before >= n or after >= n:
            raise ValueError(
                f"pad: reflect padding ({before}, {after}) of axis {axis} needs fewer than "
                f"{n} (its size) on each side, input shape {x.shape}"
            )
        if before:
            parts.append(take(slice(before, 0, -1)))
        parts.append(x)
        if after:
            stop = n - 2 - after
            parts.append(take(slice(n - 2, stop if stop >= 0 else None, -1)))
    else:
        if before:
            parts.append(repeat(take(slice(0, 1)), before))
        parts.append(x)
        if after:
            parts.append(repeat(take(slice(n - 1, n)), after))
    return concat(parts, axis) if len(parts) > 1 else x


def pad(src: Any, pad_width: Any, mode: str = "constant", constant_value: float = 0.0) -> Tensor:
    """Pad src by ((before, after), ...) per leading axis: "constant", "reflect" or
    "replicate" (alias "edge")."""
    src = as_tensor(src)
    kind = _PAD_MODES.get(str(mode).lower())
    if kind is None:
        raise ValueError(f"pad: mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    width = [(int(lo), int(hi)) for lo, hi in pad_width]
    if len(width) > src.ndim or any(lo < 0 or hi < 0 for lo, hi in width):
        raise ValueError(f"pad: pad_width {pad_width} does not fit input of shape {src.shape}")
    width += [(0, 0)] * (src.ndim - len(width))
    if kind == "constant":
        return apply(S.pad, src, pad_width=tuple(width), value=constant_value)
    out = src
    for axis, (lo, hi) in enumerate(width):
        if lo or hi:
            out = _pad_axis(out, axis, lo, hi, kind)
    return out
