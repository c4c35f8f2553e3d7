"""Dropout: zero random elements while training, identity in eval mode."""

from __future__ import annotations

from typing import Any

from ..functional.nn import dropout
from .module import Module


class Dropout(Module):
    """Zero each element with probability drop_prob in training, scaling the rest by 1/(1-p)."""

    def __init__(self, drop_prob: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drop_prob = drop_prob

    def forward(self, inputs: Any) -> Any:
        """Dropped-out inputs when training, the inputs themselves otherwise."""
        if self.training:
            return dropout(inputs, self.drop_prob, training=True)
        return inputs

    def _module_info_string(self) -> str:
        return f"drop_prob={self.drop_prob}"
