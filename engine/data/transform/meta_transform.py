"""The Transform interface the DataLoader speaks: `apply(sample)` and `apply_batch(samples)`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any


class Transform(ABC):
    """A per-sample transformation; subclasses implement `apply`."""

    def apply_batch(self, inputs: Sequence[Any]) -> tuple:
        """Apply to every sample of a batch (a tuple of results)."""
        return tuple(self.apply(sample) for sample in inputs)

    @abstractmethod
    def apply(self, input: Any) -> Any:  # noqa: A002 - MegEngine's argument name
        """Transform one sample."""

    def __repr__(self) -> str:
        return type(self).__name__


class PseudoTransform(Transform):
    """The identity: returns each sample unchanged."""

    def apply(self, input: Any) -> Any:  # noqa: A002
        """Return `input` as it is."""
        return input


__all__ = ["PseudoTransform", "Transform"]
