"""Flatten: merge axes into one (an engine extra: MegEngine 1.13 has only F.flatten)."""

from __future__ import annotations

from typing import Any

from ..functional.tensor import flatten
from ..tensor import Tensor
from .module import Module


class Flatten(Module):
    """F.flatten(x, start_axis, end_axis) as a layer; by default keeps the batch axis."""

    def __init__(self, start_axis: int = 1, end_axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_axis = start_axis
        self.end_axis = end_axis

    def forward(self, x: Any) -> Tensor:
        """x with axes start_axis..end_axis merged."""
        return flatten(x, self.start_axis, self.end_axis)

    def _module_info_string(self) -> str:
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"
