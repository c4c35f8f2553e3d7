"""Identity: returns (a copy of) its input, a placeholder layer."""

from __future__ import annotations

from typing import Any

from ..functional.tensor import copy
from ..tensor import Tensor
from .module import Module


class Identity(Module):
    """Return a copy of the input, as MegEngine's Identity does."""

    def forward(self, x: Any) -> Tensor:
        """A copy of x (gradients flow through)."""
        return copy(x)
