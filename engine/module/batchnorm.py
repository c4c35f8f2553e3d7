"""BatchNorm1d and BatchNorm2d: per-channel normalisation with running statistics."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functional.nn import batch_norm
from ..tensor import Parameter, Tensor
from . import init
from .module import Module


class _BatchNorm(Module):
    """Shared batch-norm logic; weight, bias and running stats are stored as (1, C, 1, 1).

    Running statistics follow MegEngine: stat = momentum * stat + (1 - momentum) * batch,
    with momentum 0.9 by default and the unbiased batch variance.
    """

    _flat_state = True  # state_dict saves the (1, C, 1, 1) tensors as (C,), as MegEngine

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.9,
        affine: bool = True,
        track_running_stats: bool = True,
        freeze: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.freeze = freeze
        if freeze and not track_running_stats:
            raise AssertionError("track_running_stats must be initilized to True if freeze is True")
        shape = (1, num_features, 1, 1)
        self.weight = Parameter(np.ones(shape, dtype=np.float32)) if affine else None
        self.bias = Parameter(np.zeros(shape, dtype=np.float32)) if affine else None
        self.running_mean = (
            Tensor(np.zeros(shape, dtype=np.float32)) if track_running_stats else None
        )
        self.running_var = Tensor(np.ones(shape, dtype=np.float32)) if track_running_stats else None

    def reset_running_stats(self) -> None:
        """Running mean back to 0, running variance back to 1."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)

    def reset_parameters(self) -> None:
        """Reset the running statistics and the affine weight (1) and bias (0)."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input_ndim(self, inp: Tensor) -> None:
        raise NotImplementedError

    def forward(self, inp: Any) -> Tensor:
        """Normalise with batch statistics in training mode, running statistics in eval mode."""
        self._check_input_ndim(inp)
        weight, bias = self.weight, self.bias
        if self.freeze:
            # frozen: running statistics only, and the affine parameters get no gradient
            weight = None if weight is None else weight.detach()
            bias = None if bias is None else bias.detach()
            return batch_norm(
                inp,
                self.running_mean,
                self.running_var,
                weight,
                bias,
                training=False,
                eps=self.eps,
            )
        tracking = self.track_running_stats
        return batch_norm(
            inp,
            self.running_mean if tracking else None,
            self.running_var if tracking else None,
            weight,
            bias,
            training=self.training or not tracking,
            momentum=self.momentum,
            eps=self.eps,
        )

    def _module_info_string(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input, statistics per channel C."""

    def _check_input_ndim(self, inp: Tensor) -> None:
        if len(inp.shape) not in {2, 3}:
            raise ValueError(f"expected 2D or 3D input (got {len(inp.shape)}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input, statistics per channel C."""

    def _check_input_ndim(self, inp: Tensor) -> None:
        if len(inp.shape) != 4:
            raise ValueError(f"expected 4D input (got {len(inp.shape)}D input)")
