"""MaxPool2d and AvgPool2d: window reductions over NCHW input."""

from __future__ import annotations

from typing import Any

from ..functional.nn import avg_pool2d, max_pool2d
from ..tensor import Tensor
from .module import Module


class _PoolNd(Module):
    """Shared settings of the pooling layers; stride defaults to kernel_size."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size
        self.stride = stride or kernel_size
        self.padding = padding

    def _module_info_string(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_PoolNd):
    """The maximum of each kernel_size window."""

    def forward(self, inp: Any) -> Tensor:
        """Pool inp (N, C, H, W)."""
        return max_pool2d(inp, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_PoolNd):
    """The mean of each window; mode "average" counts padded pixels, the default does not."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        mode: str = "average_count_exclude_padding",
        **kwargs: Any,
    ) -> None:
        super().__init__(kernel_size, stride, padding, **kwargs)
        self.mode = mode

    def forward(self, inp: Any) -> Tensor:
        """Pool inp (N, C, H, W)."""
        return avg_pool2d(inp, self.kernel_size, self.stride, self.padding, self.mode)

    def _module_info_string(self) -> str:
        return super()._module_info_string() + f", mode={self.mode}"
