"""Linear: y = x @ weight.T + bias, with weight of shape (out_features, in_features)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functional.nn import linear
from ..tensor import Parameter, Tensor
from . import init
from .module import Module


class Linear(Module):
    """A fully connected layer; weight ~ N(0, 1 / in_features), bias zeros (MegEngine's init)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        compute_mode: str = "default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.in_features = _feature_count("in_features", in_features)
        self.out_features = _feature_count("out_features", out_features)
        self.weight = Parameter(np.zeros((out_features, in_features), dtype=np.float32))
        self.bias = Parameter(np.zeros((out_features,), dtype=np.float32)) if bias else None
        self.compute_mode = compute_mode  # accepted for MegEngine's signature; has no effect
        self.reset_parameters()

    def _get_fanin(self) -> int:
        return self.in_features

    def reset_parameters(self) -> None:
        """Draw a fresh weight from N(0, 1 / fan_in) and zero the bias."""
        init.normal_(self.weight, 0.0, float(np.sqrt(1 / self._get_fanin())))
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Any) -> Tensor:
        """x @ weight.T + bias."""
        return linear(x, self.weight, self.bias)

    def _module_info_string(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


def _feature_count(name: str, value: Any) -> int:
    """A layer width: an int >= 1 (0 inputs would make the N(0, 1/fan_in) init divide by 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Linear: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"Linear: {name} must be >= 1, got {value}")
    return int(value)
