"""Conv2d: 2-D convolution over NCHW input, MegEngine's weight layouts and init."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functional.nn import conv2d, pad
from ..tensor import Parameter, Tensor
from . import init
from .module import Module


def _pair(value: Any, allow_zero: bool) -> tuple[int, int]:
    """An int or a 2-sequence as an (h, w) pair of ints (MegEngine's _pair/_pair_nonzero)."""
    pair = tuple(int(v) for v in value) if hasattr(value, "__iter__") else (int(value),) * 2
    if len(pair) != 2:
        raise AssertionError(f"tuple len is not equal to n: {value}")
    if min(pair) < (0 if allow_zero else 1):
        raise AssertionError(f"invalid value: {pair}")
    return pair


class Conv2d(Module):
    """2-D convolution; weight ~ N(0, 1 / (in_channels * kh * kw)), bias zeros.

    The weight is (out, in, kh, kw), or (groups, out/groups, in/groups, kh, kw) when
    groups > 1; the bias is (1, out, 1, 1). padding_mode may be "zeros", "reflect" or
    "replicate".
    """

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
        super().__init__(**kwargs)
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in ("zeros", "reflect", "replicate"):
            raise ValueError(
                f"padding_mode must be 'zeros', 'reflect' or 'replicate', got {padding_mode!r}"
            )
        self.conv_mode = conv_mode
        self.compute_mode = compute_mode  # accepted for MegEngine's signature; has no effect
        self.padding_mode = padding_mode
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size, allow_zero=False)
        self.stride = _pair(stride, allow_zero=False)
        self.padding = _pair(padding, allow_zero=True)
        self.dilation = _pair(dilation, allow_zero=False)
        self.groups = groups
        self.weight = Parameter(np.zeros(self._infer_weight_shape(), dtype=np.float32))
        self.bias = None
        if bias:
            self.bias = Parameter(np.zeros((1, out_channels, 1, 1), dtype=np.float32))
        self.reset_parameters()

    def _infer_weight_shape(self) -> tuple:
        kh, kw = self.kernel_size
        g, cin, cout = self.groups, self.in_channels, self.out_channels
        if g == 1:
            return (cout, cin, kh, kw)
        return (g, cout // g, cin // g, kh, kw)

    def _get_fanin(self) -> int:
        # MegEngine counts all input channels here, even for grouped convolutions
        return self.kernel_size[0] * self.kernel_size[1] * self.in_channels

    def reset_parameters(self) -> None:
        """Draw a fresh weight from N(0, 1 / fan_in) and zero the bias."""
        init.normal_(self.weight, 0.0, float(np.sqrt(1 / self._get_fanin())))
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, inp: Any) -> Tensor:
        """Convolve inp (N, in_channels, H, W) into (N, out_channels, H', W')."""
        padding = self.padding
        if self.padding_mode != "zeros":
            ph, pw = self.padding
            inp = pad(inp, ((0, 0), (0, 0), (ph, ph), (pw, pw)), self.padding_mode)
            padding = (0, 0)
        return conv2d(
            inp,
            self.weight,
            self.bias,
            self.stride,
            padding,
            self.dilation,
            self.groups,
            self.conv_mode,
        )

    def _module_info_string(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != (1, 1):
            s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
