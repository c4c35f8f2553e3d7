"""Activation layers: ReLU, Sigmoid, Tanh, LeakyReLU, GELU, SiLU and Softmax."""

from __future__ import annotations

from typing import Any

from ..functional.nn import gelu, leaky_relu, relu, sigmoid, silu, softmax, tanh
from ..tensor import Tensor
from .module import Module


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x: Any) -> Tensor:
        """Apply elementwise."""
        return relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, inputs: Any) -> Tensor:
        """Apply elementwise."""
        return sigmoid(inputs)


class Tanh(Module):
    """Hyperbolic tangent (an engine extra: MegEngine 1.13 has no M.Tanh)."""

    def forward(self, inputs: Any) -> Tensor:
        """Apply elementwise."""
        return tanh(inputs)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.negative_slope = negative_slope

    def forward(self, inputs: Any) -> Tensor:
        """Apply elementwise."""
        return leaky_relu(inputs, self.negative_slope)


class GELU(Module):
    """x * Phi(x), the exact erf form."""

    def forward(self, inputs: Any) -> Tensor:
        """Apply elementwise."""
        return gelu(inputs)


class SiLU(Module):
    """x * sigmoid(x)."""

    def forward(self, inputs: Any) -> Tensor:
        """Apply elementwise."""
        return silu(inputs)


class Softmax(Module):
    """Softmax along axis (F.softmax's default axis when None)."""

    def __init__(self, axis: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def forward(self, inputs: Any) -> Tensor:
        """exp(x) / sum(exp(x)) along the axis."""
        return softmax(inputs, self.axis)

    def _module_info_string(self) -> str:
        return f"axis={self.axis}"
