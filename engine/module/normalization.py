"""LayerNorm, GroupNorm and InstanceNorm: per-sample normalisation with an optional affine
weight (ones) and bias (zeros), MegEngine's parameter shapes and reprs."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functional.nn import group_norm, instance_norm, layer_norm
from ..tensor import Parameter, Tensor
from . import init
from .module import Module


class _AffineNorm(Module):
    """Shared parameters: weight (ones) and bias (zeros) of `shape` when affine, else None."""

    def _make_affine(self, shape: tuple) -> None:
        self.weight = Parameter(np.ones(shape, dtype=np.float32)) if self.affine else None
        self.bias = Parameter(np.zeros(shape, dtype=np.float32)) if self.affine else None

    def reset_parameters(self) -> None:
        """Weight back to ones and bias to zeros."""
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)


class LayerNorm(_AffineNorm):
    """Normalise over the trailing normalized_shape axes of each sample."""

    def __init__(
        self, normalized_shape: Any, eps: float = 1e-5, affine: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.affine = affine
        self._make_affine(self.normalized_shape)

    def forward(self, x: Any) -> Tensor:
        """Normalise x (..., *normalized_shape)."""
        return layer_norm(x, self.normalized_shape, self.affine, self.weight, self.bias, self.eps)

    def _module_info_string(self) -> str:
        return f"normalized_shape={self.normalized_shape}, eps={self.eps}, affine={self.affine}"


class GroupNorm(_AffineNorm):
    """Normalise each group of channels of each sample; weight and bias per channel."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if num_channels % num_groups:
            raise ValueError(
                f"num_channels {num_channels} must be divisible by num_groups {num_groups}"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self._make_affine((num_channels,))

    def forward(self, x: Any) -> Tensor:
        """Normalise x (N, C, ...)."""
        return group_norm(x, self.num_groups, self.affine, self.weight, self.bias, self.eps)

    def _module_info_string(self) -> str:
        return (
            f"groups={self.num_groups}, channels={self.num_channels}, eps={self.eps}, "
            f"affine={self.affine}"
        )


class InstanceNorm(_AffineNorm):
    """Normalise each channel of each sample on its own; weight and bias per channel."""

    def __init__(
        self, num_channels: int, eps: float = 1e-5, affine: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self._make_affine((num_channels,))

    def forward(self, x: Any) -> Tensor:
        """Normalise x (N, C, ...)."""
        return instance_norm(x, self.affine, self.weight, self.bias, self.eps)

    def _module_info_string(self) -> str:
        return f"channels={self.num_channels}, eps={self.eps}, affine={self.affine}"
