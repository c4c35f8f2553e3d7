"""Convolution layers: Conv1d, Conv2d and ConvTranspose2d with MegEngine's weight layouts,
init (weight ~ N(0, 1 / fan_in), bias zeros) and reprs."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functional.nn import conv1d, conv2d, conv_transpose2d, pad
from ..tensor import Parameter, Tensor
from . import init
from .module import Module

_PADDING_MODES = ("zeros", "reflect", "replicate")


def _pair(value: Any, allow_zero: bool) -> tuple[int, int]:
    """An int or a 2-sequence as an (h, w) pair of ints (MegEngine's _pair/_pair_nonzero)."""
    pair = tuple(int(v) for v in value) if hasattr(value, "__iter__") else (int(value),) * 2
    if len(pair) != 2:
        raise AssertionError(f"tuple len is not equal to n: {value}")
    if min(pair) < (0 if allow_zero else 1):
        raise AssertionError(f"invalid value: {pair}")
    return pair


class _ConvNd(Module):
    """What the convolution layers share: channels, groups, parameters and their init."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        geometry: dict,
        groups: int,
        bias: bool,
        conv_mode: str,
        compute_mode: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # kernel_size, stride, padding, output_padding, dilation: ints (1-d) or pairs (2-d)
        for key, value in geometry.items():
            setattr(self, key, value)
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.conv_mode = conv_mode
        self.compute_mode = compute_mode  # accepted for MegEngine's signature; has no effect
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.groups = groups
        self.weight = Parameter(np.zeros(self._infer_weight_shape(), dtype=np.float32))
        self.bias = None
        if bias:
            self.bias = Parameter(np.zeros(self._infer_bias_shape(), dtype=np.float32))
        self.reset_parameters()

    def _infer_weight_shape(self) -> tuple:
        raise NotImplementedError

    def _infer_bias_shape(self) -> tuple:
        raise NotImplementedError

    def _get_fanin(self) -> int:
        raise NotImplementedError

    def reset_parameters(self) -> None:
        """Draw a fresh weight from N(0, 1 / fan_in) and zero the bias."""
        init.normal_(self.weight, 0.0, float(np.sqrt(1 / self._get_fanin())))
        if self.bias is not None:
            init.zeros_(self.bias)

    def _module_info_string(self) -> str:
        one = (1,) * len(self.stride) if isinstance(self.stride, tuple) else 1
        zero = (0,) * len(self.padding) if isinstance(self.padding, tuple) else 0
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != one:
            s += f", stride={self.stride}"
        if self.padding != zero:
            s += f", padding={self.padding}"
        if self.dilation != one:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


def _check_padding_mode(padding_mode: str) -> None:
    if padding_mode not in _PADDING_MODES:
        raise ValueError(
            f"padding_mode must be 'zeros', 'reflect' or 'replicate', got {padding_mode!r}"
        )


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) input; weight (out, in, k), or (groups, out/groups,
    in/groups, k) when groups > 1; bias (1, out, 1). Sizes stay plain ints, as MegEngine's."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        conv_mode: str = "cross_correlation",
        compute_mode: str = "default",
        padding_mode: str = "zeros",
        **kwargs: Any,
    ) -> None:
        _check_padding_mode(padding_mode)
        geometry = {
            "kernel_size": kernel_size,
            "stride": stride,
            "padding": padding,
            "output_padding": 0,
            "dilation": dilation,
        }
        super().__init__(
            in_channels, out_channels, geometry, groups, bias, conv_mode, compute_mode, **kwargs
        )
        self.padding_mode = padding_mode

    def _infer_weight_shape(self) -> tuple:
        g, cin, cout, k = self.groups, self.in_channels, self.out_channels, self.kernel_size
        return (cout, cin, k) if g == 1 else (g, cout // g, cin // g, k)

    def _infer_bias_shape(self) -> tuple:
        return (1, self.out_channels, 1)

    def _get_fanin(self) -> int:
        return self.kernel_size * self.in_channels

    def forward(self, inp: Any) -> Tensor:
        """Convolve inp (N, in_channels, L) into (N, out_channels, L')."""
        padding = self.padding
        if self.padding_mode != "zeros":
            inp = pad(inp, ((0, 0), (0, 0), (padding, padding)), self.padding_mode)
            padding = 0
        return conv1d(
            inp, self.weight, self.bias, self.stride, padding, self.dilation, self.groups,
            self.conv_mode, self.compute_mode,
        )  # fmt: skip


class Conv2d(_ConvNd):
    """2-D convolution over NCHW input; weight (out, in, kh, kw), or (groups, out/groups,
    in/groups, kh, kw) when groups > 1; bias (1, out, 1, 1). padding_mode may be "zeros",
    "reflect" or "replicate"."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        conv_mode: str = "cross_correlation",
        compute_mode: str = "default",
        padding_mode: str = "zeros",
        **kwargs: Any,
    ) -> None:
        _check_padding_mode(padding_mode)
        geometry = {
            "kernel_size": _pair(kernel_size, allow_zero=False),
            "stride": _pair(stride, allow_zero=False),
            "padding": _pair(padding, allow_zero=True),
            "output_padding": (0, 0),
            "dilation": _pair(dilation, allow_zero=False),
        }
        super().__init__(
            in_channels, out_channels, geometry, groups, bias, conv_mode, compute_mode, **kwargs
        )
        self.padding_mode = padding_mode

    def _infer_weight_shape(self) -> tuple:
        kh, kw = self.kernel_size
        g, cin, cout = self.groups, self.in_channels, self.out_channels
        return (cout, cin, kh, kw) if g == 1 else (g, cout // g, cin // g, kh, kw)

    def _infer_bias_shape(self) -> tuple:
        return (1, self.out_channels, 1, 1)

    def _get_fanin(self) -> int:
        # MegEngine counts all input channels here, even for grouped convolutions
        return self.kernel_size[0] * self.kernel_size[1] * self.in_channels

    def forward(self, inp: Any) -> Tensor:
        """Convolve inp (N, in_channels, H, W) into (N, out_channels, H', W')."""
        padding = self.padding
        if self.padding_mode != "zeros":
            ph, pw = self.padding
            inp = pad(inp, ((0, 0), (0, 0), (ph, ph), (pw, pw)), self.padding_mode)
            padding = (0, 0)
        return conv2d(
            inp, self.weight, self.bias, self.stride, padding, self.dilation, self.groups,
            self.conv_mode,
        )  # fmt: skip


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution over NCHW input; weight (in, out, kh, kw), or (groups,
    in/groups, out/groups, kh, kw) when groups > 1; bias (1, out, 1, 1)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        conv_mode: str = "cross_correlation",
        compute_mode: str = "default",
        **kwargs: Any,
    ) -> None:
        geometry = {
            "kernel_size": _pair(kernel_size, allow_zero=False),
            "stride": _pair(stride, allow_zero=False),
            "padding": _pair(padding, allow_zero=True),
            "output_padding": _pair(output_padding, allow_zero=True),
            "dilation": _pair(dilation, allow_zero=False),
        }
        super().__init__(
            in_channels, out_channels, geometry, groups, bias, conv_mode, compute_mode, **kwargs
        )

    def _infer_weight_shape(self) -> tuple:
        kh, kw = self.kernel_size
        g, cin, cout = self.groups, self.in_channels, self.out_channels
        return (cin, cout, kh, kw) if g == 1 else (g, cin // g, cout // g, kh, kw)

    def _infer_bias_shape(self) -> tuple:
        return (1, self.out_channels, 1, 1)

    def _get_fanin(self) -> int:
        # MegEngine's choice for the transposed layer: the output channels
        return self.kernel_size[0] * self.kernel_size[1] * self.out_channels

    def forward(self, inp: Any) -> Tensor:
        """Upsample inp (N, in_channels, H, W) into (N, out_channels, H', W')."""
        return conv_transpose2d(
            inp, self.weight, self.bias, self.stride, self.padding, self.output_padding,
            self.dilation, self.groups, self.conv_mode, self.compute_mode,
        )  # fmt: skip
