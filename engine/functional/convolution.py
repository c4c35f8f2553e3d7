"""Convolution and pooling over NCHW (conv1d: NCL) tensors: conv2d, max_pool2d and avg_pool2d
are primitives; conv1d and conv_transpose2d are composed of conv2d and reshape/pad/indexing,
so their gradients come from conv2d's VJP and those primitives."""

from __future__ import annotations

from typing import Any

from ..ops import conv as C
from ..tensor import Tensor, apply, as_float, as_tensor
from .padding import pad
from .tensor import reshape


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


def conv1d(
    inp: Any,
    weight: Any,
    bias: Any = None,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
    conv_mode: str = "cross_correlation",
    compute_mode: str = "default",
) -> Tensor:
    """1-D cross-correlation of (N, C, L) inp with weight (out, in, k), or (groups,
    out/groups, in/groups, k) when groups > 1, plus bias (1, out, 1)."""
    inp = as_float(inp)
    weight = as_tensor(weight, inp)
    if inp.ndim != 3:
        raise ValueError(f"conv1d: expected an (N, C, L) input, got shape {inp.shape}")
    if weight.ndim != (3 if groups == 1 else 4):
        raise ValueError(
            f"conv1d: weight of shape {weight.shape} should be (out, in, k), or (groups, "
            f"out // groups, in // groups, k) when groups > 1 (groups={groups})"
        )
    if bias is not None:
        bias = as_tensor(bias, inp)
        if bias.ndim != 3:
            raise ValueError(f"conv1d: bias should be (1, out, 1), got shape {bias.shape}")
        bias = reshape(bias, (*bias.shape, 1))
    out = conv2d(
        reshape(inp, (*inp.shape, 1)),
        reshape(weight, (*weight.shape, 1)),
        bias,
        (int(stride), 1),
        (int(padding), 0),
        (int(dilation), 1),
        groups,
        conv_mode,
        compute_mode,
    )
    return reshape(out, out.shape[:3])


def _interleave_zeros(x: Tensor, stride: tuple[int, int]) -> Tensor:
    """x with stride - 1 zeros between neighbouring pixels (the transposed conv's upsampling)."""
    sh, sw = stride
    if sh == 1 and sw == 1:
        return x
    n, c, h, w = x.shape
    spread = pad(
        reshape(x, (n, c, h, 1, w, 1)),
        ((0, 0), (0, 0), (0, 0), (0, sh - 1), (0, 0), (0, sw - 1)),
    )
    return reshape(spread, (n, c, h * sh, w * sw))[:, :, : (h - 1) * sh + 1, : (w - 1) * sw + 1]


def _pad_or_crop(x: Tensor, before: tuple[int, int], after: tuple[int, int]) -> Tensor:
    """Pad H and W with zeros where the amounts are positive, crop where negative."""
    amounts = list(zip(before, after, strict=True))
    if any(b > 0 or a > 0 for b, a in amounts):
        x = pad(x, ((0, 0), (0, 0)) + tuple((max(b, 0), max(a, 0)) for b, a in amounts))
    if any(b < 0 or a < 0 for b, a in amounts):
        h, w = x.shape[2:]
        (bh, ah), (bw, aw) = amounts
        x = x[:, :, max(-bh, 0) : h - max(-ah, 0), max(-bw, 0) : w - max(-aw, 0)]
    return x


def conv_transpose2d(
    inp: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    conv_mode: str = "cross_correlation",
    compute_mode: str = "default",
) -> Tensor:
    """The transpose (input gradient) of conv2d: NCHW inp with weight (in, out, kh, kw), or
    (groups, in/groups, out/groups, kh, kw), plus bias (1, out, 1, 1).

    Output size: (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1.
    """
    if conv_mode.lower() != "cross_correlation":
        raise ValueError(f"conv_transpose2d: only conv_mode='cross_correlation', got {conv_mode!r}")
    inp = as_float(inp)
    weight = as_tensor(weight, inp)
    if inp.ndim != 4:
        raise ValueError(f"conv_transpose2d: expected a 4-d NCHW input, got shape {inp.shape}")
    if weight.ndim != (4 if groups == 1 else 5) or (groups > 1 and weight.shape[0] != groups):
        raise ValueError(
            f"conv_transpose2d: weight of shape {weight.shape} should be (in, out, kh, kw), or "
            f"(groups, in // groups, out // groups, kh, kw) when groups > 1 (groups={groups})"
        )
    grouped = weight if groups > 1 else reshape(weight, (1, *weight.shape))
    if grouped.shape[1] * groups != inp.shape[1]:
        raise ValueError(
            f"conv_transpose2d: input of shape {inp.shape} has {inp.shape[1]} channels but "
            f"weight of shape {weight.shape} expects {grouped.shape[1] * groups}"
        )
    stride, padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    output_padding = _pair(output_padding, "output_padding", 0)
    dilation = _pair(dilation, "dilation", 1)
    if any(o >= s for o, s in zip(output_padding, stride, strict=True)):
        raise ValueError(
            f"conv_transpose2d: output_padding {output_padding} must be smaller than stride "
            f"{stride}"
        )
    kh, kw = grouped.shape[-2:]
    # conv2d's group layout (groups, out/groups, in/groups, kh, kw), spatially flipped
    kernel = grouped[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4)
    kernel = kernel if groups > 1 else reshape(kernel, kernel.shape[1:])
    edge = tuple(d * (k - 1) - p for d, k, p in zip(dilation, (kh, kw), padding, strict=True))
    x = _interleave_zeros(inp, stride)
    x = _pad_or_crop(x, edge, tuple(e + o for e, o in zip(edge, output_padding, strict=True)))
    if bias is not None:
        bias = as_tensor(bias, inp)
    return conv2d(x, kernel, bias, 1, 0, dilation, groups, conv_mode, compute_mode)
